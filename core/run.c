/*
 * run.c - `hfeval run`: loads suites, turns their documents into requests,
 * runs them through each model's backend, scores and prints.  See run.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "gguf_meta.h"
#include "lua_rt.h"
#include "models.h"
#include "plugin.h"
#include "run.h"

enum task_kind { TASK_CHOICE, TASK_GENERATE, TASK_ROLLING };
static const char *const kind_names[] = {"choice", "generate", "rolling"};

struct item {
    int64_t doc_id;
    char *item_id;
    char *prompt; /* rolling: the text */
    char **choices;
    size_t n_choices;
    long gold;
    char *target;
};

/* One way to read the answer out of a completion. */
struct extractor {
    char *metric;   /* "exact_match" or "exact_match:NAME" */
    pcre2_code *re; /* NULL: the whole completion */
    int last;       /* take the last match, not the first */
};

struct task {
    char *name;
    enum task_kind kind;
    struct item *items;
    size_t n;
    char **until;
    size_t n_until;
    uint32_t max_tokens;
    struct extractor *ex;
    size_t n_ex;
    pcre2_code **ignore; /* removed from answer and target */
    size_t n_ignore;
    int choice_prefix;
};

struct suite {
    char *path, *name, *version;
    struct task *tasks;
    size_t n_tasks;
};

/* ---- reading a suite ----------------------------------------------------- */

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

static int read_items(struct ctx *c, int ti, struct task *t, long limit)
{
    lua_State *L = c->L;
    lua_Integer n, i;
    int docs, rc = 0;

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
    n = (lua_Integer)lua_rawlen(L, docs);
    if (limit >= 0 && n > limit)
        n = limit;
    t->items = hfe_xcalloc((size_t)n + 1, sizeof(*t->items));
    for (i = 1; i <= n && rc == 0; i++) {
        struct item *it = &t->items[t->n++];
        char what[96];

        it->doc_id = i - 1;
        it->gold = -1;
        lua_rawgeti(L, docs, i); /* the doc */
        snprintf(what, sizeof(what), "%s(document %lld)",
                 t->kind == TASK_ROLLING ? "text" : "prompt", (long long)i - 1);
        if ((rc = call_field(c, ti, t->kind == TASK_ROLLING ? "text" : "prompt",
                             (int)i - 1)) ||
            (rc = take_string(c, &it->prompt, what)))
            break;
        lua_getfield(L, ti, "id");
        if (lua_isfunction(L, -1)) {
            lua_pop(L, 1);
            if ((rc = call_field(c, ti, "id", (int)i - 1)))
                break;
            if (lua_isnil(L, -1))
                lua_pop(L, 1);
            else if ((rc = take_string(c, &it->item_id, "id(document)")))
                break;
        } else {
            lua_pop(L, 1);
        }
        if (t->kind == TASK_CHOICE) {
            lua_Integer k, nc;

            if ((rc = call_field(c, ti, "choices", (int)i - 1)))
                break;
            if (!lua_istable(L, -1) ||
                (nc = (lua_Integer)lua_rawlen(L, -1)) < 2) {
                rc = type_error(c, "choices(document)",
                                "a list of two or more strings");
                break;
            }
            it->choices = hfe_xcalloc((size_t)nc, sizeof(char *));
            for (k = 1; k <= nc && rc == 0; k++) {
                lua_rawgeti(L, -1, k);
                rc = take_string(c, &it->choices[it->n_choices], "a choice");
                if (!rc)
                    it->n_choices++;
            }
            lua_pop(L, 1);
            if (rc)
                break;
            if ((rc = call_field(c, ti, "gold", (int)i - 1)))
                break;
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 ||
                lua_tointeger(L, -1) >= nc) {
                rc = type_error(c, "gold(document)",
                                "the 0-based index of the right choice");
                break;
            }
            it->gold = (long)lua_tointeger(L, -1);
            lua_pop(L, 1);
        } else if (t->kind == TASK_GENERATE) {
            if ((rc = call_field(c, ti, "target", (int)i - 1)) ||
                (rc = take_string(c, &it->target, "target(document)")))
                break;
        }
        lua_pop(L, 1); /* the doc */
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

    *out = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec,
                         &eoff, NULL);
    if (*out)
        return 0;
    pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof(msg));
    hfe_err_set(c->err, "%s: task '%s': %s: /%s/: %s at offset %d", c->path,
                c->task, what, pat, msg, (int)eoff);
    return HFE_EXIT_SUITE;
}

/* extract = "pattern" | { name = "pattern" | { "pattern", last = true } }
 * ignore = { "pattern", ... } */
static int read_extract(struct ctx *c, int ti, struct task *t)
{
    lua_State *L = c->L;
    lua_Integer j, n;

    lua_getfield(L, ti, "extract");
    if (lua_isnil(L, -1) || lua_type(L, -1) == LUA_TSTRING) {
        t->ex = hfe_xcalloc(1, sizeof(*t->ex));
        t->ex[0].metric = hfe_xstrdup("exact_match");
        t->n_ex = 1;
        if (!lua_isnil(L, -1) && compile(c, "field 'extract'", &t->ex[0].re))
            return HFE_EXIT_SUITE;
    } else if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            struct extractor *e;

            if (lua_type(L, -2) != LUA_TSTRING)
                return type_error(c, "field 'extract'",
                                  "a pattern or a table of named patterns");
            if (t->n_ex == 32)
                return type_error(c, "field 'extract'",
                                  "at most 32 named patterns");
            t->ex = hfe_xrealloc(t->ex, (t->n_ex + 1) * sizeof(*t->ex));
            e = &t->ex[t->n_ex++];
            memset(e, 0, sizeof(*e));
            e->metric = hfe_xasprintf("exact_match:%s", lua_tostring(L, -2));
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
            for (n = j;
                 n > 0 && strcmp(t->ex[n - 1].metric, t->ex[n].metric) > 0;
                 n--) {
                struct extractor tmp = t->ex[n];

                t->ex[n] = t->ex[n - 1];
                t->ex[n - 1] = tmp;
            }
    } else {
        return type_error(c, "field 'extract'",
                          "a pattern or a table of named patterns");
    }
    lua_pop(L, 1);
    lua_getfield(L, ti, "ignore");
    if (lua_istable(L, -1)) {
        n = (lua_Integer)lua_rawlen(L, -1);
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

static int read_task(struct ctx *c, int ti, struct task *t, long limit)
{
    lua_State *L = c->L;
    const char *k;
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
        return type_error(c, "field 'kind'",
                          "\"choice\", \"generate\" or \"rolling\"");
    for (t->kind = 0; t->kind < 3 && strcmp(k, kind_names[t->kind]); t->kind++)
        ;
    if (t->kind == 3)
        return type_error(c, "field 'kind'",
                          "\"choice\", \"generate\" or \"rolling\"");
    lua_pop(L, 1);

    lua_getfield(L, ti, "until");
    if (lua_istable(L, -1)) {
        lua_Integer j, n = (lua_Integer)lua_rawlen(L, -1);

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
    lua_getfield(L, ti, "max_tokens");
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0)
        t->max_tokens = (uint32_t)lua_tointeger(L, -1);
    else if (!lua_isnil(L, -1))
        return type_error(c, "field 'max_tokens'", "a positive integer");
    lua_pop(L, 1);
    if ((rc = read_extract(c, ti, t)) != 0)
        return rc;
    lua_getfield(L, ti, "choice_prefix");
    t->choice_prefix = lua_toboolean(L, -1);
    lua_pop(L, 1);
    rc = read_items(c, ti, t, limit);
    return rc;
}

static int load_suite(const char *path, const struct hfe_lua_opts *o,
                      long limit, struct suite *s, struct hfe_err *err)
{
    struct hfe_lua *rt = NULL;
    struct ctx c = {0};
    lua_State *L;
    lua_Integer i, n;
    int rc;

    memset(s, 0, sizeof(*s));
    s->path = hfe_xstrdup(path);
    if ((rc = hfe_lua_open(path, o, &rt, err)) != 0)
        return rc;
    L = hfe_lua_state(rt);
    c = (struct ctx){rt, L, path, NULL, err};
    hfe_lua_push_suite(rt);
    lua_getfield(L, -1, "name");
    s->name = hfe_xstrdup(lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                         : path);
    lua_pop(L, 1);
    lua_getfield(L, -1, "version");
    s->version = hfe_xstrdup(luaL_tolstring(L, -1, NULL));
    lua_pop(L, 2);
    lua_getfield(L, -1, "tasks");
    if (!lua_istable(L, -1) || (n = (lua_Integer)lua_rawlen(L, -1)) == 0) {
        hfe_err_set(err, "%s: field 'tasks' must be a list of tasks, got %s",
                    path, luaL_typename(L, -1));
        hfe_lua_close(rt);
        return HFE_EXIT_SUITE;
    }
    s->tasks = hfe_xcalloc((size_t)n, sizeof(*s->tasks));
    for (i = 1, rc = 0; i <= n && rc == 0; i++) {
        lua_rawgeti(L, -1, i);
        if (!lua_istable(L, -1)) {
            hfe_err_set(err, "%s: task %lld must be a table, got %s", path,
                        (long long)i, luaL_typename(L, -1));
            rc = HFE_EXIT_SUITE;
            break;
        }
        c.task = NULL;
        rc = read_task(&c, lua_gettop(L), &s->tasks[s->n_tasks++], limit);
        lua_pop(L, 1);
    }
    hfe_lua_close(rt); /* everything it said is in C now */
    return rc;
}

static void free_suite(struct suite *s)
{
    size_t i, j, k;

    for (i = 0; i < s->n_tasks; i++) {
        struct task *t = &s->tasks[i];

        for (j = 0; j < t->n; j++) {
            struct item *it = &t->items[j];

            for (k = 0; k < it->n_choices; k++)
                free(it->choices[k]);
            free(it->choices);
            free(it->prompt);
            free(it->item_id);
            free(it->target);
        }
        for (j = 0; j < t->n_until; j++)
            free(t->until[j]);
        free(t->until);
        free(t->items);
        free(t->name);
        for (j = 0; j < t->n_ex; j++) {
            free(t->ex[j].metric);
            pcre2_code_free(t->ex[j].re);
        }
        free(t->ex);
        for (j = 0; j < t->n_ignore; j++)
            pcre2_code_free(t->ignore[j]);
        free(t->ignore);
    }
    free(s->tasks);
    free(s->path);
    free(s->name);
    free(s->version);
}

/* ---- scoring
 * ----------------------------------------------------------------- */

/* Running mean and standard error of one metric; a corpus metric
 * (perplexity) is one value over n documents, with no standard error. */
struct stat1 {
    const char *name;
    double sum, sum2;
    size_t n;
    int corpus;
};

static void stat_add(struct stat1 *s, double x)
{
    s->sum += x;
    s->sum2 += x * x;
    s->n++;
}

static double stat_stderr(const struct stat1 *s)
{
    double mean, var;

    if (s->n < 2)
        return 0;
    mean = s->sum / s->n;
    var = (s->sum2 - s->n * mean * mean) / (s->n - 1);
    return var > 0 ? sqrt(var / s->n) : 0;
}

static char *strip(const char *s)
{
    size_t a = 0, b = strlen(s);

    while (a < b &&
           (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' ||
                     s[b - 1] == '\r'))
        b--;
    return hfe_xstrndup(s + a, b - a);
}

/* The answer a completion gives: the pattern's first non-empty group (or
 * its whole match) of its first match, or of its last with `last`;
 * "[invalid]" when it does not match. */
static char *extract(const struct extractor *e, const char *text)
{
    pcre2_match_data *md;
    PCRE2_SIZE *ov, at = 0, len = strlen(text);
    char *out = NULL;
    int rc;

    if (!e->re)
        return strip(text);
    md = pcre2_match_data_create_from_pattern(e->re, NULL);
    while (at <= len && (rc = pcre2_match(e->re, (PCRE2_SPTR)text, len, at, 0,
                                          md, NULL)) >= 0) {
        int g = 0, k;

        ov = pcre2_get_ovector_pointer(md);
        for (k = 1; k < rc && !g; k++)
            if (ov[2 * k] != PCRE2_UNSET && ov[2 * k + 1] > ov[2 * k])
                g = k;
        free(out);
        out = hfe_xstrndup(text + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        if (!e->last)
            break;
        at = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    pcre2_match_data_free(md);
    if (!out)
        return hfe_xstrdup("[invalid]");
    {
        char *s = strip(out);

        free(out);
        return s;
    }
}

/* s with every match of the patterns removed. */
static char *scrub(char *s, pcre2_code *const *re, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        PCRE2_SIZE outlen = strlen(s) + 1;
        char *out = hfe_xmalloc(outlen);

        /* removing only shortens: the output fits the input's size */
        if (pcre2_substitute(re[i], (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0,
                             PCRE2_SUBSTITUTE_GLOBAL, NULL, NULL,
                             (PCRE2_SPTR) "", 0, (PCRE2_UCHAR *)out,
                             &outlen) >= 0) {
            free(s);
            s = out;
        } else {
            free(out);
        }
    }
    return s;
}

static void record_start(struct hfe_buf *b, const char *model,
                         const struct suite *s, const struct task *t,
                         const struct item *it)
{
    hfe_buf_puts(b, "{\"model\":");
    hfe_json_str(b, model, strlen(model));
    hfe_buf_puts(b, ",\"suite\":");
    hfe_json_str(b, s->name, strlen(s->name));
    hfe_buf_puts(b, ",\"task\":");
    hfe_json_str(b, t->name, strlen(t->name));
    hfe_buf_printf(b, ",\"doc_id\":%lld,\"item_id\":", (long long)it->doc_id);
    if (it->item_id)
        hfe_json_str(b, it->item_id, strlen(it->item_id));
    else
        hfe_buf_puts(b, "null");
}

/* done/total, rate and time left, on a terminal only. */
struct progress {
    const char *label;
    size_t done, total;
    double t0, last;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_done(void *ud, size_t i)
{
    struct progress *p = ud;
    double t = now_s(), rate;

    (void)i;
    p->done++;
    if (t - p->last < 0.25 && p->done < p->total)
        return;
    p->last = t;
    rate = p->done / (t - p->t0 > 1e-9 ? t - p->t0 : 1e-9);
    fprintf(stderr, "\r\033[K%s: %zu/%zu requests, %.1f/s, %.0f s left",
            p->label, p->done, p->total, rate,
            rate > 0 ? (p->total - p->done) / rate : 0.0);
}

/* Runs one task on one model; adds the rows and the records. */
static int run_task(const struct hfe_backend *be, struct hfe_model *m,
                    const char *model, const struct suite *s,
                    const struct task *t, struct stat1 *st, size_t *n_st,
                    struct hfe_buf *rec, struct hfe_err *err)
{
    size_t nreq = 0, i, k, r = 0;
    struct hfe_request *req;
    struct hfe_result *res;
    const struct hfe_request **rp;
    struct hfe_result **sp;
    struct hfe_batch b;
    struct progress prog = {0};
    int rc = 0;

    for (i = 0; i < t->n; i++)
        nreq += t->kind == TASK_CHOICE ? t->items[i].n_choices : 1;
    req = hfe_xcalloc(nreq + 1, sizeof(*req));
    res = hfe_xcalloc(nreq + 1, sizeof(*res));
    rp = hfe_xcalloc(nreq + 1, sizeof(*rp));
    sp = hfe_xcalloc(nreq + 1, sizeof(*sp));
    for (i = 0; i < t->n; i++) {
        const struct item *it = &t->items[i];
        size_t nc = t->kind == TASK_CHOICE ? it->n_choices : 1;

        for (k = 0; k < nc; k++, r++) {
            struct hfe_request *q = &req[r];

            HFE_INIT(q);
            HFE_INIT(&res[r]);
            q->task = t->name;
            q->doc_id = it->doc_id;
            q->item_id = it->item_id;
            q->context = it->prompt;
            q->choice = (uint32_t)k;
            if (t->kind == TASK_CHOICE) {
                q->kind = HFE_REQ_LOGLIK;
                q->continuation = it->choices[k];
                q->flags = t->choice_prefix ? HFE_REQF_CHOICE_PREFIX : 0;
            } else if (t->kind == TASK_GENERATE) {
                q->kind = HFE_REQ_GENERATE;
                q->stop = (const char *const *)t->until;
                q->n_stop = (uint32_t)t->n_until;
                q->max_tokens = t->max_tokens;
            } else {
                q->kind = HFE_REQ_ROLLING;
            }
            rp[r] = q;
            sp[r] = &res[r];
        }
    }
    memset(&b, 0, sizeof(b));
    HFE_INIT(&b);
    b.n = nreq;
    b.req = rp;
    b.res = sp;
    if (isatty(2)) {
        char *label = hfe_xasprintf("%s %s", model, t->name);

        prog = (struct progress){label, 0, nreq, now_s(), 0};
        b.done = on_done;
        b.ud = &prog;
    }
    rc = be->submit(m, &b);
    if (prog.label) {
        fprintf(stderr, "\r\033[K");
        free((char *)prog.label);
    }
    if (rc != HFE_OK) {
        hfe_err_set(err, "task '%s': the backend failed the batch", t->name);
        rc = HFE_EXIT_FAIL;
        goto out;
    }
    for (r = 0; r < nreq; r++)
        if (res[r].status != HFE_OK) {
            hfe_err_set(err, "task '%s', document %lld: %s", t->name,
                        (long long)req[r].doc_id,
                        res[r].error ? res[r].error : "failed");
            rc = HFE_EXIT_FAIL;
            goto out;
        }

    if (t->kind == TASK_CHOICE) {
        struct stat1 *acc = &st[(*n_st)++], *norm = &st[(*n_st)++],
                     *tok = &st[(*n_st)++];

        *acc = (struct stat1){"acc", 0, 0, 0, 0};
        *norm = (struct stat1){"acc_norm", 0, 0, 0, 0};
        *tok = (struct stat1){"acc_tok", 0, 0, 0, 0};
        for (i = 0, r = 0; i < t->n; i++) {
            const struct item *it = &t->items[i];
            size_t best = 0, bn = 0, bt = 0;

            for (k = 0; k < it->n_choices; k++) {
                const struct hfe_result *x = &res[r + k], *y;
                size_t lk = strlen(it->choices[k]);

                if (x->logprob > res[r + best].logprob)
                    best = k;
                y = &res[r + bn];
                if (x->logprob / (lk ? lk : 1) >
                    y->logprob /
                        (strlen(it->choices[bn]) ? strlen(it->choices[bn]) : 1))
                    bn = k;
                y = &res[r + bt];
                if ((x->n_tokens ? x->logprob / x->n_tokens : -INFINITY) >
                    (y->n_tokens ? y->logprob / y->n_tokens : -INFINITY))
                    bt = k;
            }
            stat_add(acc, best == (size_t)it->gold);
            stat_add(norm, bn == (size_t)it->gold);
            stat_add(tok, bt == (size_t)it->gold);
            record_start(rec, model, s, t, it);
            hfe_buf_printf(rec,
                           ",\"gold\":%ld,\"pick\":%zu,\"metrics\":{\"acc\":%d,"
                           "\"acc_norm\":%d,\"acc_tok\":%d},\"logprobs\":[",
                           it->gold, best, best == (size_t)it->gold,
                           bn == (size_t)it->gold, bt == (size_t)it->gold);
            for (k = 0; k < it->n_choices; k++)
                hfe_buf_printf(rec, "%s%.9g", k ? "," : "", res[r + k].logprob);
            hfe_buf_puts(rec, "]}\n");
            r += it->n_choices;
        }
    } else if (t->kind == TASK_GENERATE) {
        struct stat1 *em = &st[*n_st];
        size_t x;

        for (x = 0; x < t->n_ex; x++)
            em[x] = (struct stat1){t->ex[x].metric, 0, 0, 0, 0};
        *n_st += t->n_ex;
        for (i = 0; i < t->n; i++) {
            const struct item *it = &t->items[i];
            const char *text = res[i].text ? res[i].text : "";
            char *want = scrub(strip(it->target), t->ignore, t->n_ignore);

            char *got[32];

            for (x = 0; x < t->n_ex; x++)
                got[x] =
                    scrub(extract(&t->ex[x], text), t->ignore, t->n_ignore);
            record_start(rec, model, s, t, it);
            hfe_buf_puts(rec, ",\"metrics\":{");
            for (x = 0; x < t->n_ex; x++) {
                int hit = strcmp(got[x], want) == 0;

                stat_add(&em[x], hit);
                hfe_buf_printf(rec, "%s", x ? "," : "");
                hfe_json_str(rec, t->ex[x].metric, strlen(t->ex[x].metric));
                hfe_buf_printf(rec, ":%d", hit);
            }
            hfe_buf_puts(rec, "},\"output\":");
            hfe_json_str(rec, text, strlen(text));
            hfe_buf_puts(rec, ",\"extracted\":[");
            for (x = 0; x < t->n_ex; x++) {
                hfe_buf_puts(rec, x ? "," : "");
                hfe_json_str(rec, got[x], strlen(got[x]));
                free(got[x]);
            }
            hfe_buf_puts(rec, "],\"target\":");
            hfe_json_str(rec, want, strlen(want));
            hfe_buf_printf(rec, ",\"tokens\":%u,\"latency_ms\":%.1f}\n",
                           res[i].n_gen_tokens, res[i].t_total_ms);
            free(want);
        }
    } else {
        struct stat1 *ppl = &st[(*n_st)++], *bpb = &st[(*n_st)++];
        double lp = 0, ntok = 0, nbytes = 0;

        for (i = 0; i < t->n; i++) {
            lp += res[i].logprob;
            ntok += res[i].n_tokens;
            nbytes += (double)res[i].n_bytes;
            record_start(rec, model, s, t, &t->items[i]);
            hfe_buf_printf(rec,
                           ",\"metrics\":{\"logprob\":%.9g,\"tokens\":%u,"
                           "\"bytes\":%llu}}\n",
                           res[i].logprob, res[i].n_tokens,
                           (unsigned long long)res[i].n_bytes);
        }
        *ppl =
            (struct stat1){"ppl_token", ntok ? exp(-lp / ntok) : 0, 0, t->n, 1};
        *bpb = (struct stat1){"bits_per_byte",
                              nbytes ? -lp / (log(2) * nbytes) : 0, 0, t->n, 1};
    }
out:
    for (r = 0; r < nreq; r++) {
        free(res[r].error);
        free(res[r].text);
        free(res[r].token_logprobs);
        free(res[r].topk_ids);
        free(res[r].topk_logprobs);
    }
    free(req);
    free(res);
    free(rp);
    free(sp);
    return rc;
}

/* ---- the command
 * ---------------------------------------------------------------- */

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "hfeval run: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr,
            "\nusage: hfeval run SUITE.lua [SUITE.lua ...] --models LIST "
            "[--set key=value ...] [--limit N] [--out DIR]\n");
    return HFE_EXIT_USAGE;
}

static int mkdirs(const char *path)
{
    char *p = hfe_xstrdup(path), *q;
    int rc = 0;

    for (q = p + 1; *q && !rc; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = -1;
        *q = '/';
    }
    if (!rc && mkdir(p, 0777) != 0 && errno != EEXIST)
        rc = -1;
    free(p);
    return rc;
}

int hfe_run_main(int argc, char **argv)
{
    const char **suites = hfe_xcalloc((size_t)argc, sizeof(char *));
    const char **keys = hfe_xcalloc((size_t)argc, sizeof(char *));
    const char **vals = hfe_xcalloc((size_t)argc, sizeof(char *));
    char **setbuf = hfe_xcalloc((size_t)argc, sizeof(char *));
    const char *list_file = NULL, *out_dir = NULL;
    struct hfe_plugin **bound = NULL;
    struct hfe_model_list *list = NULL;
    struct suite *su = NULL;
    struct hfe_plug_set plugins = {0};
    struct hfe_lua_opts lo = {0};
    struct hfe_buf rec = {0}, table = {0};
    struct hfe_err err;
    size_t n_suites = 0, n_set = 0, i, j, k;
    long limit = -1;
    char *run_dir = NULL, *rec_path = NULL;
    int rc = 0, failed = 0;

    for (i = 1; i < (size_t)argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--models") && i + 1 < (size_t)argc) {
            list_file = argv[++i];
        } else if (!strcmp(a, "--out") && i + 1 < (size_t)argc) {
            out_dir = argv[++i];
        } else if (!strcmp(a, "--limit") && i + 1 < (size_t)argc) {
            char *end;

            limit = strtol(argv[++i], &end, 10);
            if (*end || limit < 0) {
                rc = usage("--limit needs a count, got '%s'", argv[i]);
                goto out;
            }
        } else if (!strcmp(a, "--set") && i + 1 < (size_t)argc) {
            char *eq;

            setbuf[n_set] = hfe_xstrdup(argv[++i]);
            eq = strchr(setbuf[n_set], '=');
            if (!eq || eq == setbuf[n_set]) {
                rc = usage("--set needs key=value, got '%s'", argv[i]);
                goto out;
            }
            *eq = '\0';
            keys[n_set] = setbuf[n_set];
            vals[n_set++] = eq + 1;
        } else if (a[0] == '-') {
            rc = usage("unknown option '%s' (or it needs a value)", a);
            goto out;
        } else {
            suites[n_suites++] = a;
        }
    }
    if (!n_suites || !list_file) {
        rc =
            usage("%s", !n_suites ? "name a suite" : "--models LIST is needed");
        goto out;
    }
    if ((rc = hfe_models_load(list_file, &list, &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        goto out;
    }
    hfe_plug_scan(&plugins);
    bound = hfe_xcalloc(list->n, sizeof(*bound));
    if ((rc = hfe_models_bind(list, &plugins, bound, &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        goto out;
    }
    lo.set_keys = keys;
    lo.set_values = vals;
    lo.n_set = n_set;
    su = hfe_xcalloc(n_suites, sizeof(*su));
    for (i = 0; i < n_suites; i++) {
        if ((rc = load_suite(suites[i], &lo, limit, &su[i], &err)) != 0) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
            goto out;
        }
    }

    /* results go to a fresh run directory */
    run_dir = out_dir ? hfe_xstrdup(out_dir)
                      : hfe_xasprintf("results/runs/%ld-%d", (long)time(NULL),
                                      (int)getpid());
    if (mkdirs(run_dir) != 0) {
        fprintf(stderr, "hfeval: %s: cannot create it: %s\n", run_dir,
                strerror(errno));
        rc = HFE_EXIT_IO;
        goto out;
    }
    rec_path = hfe_xasprintf("%s/samples.jsonl", run_dir);
    hfe_buf_add(&rec, "", 0);
    hfe_buf_printf(&table, "%-20s %-18s %-22s %9s %9s %7s\n", "MODEL", "TASK",
                   "METRIC", "VALUE", "STDERR", "N");

    for (j = 0; j < list->n; j++) {
        const struct hfe_model_ent *e = &list->v[j];
        const struct hfe_backend *be = bound[j]->be;
        struct hfe_option *opts = hfe_xcalloc(e->n_opt + 1, sizeof(*opts));
        size_t n_opts = 0;
        struct hfe_model *m = NULL;
        char oerr[1024];

        for (k = 0; k < e->n_opt; k++) { /* the backend's keys only */
            const char *const *ck;
            int core = 0;

            for (ck = hfe_models_core_keys; *ck; ck++)
                core |= !strcmp(*ck, e->opt[k].key);
            if (!core)
                opts[n_opts++] =
                    (struct hfe_option){e->opt[k].key, e->opt[k].value};
        }
        if (be->open(e->resolved, opts, n_opts, &m, oerr, sizeof(oerr)) !=
            HFE_OK) {
            fprintf(stderr, "hfeval: %s:%d: model '%s': %s\n", list->file,
                    e->line, e->name, oerr);
            hfe_buf_printf(&table, "%-20s %-18s %s\n", e->name, "-",
                           "error: could not open the model (see above)");
            failed = 1;
            free(opts);
            continue;
        }
        for (i = 0; i < n_suites; i++) {
            for (k = 0; k < su[i].n_tasks; k++) {
                struct stat1 st[40];
                size_t n_st = 0, q;

                if (hfe_log_level >= HFE_LOG_INFO)
                    fprintf(stderr, "hfeval: %s: %s/%s (%zu documents)\n",
                            e->name, su[i].name, su[i].tasks[k].name,
                            su[i].tasks[k].n);
                if (run_task(be, m, e->name, &su[i], &su[i].tasks[k], st, &n_st,
                             &rec, &err) != 0) {
                    fprintf(stderr, "hfeval: model '%s': %s\n", e->name,
                            err.msg);
                    hfe_buf_printf(&table, "%-20s %-18s error: %s\n", e->name,
                                   su[i].tasks[k].name, err.msg);
                    failed = 1;
                    continue;
                }
                for (q = 0; q < n_st; q++) {
                    char se[32] = "-";

                    if (!st[q].corpus)
                        snprintf(se, sizeof(se), "%.4f", stat_stderr(&st[q]));
                    hfe_buf_printf(&table, "%-20s %-18s %-22s %9.4f %9s %7zu\n",
                                   e->name, su[i].tasks[k].name, st[q].name,
                                   st[q].corpus ? st[q].sum
                                   : st[q].n    ? st[q].sum / st[q].n
                                                : 0,
                                   se, st[q].n);
                }
            }
        }
        be->close(m);
        free(opts);
    }
    {
        FILE *f = fopen(rec_path, "w");

        if (!f || fwrite(rec.s, 1, rec.len, f) != rec.len || fclose(f) != 0) {
            fprintf(stderr, "hfeval: %s: cannot write the records: %s\n",
                    rec_path, strerror(errno));
            rc = HFE_EXIT_IO;
        }
    }
    fputs(table.s, stdout);
    fprintf(stderr, "hfeval: per-sample records in %s\n", rec_path);
    if (!rc && failed)
        rc = HFE_EXIT_FAIL;
out:
    for (i = 0; su && i < n_suites; i++)
        free_suite(&su[i]);
    free(su);
    for (i = 0; i < n_set; i++)
        free(setbuf[i]);
    free(setbuf);
    free(keys);
    free(vals);
    free(suites);
    free(bound);
    free(run_dir);
    free(rec_path);
    hfe_buf_free(&rec);
    hfe_buf_free(&table);
    hfe_plug_set_free(&plugins);
    hfe_models_free(list);
    return rc;
}
