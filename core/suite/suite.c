/*
 * suite.c - reading a suite: its table, its tasks, its documents.  See
 * suite.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lmeval.h"
#include "suite.h"

const char *const hfe_task_kinds[5] = {"choice", "generate", "rolling",
                                       "compliance", "loglikelihood"};

struct ctx {
    struct hfe_lua *rt;
    lua_State *L;
    const char *path;
    const char *task;
    struct hfe_err *err;
};

static int type_error(struct ctx *c, const char *what, const char *want)
{
    hfe_err_set(c->err, "%s: task '%s': %s must be %s, got %s", c->path,
                c->task ? c->task : "?", what, want, luaL_typename(c->L, -1));
    lua_pop(c->L, 1);
    return HFE_EXIT_SUITE;
}

/* Calls task.fname(doc) (doc at the top); leaves its result.  The doc
 * stays. */
static int call_field(struct ctx *c, int task_idx, const char *fname, int i)
{
    lua_getfield(c->L, task_idx, fname);
    if (!lua_isfunction(c->L, -1)) {
        char what[64];

        snprintf(what, sizeof(what), "field '%s'", fname);
        return type_error(c, what, "a function of the document");
    }
    lua_pushvalue(c->L, -2);
    if (hfe_lua_call(c->rt, 1, 1, c->err) != 0) {
        hfe_err_prefix(c->err, "task '%s', document %d: ", c->task, i);
        return HFE_EXIT_SUITE;
    }
    return 0;
}

static int take_string(struct ctx *c, char **out, const char *what)
{
    if (lua_type(c->L, -1) != LUA_TSTRING && lua_type(c->L, -1) != LUA_TNUMBER)
        return type_error(c, what, "a string");
    *out = hfe_xstrdup(lua_tostring(c->L, -1));
    lua_pop(c->L, 1);
    return 0;
}

/* The length of the list at idx as the harness reads it: entries 1 to n,
 * raw, at most max (-1: all).  Lua's length is any border, which skips
 * holes: 31 entries can have a length of 2^30.  A nil entry is the
 * suite's error, found before anything is allocated for the list. */
static int list_len(struct ctx *c, int idx, const char *what, lua_Integer max,
                    lua_Integer *n)
{
    lua_Integer i, len = (lua_Integer)lua_rawlen(c->L, idx);

    idx = lua_absindex(c->L, idx);
    if (max >= 0 && len > max)
        len = max;
    for (i = 1; i <= len; i++) {
        int hole = lua_rawgeti(c->L, idx, i) == LUA_TNIL;

        lua_pop(c->L, 1);
        if (hole) {
            hfe_err_set(c->err,
                        "%s: task '%s': %s must be a list without holes, "
                        "entry %lld of %lld is nil",
                        c->path, c->task ? c->task : "?", what, (long long)i,
                        (long long)len);
            return HFE_EXIT_SUITE;
        }
    }
    *n = len;
    return 0;
}

/* id(doc), when the task gives one; nil leaves the item without. */
static int read_id(struct ctx *c, int ti, struct hfe_item *it, int doc)
{
    lua_State *L = c->L;
    int rc;

    lua_getfield(L, ti, "id");
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pop(L, 1);
    if ((rc = call_field(c, ti, "id", doc)))
        return rc;
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    return take_string(c, &it->item_id, "id(document)");
}

/* contexts(doc) (one context a choice: the choices are contexts, the
 * continuation one) and lengths(doc) (what acc_norm divides each choice's
 * log-likelihood by), when the task gives them: a list as long as the
 * choices. */
static int read_per_choice(struct ctx *c, int ti, struct hfe_item *it, int doc)
{
    static const char *const field[2] = {"contexts", "lengths"};
    lua_State *L = c->L;
    lua_Integer k, n;
    char what[64];
    int f, rc;

    for (f = 0; f < 2; f++) {
        lua_getfield(L, ti, field[f]);
        n = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (n)
            continue;
        snprintf(what, sizeof(what), "%s(document)", field[f]);
        if ((rc = call_field(c, ti, field[f], doc)))
            return rc;
        if (!lua_istable(L, -1) || (size_t)lua_rawlen(L, -1) != it->n_choices)
            return type_error(c, what, "a list as long as the choices");
        if ((rc = list_len(c, -1, what, -1, &n)))
            return rc;
        if (f == 0)
            it->contexts = hfe_xcalloc(it->n_choices, sizeof(char *));
        else
            it->lengths = hfe_xcalloc(it->n_choices, sizeof(double));
        for (k = 1; k <= n; k++) {
            lua_rawgeti(L, -1, k);
            if (f == 0 && (rc = take_string(c, &it->contexts[k - 1], what)))
                return rc;
            if (f == 1) {
                if (!lua_isnumber(L, -1) || !(lua_tonumber(L, -1) > 0))
                    return type_error(c, what, "a list of positive numbers");
                it->lengths[k - 1] = lua_tonumber(L, -1);
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* choices(doc) and gold(doc) of a choice task. */
static int read_choices(struct ctx *c, int ti, struct hfe_item *it, int doc)
{
    lua_State *L = c->L;
    lua_Integer k, nc;
    int rc;

    if ((rc = call_field(c, ti, "choices", doc)))
        return rc;
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) < 2)
        return type_error(c, "choices(document)",
                          "a list of two or more strings");
    if ((rc = list_len(c, -1, "choices(document)", -1, &nc)))
        return rc;
    it->choices = hfe_xcalloc((size_t)nc, sizeof(char *));
    for (k = 1; k <= nc; k++) {
        lua_rawgeti(L, -1, k);
        if ((rc = take_string(c, &it->choices[it->n_choices], "a choice")))
            return rc;
        it->n_choices++;
    }
    lua_pop(L, 1);
    if ((rc = call_field(c, ti, "gold", doc)))
        return rc;
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 ||
        lua_tointeger(L, -1) >= nc)
        return type_error(c, "gold(document)",
                          "the 0-based index of the right choice");
    it->gold = (long)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return read_per_choice(c, ti, it, doc);
}

/* One document (at the top of the stack, which stays): its prompt (or
 * text), id, and choices and gold or target. */
static int read_item(struct ctx *c, int ti, const struct hfe_task *t,
                     struct hfe_item *it, int doc)
{
    const char *field = t->kind == HFE_TASK_ROLLING ? "text" : "prompt";
    char what[96];
    int rc;

    snprintf(what, sizeof(what), "%s(document %d)", field, doc);
    if ((rc = call_field(c, ti, field, doc)) ||
        (rc = take_string(c, &it->prompt, what)) ||
        (rc = read_id(c, ti, it, doc)))
        return rc;
    if (t->kind == HFE_TASK_CHOICE)
        return read_choices(c, ti, it, doc);
    if (((t->kind == HFE_TASK_GENERATE && t->n_ex) ||
         t->kind == HFE_TASK_LOGLIK) &&
        ((rc = call_field(c, ti, "target", doc)) ||
         (rc = take_string(c, &it->target, "target(document)"))))
        return rc;
    return 0;
}

/* docs (a list, or a function returning one): the documents the
 * selection takes, as items. */
static int read_items(struct ctx *c, int ti, struct hfe_task *t,
                      const struct hfe_select *sel)
{
    lua_State *L = c->L;
    lua_Integer n, i;
    int docs, rc;

    lua_getfield(L, ti, "docs");
    if (lua_isfunction(L, -1)) {
        if (hfe_lua_call(c->rt, 0, 1, c->err) != 0) {
            hfe_err_prefix(c->err, "task '%s', docs(): ", c->task);
            return HFE_EXIT_SUITE;
        }
    }
    if (!lua_istable(L, -1))
        return type_error(c, "field 'docs'",
                          "a list of documents or a function returning one");
    docs = lua_gettop(L);
    lua_pushvalue(L, docs); /* kept for the Lua metrics */
    t->docs_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if ((rc = list_len(c, docs, "field 'docs'", sel->limit, &n)) != 0)
        return rc;
    t->items = hfe_xcalloc((size_t)n + 1, sizeof(*t->items));
    for (i = 1; i <= n && rc == 0; i++) {
        struct hfe_item *it;

        /* a shard takes every n-th document: the same on every machine */
        if (sel->shards > 1 && (uint64_t)(i - 1) % sel->shards != sel->shard)
            continue;
        it = &t->items[t->n++];
        it->doc_id = i - 1;
        it->gold = -1;
        lua_rawgeti(L, docs, i); /* the doc */
        if ((rc = read_item(c, ti, t, it, (int)i - 1)) == 0)
            lua_pop(L, 1);
    }
    lua_settop(L, docs - 1);
    return rc;
}

/* Compiles a pattern of the suite's; a bad one is the suite's error. */
static int compile(struct ctx *c, const char *what, pcre2_code **out)
{
    const char *pat = lua_tostring(c->L, -1);
    PCRE2_SIZE eoff;
    char msg[256];
    int ec;

    *out = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                         PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eoff, NULL);
    if (*out)
        return 0;
    pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof(msg));
    hfe_err_set(c->err, "%s: task '%s': %s: /%s/: %s at offset %d", c->path,
                c->task, what, pat, msg, (int)eoff);
    return HFE_EXIT_SUITE;
}

/* extract = "pattern" | { name = "pattern" | { "pattern", last = true } }
 * ignore = { "pattern", ... } */
static int read_extract(struct ctx *c, int ti, struct hfe_task *t)
{
    lua_State *L = c->L;
    lua_Integer j, n;

    lua_getfield(L, ti, "extract");
    if (lua_isnil(L, -1) || lua_type(L, -1) == LUA_TSTRING) {
        t->ex = hfe_xcalloc(1, sizeof(*t->ex));
        t->ex[0].name = hfe_xstrdup("");
        t->n_ex = 1;
        if (!lua_isnil(L, -1) && compile(c, "field 'extract'", &t->ex[0].re))
            return HFE_EXIT_SUITE;
    } else if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            struct hfe_extractor *e;

            if (lua_type(L, -2) != LUA_TSTRING)
                return type_error(c, "field 'extract'",
                                  "a pattern or a table of named patterns");
            if (t->n_ex == HFE_MAX_NAMED)
                return type_error(c, "field 'extract'",
                                  "at most 32 named patterns");
            t->ex = hfe_xrealloc(t->ex, (t->n_ex + 1) * sizeof(*t->ex));
            e = &t->ex[t->n_ex++];
            memset(e, 0, sizeof(*e));
            e->name = hfe_xstrdup(lua_tostring(L, -2));
            if (lua_istable(L, -1)) {
                lua_rawgeti(L, -1, 1);
                if (lua_type(L, -1) != LUA_TSTRING)
                    return type_error(c, "extract's { pattern, last = ... }",
                                      "a pattern first");
                if (compile(c, "field 'extract'", &e->re))
                    return HFE_EXIT_SUITE;
                lua_pop(L, 1);
                lua_getfield(L, -1, "last");
                e->last = lua_toboolean(L, -1);
                lua_pop(L, 1);
            } else if (lua_type(L, -1) == LUA_TSTRING) {
                if (compile(c, "field 'extract'", &e->re))
                    return HFE_EXIT_SUITE;
            } else {
                return type_error(c, "a named pattern in 'extract'",
                                  "a string or { pattern, last = true }");
            }
            lua_pop(L, 1);
        }
        /* names in a stable order: tables do not keep one */
        for (j = 1; j < (lua_Integer)t->n_ex; j++)
            for (n = j; n > 0 && strcmp(t->ex[n - 1].name, t->ex[n].name) > 0;
                 n--) {
                struct hfe_extractor tmp = t->ex[n];

                t->ex[n] = t->ex[n - 1];
                t->ex[n - 1] = tmp;
            }
    } else {
        return type_error(c, "field 'extract'",
                          "a pattern or a table of named patterns");
    }
    lua_pop(L, 1);
    lua_getfield(L, ti, "match");
    if (lua_type(L, -1) == LUA_TSTRING) {
        if (compile(c, "field 'match'", &t->match))
            return HFE_EXIT_SUITE;
    } else if (!lua_isnil(L, -1)) {
        return type_error(c, "field 'match'", "a pattern");
    }
    lua_pop(L, 1);
    lua_getfield(L, ti, "ignore");
    if (lua_istable(L, -1)) {
        if (list_len(c, -1, "field 'ignore'", -1, &n))
            return HFE_EXIT_SUITE;
        t->ignore = hfe_xcalloc((size_t)n + 1, sizeof(*t->ignore));
        for (j = 1; j <= n; j++) {
            lua_rawgeti(L, -1, j);
            if (lua_type(L, -1) != LUA_TSTRING)
                return type_error(c, "field 'ignore'", "a list of patterns");
            if (compile(c, "field 'ignore'", &t->ignore[t->n_ignore]))
                return HFE_EXIT_SUITE;
            t->n_ignore++;
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, -1)) {
        return type_error(c, "field 'ignore'", "a list of patterns");
    }
    lua_pop(L, 1);
    return 0;
}

/* An optional number field: absent leaves *out; else it must be within
 * [lo, hi] (an integer when `integer`). */
static int opt_number(struct ctx *c, int ti, const char *key, double lo,
                      double hi, int integer, double *out)
{
    char what[64], want[96];

    lua_getfield(c->L, ti, key);
    if (lua_isnil(c->L, -1)) {
        lua_pop(c->L, 1);
        return 0;
    }
    if (lua_isnumber(c->L, -1) && (!integer || lua_isinteger(c->L, -1)) &&
        lua_tonumber(c->L, -1) >= lo && lua_tonumber(c->L, -1) <= hi) {
        *out = lua_tonumber(c->L, -1);
        lua_pop(c->L, 1);
        return 0;
    }
    snprintf(what, sizeof(what), "field '%s'", key);
    snprintf(want, sizeof(want), "%s from %g to %g",
             integer ? "an integer" : "a number", lo, hi);
    return type_error(c, what, want);
}

static int opt_bool(struct ctx *c, int ti, const char *key, int *out)
{
    char what[64];

    lua_getfield(c->L, ti, key);
    if (lua_isnil(c->L, -1) || lua_isboolean(c->L, -1)) {
        if (!lua_isnil(c->L, -1))
            *out = lua_toboolean(c->L, -1);
        lua_pop(c->L, 1);
        return 0;
    }
    snprintf(what, sizeof(what), "field '%s'", key);
    return type_error(c, what, "true or false");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* execute = { program = ..., ... } (suite.h) */
static int read_execute(struct ctx *c, int ti, struct hfe_task *t)
{
    lua_State *L = c->L;
    struct hfe_execute *x;
    double mb = 2048;
    int rc, et;

    lua_getfield(L, ti, "execute");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1) || t->kind != HFE_TASK_GENERATE)
        return type_error(c, "field 'execute'",
                          "a table { program = function(doc, text) ... } on "
                          "a generate task");
    et = lua_gettop(L);
    x = t->exec = hfe_xcalloc(1, sizeof(*x));
    x->timeout = 4;
    x->factor = 4;
    lua_getfield(L, et, "program");
    if (!lua_isfunction(L, -1))
        return type_error(c, "execute.program",
                          "a function(doc, text) returning the program");
    lua_pop(L, 1);
    lua_getfield(L, et, "reference");
    x->reference = lua_isfunction(L, -1);
    if (!x->reference && !lua_isnil(L, -1))
        return type_error(c, "execute.reference",
                          "a function(doc) returning a right completion");
    lua_pop(L, 1);
    if ((rc = opt_number(c, et, "timeout", 0.1, 3600, 0, &x->timeout)) ||
        (rc = opt_number(c, et, "factor", 1, 1000, 0, &x->factor)) ||
        (rc = opt_number(c, et, "memory_mb", 16, 1 << 20, 1, &mb)))
        return rc;
    x->memory = (uint64_t)mb << 20;
    lua_getfield(L, et, "file");
    x->file = hfe_xstrdup(lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                         : "main.py");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        return type_error(c, "execute.file", "a file name");
    if (strchr(x->file, '/') || !x->file[0] || x->file[0] == '.') {
        lua_pushnil(L);
        return type_error(c, "execute.file", "a plain file name");
    }
    lua_pop(L, 1);
    lua_getfield(L, et, "command");
    if (lua_istable(L, -1)) {
        lua_Integer j, n = (lua_Integer)lua_rawlen(L, -1);

        if (n < 1 || n > 16)
            return type_error(c, "execute.command",
                              "a list of 1 to 16 strings");
        x->argv = hfe_xcalloc((size_t)n + 1, sizeof(char *));
        for (j = 1; j <= n; j++) {
            lua_rawgeti(L, -1, j);
            if (lua_type(L, -1) != LUA_TSTRING)
                return type_error(c, "execute.command", "a list of strings");
            x->argv[x->n_argv++] = hfe_xstrdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    } else if (lua_isnil(L, -1)) {
        /* isolated: no user site, no PYTHON* variables, no cwd on path */
        x->argv = hfe_xcalloc(3, sizeof(char *));
        x->argv[x->n_argv++] = hfe_xstrdup("python3");
        x->argv[x->n_argv++] = hfe_xstrdup("-I");
    } else {
        return type_error(c, "execute.command", "a list of strings");
    }
    lua_pop(L, 2);
    return 0;
}

/* field = { name = function ... }: the names, sorted (tables keep no
 * order), at most HFE_MAX_NAMED. */
static int read_functions(struct ctx *c, int ti, const char *field,
                          const char *want, char **names, size_t *n)
{
    lua_State *L = c->L;
    char what[64];

    snprintf(what, sizeof(what), "field '%s'", field);
    lua_getfield(L, ti, field);
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || !lua_isfunction(L, -1))
                return type_error(c, what, want);
            if (*n == HFE_MAX_NAMED)
                return type_error(c, what, "at most 32 functions");
            names[(*n)++] = hfe_xstrdup(lua_tostring(L, -2));
            lua_pop(L, 1);
        }
        qsort(names, *n, sizeof(char *), cmp_str);
    } else if (!lua_isnil(L, -1)) {
        return type_error(c, what, want);
    }
    lua_pop(L, 1);
    return 0;
}

/* filters = { "first", "majority" }; pass_at = { 1, 10 };
 * metrics = { name = function(doc, out) ... end } */
static int read_scoring(struct ctx *c, int ti, struct hfe_task *t)
{
    lua_State *L = c->L;
    lua_Integer j, n;
    int rc;

    t->first = 1;
    t->majority = t->samples > 1;
    lua_getfield(L, ti, "filters");
    if (lua_istable(L, -1)) {
        t->first = t->majority = 0;
        n = (lua_Integer)lua_rawlen(L, -1);
        for (j = 1; j <= n; j++) {
            const char *f;

            lua_rawgeti(L, -1, j);
            f = lua_tostring(L, -1);
            if (lua_type(L, -1) != LUA_TSTRING ||
                (strcmp(f, "first") && strcmp(f, "majority")))
                return type_error(c, "a filter",
                                  "\"first\" (take the first sample) or "
                                  "\"majority\" (majority vote)");
            *(strcmp(f, "first") ? &t->majority : &t->first) = 1;
            lua_pop(L, 1);
        }
        if (n == 0)
            return type_error(c, "field 'filters'", "a non-empty list");
    } else if (!lua_isnil(L, -1)) {
        return type_error(c, "field 'filters'",
                          "a list of \"first\" and \"majority\"");
    }
    lua_pop(L, 1);

    if ((rc = read_execute(c, ti, t)) != 0)
        return rc;
    lua_getfield(L, ti, "check");
    t->check = lua_isfunction(L, -1);
    if (!t->check && !lua_isnil(L, -1))
        return type_error(c, "field 'check'",
                          "a function(doc, text) returning true or false");
    lua_pop(L, 1);
    lua_getfield(L, ti, "pass_at");
    if (lua_istable(L, -1)) {
        n = (lua_Integer)lua_rawlen(L, -1);
        for (j = 1; j <= n; j++) {
            lua_rawgeti(L, -1, j);
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
                lua_tointeger(L, -1) > t->samples ||
                t->n_pass_at == HFE_MAX_NAMED)
                return type_error(c, "a value of 'pass_at'",
                                  "an integer k from 1 to the task's samples");
            t->pass_at[t->n_pass_at++] = (uint32_t)lua_tointeger(L, -1);
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, -1)) {
        return type_error(c, "field 'pass_at'", "a list of integers k");
    } else if (t->check || t->exec) { /* pass@1 unless told */
        t->pass_at[t->n_pass_at++] = 1;
    }
    lua_pop(L, 1);

    return read_functions(c, ti, "metrics",
                          "a table of name = function(doc, out)", t->lua_metric,
                          &t->n_lua);
}

#define KINDS                                                                  \
    "\"choice\", \"generate\", \"rolling\", \"loglikelihood\" or "             \
    "\"compliance\""

/* profile = "provenance" | "transparency" | "open-source-ai";
 * checks = { id = function(meta, card, hub) return pass, evidence end } */
static int read_compliance(struct ctx *c, int ti, struct hfe_task *t)
{
    static const char *const profiles[] = {"provenance", "transparency",
                                           "open-source-ai"};
    lua_State *L = c->L;
    int rc;

    t->profile = -1;
    lua_getfield(L, ti, "profile");
    if (lua_type(L, -1) == LUA_TSTRING) {
        for (t->profile = 2; t->profile >= 0 &&
                             strcmp(lua_tostring(L, -1), profiles[t->profile]);
             t->profile--)
            ;
    }
    if (!lua_isnil(L, -1) && t->profile < 0)
        return type_error(c, "field 'profile'",
                          "\"provenance\", \"transparency\" or "
                          "\"open-source-ai\"");
    lua_pop(L, 1);
    if ((rc = read_functions(c, ti, "checks",
                             "a table of id = function(meta, card, hub)",
                             t->custom, &t->n_custom)) != 0)
        return rc;
    lua_pushvalue(L, ti);
    t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* hub = {dataset = "openai/gsm8k", task_id =, config =, split =,
 * revision =, metric =, name =}, every field a string, dataset required;
 * shots = N. */
static int read_hub(struct ctx *c, int ti, struct hfe_task *t)
{
    static const char *const keys[] = {"dataset",  "task_id", "config", "split",
                                       "revision", "metric",  "name"};
    char **dst[] = {&t->hub.dataset, &t->hub.task_id,  &t->hub.config,
                    &t->hub.split,   &t->hub.revision, &t->hub.metric,
                    &t->hub.name};
    lua_State *L = c->L;
    double v = -1;
    size_t k;
    int rc;

    if ((rc = opt_number(c, ti, "shots", 0, 10000, 1, &v)))
        return rc;
    t->shots = (int)v;
    lua_getfield(L, ti, "hub");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1))
        return type_error(c, "field 'hub'",
                          "a table {dataset = \"owner/name\", ...}");
    for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        char what[64];

        lua_getfield(L, -1, keys[k]);
        snprintf(what, sizeof(what), "field 'hub.%s'", keys[k]);
        if (lua_type(L, -1) == LUA_TSTRING && *lua_tostring(L, -1))
            *dst[k] = hfe_xstrdup(lua_tostring(L, -1));
        else if (!lua_isnil(L, -1) || k == 0)
            return type_error(c, what, "a string");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

static int read_task(struct ctx *c, int ti, struct hfe_task *t,
                     const struct hfe_select *sel)
{
    lua_State *L = c->L;
    const char *k;
    double v;
    int rc;

    lua_getfield(L, ti, "name");
    if (lua_type(L, -1) != LUA_TSTRING)
        return type_error(c, "field 'name'", "a string");
    t->name = hfe_xstrdup(lua_tostring(L, -1));
    c->task = t->name;
    lua_pop(L, 1);
    lua_getfield(L, ti, "kind");
    k = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING)
        return type_error(c, "field 'kind'", KINDS);
    for (t->kind = 0; t->kind < 5 && strcmp(k, hfe_task_kinds[t->kind]);
         t->kind++)
        ;
    if (t->kind == 5)
        return type_error(c, "field 'kind'", KINDS);
    lua_pop(L, 1);
    lua_getfield(L, ti, "primary");
    if (lua_type(L, -1) == LUA_TSTRING)
        t->primary = hfe_xstrdup(lua_tostring(L, -1));
    else if (!lua_isnil(L, -1))
        return type_error(c, "field 'primary'", "a metric's name");
    lua_pop(L, 1);
    if ((rc = read_hub(c, ti, t)) != 0)
        return rc;
    if (t->kind == HFE_TASK_COMPLIANCE)
        return read_compliance(c, ti, t);

    lua_getfield(L, ti, "until");
    if (lua_istable(L, -1)) {
        lua_Integer j, n;

        if ((rc = list_len(c, -1, "field 'until'", -1, &n)) != 0)
            return rc;
        t->until = hfe_xcalloc((size_t)n + 1, sizeof(char *));
        for (j = 1; j <= n; j++) {
            lua_rawgeti(L, -1, j);
            if (lua_type(L, -1) != LUA_TSTRING)
                return type_error(c, "field 'until'", "a list of strings");
            t->until[t->n_until++] = hfe_xstrdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, -1)) {
        return type_error(c, "field 'until'", "a list of strings");
    }
    lua_pop(L, 1);
    v = 0;
    if ((rc = opt_number(c, ti, "max_tokens", 1, 1 << 20, 1, &v)))
        return rc;
    t->max_tokens = (uint32_t)v;
    v = 1;
    if ((rc = opt_number(c, ti, "samples", 1, 10000, 1, &v)))
        return rc;
    t->samples = (uint32_t)v;
    /* several samples of one prompt mean sampling, unless told */
    t->temperature = t->samples > 1 ? 0.8 : 0;
    t->top_p = t->samples > 1 ? 0.95 : 0;
    v = 1234;
    if ((rc = opt_number(c, ti, "temperature", 0, 100, 0, &t->temperature)) ||
        (rc = opt_number(c, ti, "top_p", 0, 1, 0, &t->top_p)) ||
        (rc = opt_number(c, ti, "seed", 0, 9007199254740991.0, 1, &v)))
        return rc;
    t->seed = (uint64_t)v;
    v = 0;
    if ((rc = opt_number(c, ti, "ppl_ctx", 8, 1 << 20, 1, &v)))
        return rc;
    t->ppl_ctx = (uint32_t)v;
    t->builtins = 1;
    if ((rc = opt_bool(c, ti, "chat", &t->chat)) ||
        (rc = opt_bool(c, ti, "timing", &t->timing)) ||
        (rc = opt_bool(c, ti, "fidelity", &t->fidelity)) ||
        (rc = opt_bool(c, ti, "choice_prefix", &t->choice_prefix)) ||
        (rc = opt_bool(c, ti, "builtin_metrics", &t->builtins)) ||
        (rc = opt_bool(c, ti, "ignore_case", &t->ignore_case)) ||
        (rc = opt_bool(c, ti, "ignore_punctuation", &t->ignore_punctuation)))
        return rc;
    if ((t->chat || t->timing || t->samples > 1) &&
        t->kind != HFE_TASK_GENERATE) {
        hfe_err_set(c->err,
                    "%s: task '%s': 'chat', 'timing' and 'samples' are for "
                    "generate tasks, this one is a %s task",
                    c->path, t->name, hfe_task_kinds[t->kind]);
        return HFE_EXIT_SUITE;
    }
    if ((t->ppl_ctx || t->fidelity) && t->kind != HFE_TASK_ROLLING) {
        hfe_err_set(c->err,
                    "%s: task '%s': 'ppl_ctx' and 'fidelity' are for rolling "
                    "tasks, this one is a %s task",
                    c->path, t->name, hfe_task_kinds[t->kind]);
        return HFE_EXIT_SUITE;
    }
    if ((rc = read_extract(c, ti, t)) != 0 ||
        (rc = read_scoring(c, ti, t)) != 0)
        return rc;
    lua_getfield(L, ti, "target");
    if (lua_isnil(L, -1)) { /* nothing to match: no exact_match */
        for (; t->n_ex; t->n_ex--) {
            free(t->ex[t->n_ex - 1].name);
            pcre2_code_free(t->ex[t->n_ex - 1].re);
        }
    }
    lua_pop(L, 1);
    if (t->n_pass_at && !t->check && !t->exec && !t->n_ex) {
        hfe_err_set(c->err,
                    "%s: task '%s': pass_at needs a target to match or a "
                    "check(doc, text) function",
                    c->path, t->name);
        return HFE_EXIT_SUITE;
    }
    lua_pushvalue(L, ti);
    t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return read_items(c, ti, t, sel);
}

struct load {
    struct ctx c;
    const struct hfe_select *sel;
    struct hfe_suite *s;
    int rc;
};

/* Whether a group or task of s before group g is named name. */
static int member_known(const struct hfe_suite *s, size_t g, const char *name)
{
    size_t i;

    for (i = 0; i < s->n_tasks; i++)
        if (!strcmp(s->tasks[i].name, name))
            return 1;
    for (i = 0; i < g; i++)
        if (!strcmp(s->groups[i].name, name))
            return 1;
    return 0;
}

/* One entry of groups (suite.h), at the top of the stack. */
static int read_group(struct ctx *c, const struct hfe_suite *s,
                      struct hfe_group *g, size_t gi)
{
    lua_State *L = c->L;
    lua_Integer k, n;
    int rc = 0;

    lua_getfield(L, -1, "name");
    if (lua_type(L, -1) != LUA_TSTRING ||
        member_known(s, gi, lua_tostring(L, -1)))
        return type_error(c, "a group's 'name'",
                          "a string no task or earlier group has");
    g->name = hfe_xstrdup(lua_tostring(L, -1));
    c->task = g->name;
    lua_pop(L, 1);
    lua_getfield(L, -1, "tasks");
    if (!lua_istable(L, -1) || (rc = list_len(c, -1, "field 'tasks'", -1, &n)))
        return lua_istable(L, -1) ? rc
                                  : type_error(c, "field 'tasks'",
                                               "a list of task or group names");
    g->members = hfe_xcalloc((size_t)n + 1, sizeof(char *));
    for (k = 1; k <= n; k++) {
        lua_rawgeti(L, -1, k);
        if (lua_type(L, -1) != LUA_TSTRING ||
            !member_known(s, gi, lua_tostring(L, -1)))
            return type_error(c, "a group's member",
                              "the name of a task or of an earlier group");
        g->members[g->n_members++] = hfe_xstrdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, -1, "metrics");
    if (!lua_istable(L, -1) ||
        (rc = list_len(c, -1, "field 'metrics'", HFE_MAX_NAMED, &n)) || !n)
        return type_error(c, "field 'metrics'",
                          "a list of { \"metric\", weight_by_size = true }");
    for (k = 1; k <= n; k++) {
        lua_rawgeti(L, -1, k);
        if (!lua_istable(L, -1) || lua_rawgeti(L, -1, 1) != LUA_TSTRING)
            return type_error(c, "an entry of 'metrics'",
                              "{ \"metric\", weight_by_size = true }");
        g->metric[g->n_metrics] = hfe_xstrdup(lua_tostring(L, -1));
        lua_pop(L, 1);
        lua_getfield(L, -1, "weight_by_size");
        g->weight_by_size[g->n_metrics++] = lua_toboolean(L, -1);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    return 0;
}

static int read_groups(struct ctx *c, struct hfe_suite *s)
{
    lua_State *L = c->L;
    lua_Integer i, n;
    int rc = 0;

    lua_getfield(L, -1, "groups");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    c->task = NULL;
    if (!lua_istable(L, -1))
        return type_error(c, "field 'groups'", "a list of groups");
    if ((rc = list_len(c, -1, "field 'groups'", -1, &n)))
        return rc;
    s->groups = hfe_xcalloc((size_t)n + 1, sizeof(*s->groups));
    for (i = 1; i <= n && rc == 0; i++) {
        lua_rawgeti(L, -1, i);
        if (!lua_istable(L, -1))
            return type_error(c, "an entry of 'groups'", "a table");
        rc = read_group(c, s, &s->groups[s->n_groups], s->n_groups);
        s->n_groups++;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

/* The suite's table: name, version, tasks.  Run by hfe_lua_run(), so that
 * a metamethod on any table it reads is the suite's error. */
static int read_suite(lua_State *L)
{
    struct load *ld = lua_touserdata(L, 1);
    struct hfe_suite *s = ld->s;
    lua_Integer i, n;

    hfe_lua_push_suite(s->rt);
    lua_getfield(L, -1, "name");
    s->name = hfe_xstrdup(lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                         : s->path);
    lua_pop(L, 1);
    lua_getfield(L, -1, "version");
    s->version = hfe_xstrdup(luaL_tolstring(L, -1, NULL));
    lua_pop(L, 2);
    lua_getfield(L, -1, "tasks");
    if (!lua_istable(L, -1) || (n = (lua_Integer)lua_rawlen(L, -1)) == 0) {
        hfe_err_set(ld->c.err,
                    "%s: field 'tasks' must be a list of tasks, got %s",
                    s->path, luaL_typename(L, -1));
        ld->rc = HFE_EXIT_SUITE;
        return 0;
    }
    for (i = 1; i <= n; i++) { /* all of them, before n are allocated */
        lua_rawgeti(L, -1, i);
        if (!lua_istable(L, -1)) {
            hfe_err_set(ld->c.err, "%s: task %lld must be a table, got %s",
                        s->path, (long long)i, luaL_typename(L, -1));
            ld->rc = HFE_EXIT_SUITE;
            return 0;
        }
        lua_pop(L, 1);
    }
    s->tasks = hfe_xcalloc((size_t)n, sizeof(*s->tasks));
    for (i = 1; i <= n && ld->rc == 0; i++) {
        lua_rawgeti(L, -1, i);
        ld->c.task = NULL;
        ld->rc =
            read_task(&ld->c, lua_gettop(L), &s->tasks[s->n_tasks++], ld->sel);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (ld->rc == 0)
        ld->rc = read_groups(&ld->c, s);
    return 0;
}

int hfe_suite_load(const char *path, const struct hfe_lua_opts *o,
                   const struct hfe_select *sel, struct hfe_suite *s,
                   struct hfe_err *err)
{
    struct load ld = {{0}, sel, s, 0};
    int rc;

    memset(s, 0, sizeof(*s));
    s->path = hfe_xstrdup(path);
    if ((rc = hfe_lmeval_is_task(path)
                  ? hfe_lmeval_open(path, o, &s->rt, err)
                  : hfe_lua_open(path, o, &s->rt, err)) != 0)
        return rc;
    ld.c = (struct ctx){s->rt, hfe_lua_state(s->rt), path, NULL, err};
    if ((rc = hfe_lua_run(s->rt, read_suite, &ld, err)) != 0) {
        if (ld.c.task) /* which task was being read */
            hfe_err_prefix(err, "task '%s': ", ld.c.task);
        return rc;
    }
    return ld.rc;
}

void hfe_suite_free(struct hfe_suite *s)
{
    size_t i, j, k;

    for (i = 0; i < s->n_groups; i++) {
        struct hfe_group *g = &s->groups[i];

        for (j = 0; j < g->n_members; j++)
            free(g->members[j]);
        for (j = 0; j < g->n_metrics; j++)
            free(g->metric[j]);
        free(g->members);
        free(g->name);
    }
    free(s->groups);

    for (i = 0; i < s->n_tasks; i++) {
        struct hfe_task *t = &s->tasks[i];

        for (j = 0; j < t->n; j++) {
            struct hfe_item *it = &t->items[j];

            for (k = 0; k < it->n_choices; k++) {
                free(it->choices[k]);
                free(it->contexts ? it->contexts[k] : NULL);
            }
            free(it->choices);
            free(it->contexts);
            free(it->lengths);
            free(it->prompt);
            free(it->item_id);
            free(it->target);
        }
        for (j = 0; j < t->n_until; j++)
            free(t->until[j]);
        free(t->until);
        free(t->items);
        free(t->name);
        free(t->primary);
        free(t->hub.dataset);
        free(t->hub.task_id);
        free(t->hub.config);
        free(t->hub.split);
        free(t->hub.revision);
        free(t->hub.metric);
        free(t->hub.name);
        for (j = 0; j < t->n_ex; j++) {
            free(t->ex[j].name);
            pcre2_code_free(t->ex[j].re);
        }
        free(t->ex);
        for (j = 0; j < t->n_ignore; j++)
            pcre2_code_free(t->ignore[j]);
        free(t->ignore);
        pcre2_code_free(t->match);
        for (j = 0; j < t->n_lua; j++)
            free(t->lua_metric[j]);
        for (j = 0; j < t->n_custom; j++)
            free(t->custom[j]);
        if (t->exec) {
            for (j = 0; j < t->exec->n_argv; j++)
                free(t->exec->argv[j]);
            for (j = 0; t->exec->ref_status && j < t->n; j++)
                free(t->exec->ref_status[j]);
            free(t->exec->argv);
            free(t->exec->file);
            free(t->exec->limit_s);
            free(t->exec->ref_status);
            free(t->exec);
        }
    }
    hfe_lua_close(s->rt);
    free(s->tasks);
    free(s->path);
    free(s->name);
    free(s->version);
}
