/*
 * call.c - the scorers' calls into a suite's Lua.  See call.h.
 *
 * The rule: the only files that call lua_* are in core/suite/.  The
 * scorers ask through the functions below; each body runs inside
 * hfe_lua_run(), so that reading the task's table, building `out` and
 * calling the suite's function are protected together (tests/hostile.t
 * keeps the rule true with a grep).
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "call.h"

/* What every body takes: the suite, the task, the document, and the
 * status it reports. */
struct call {
    struct hfe_suite *s;
    const struct hfe_task *t;
    const struct hfe_item *it;
    struct hfe_err *err;
    int rc;
};

/* Pushes the item's document. */
static void push_doc(lua_State *L, const struct call *c)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->t->docs_ref);
    lua_rawgeti(L, -1, (lua_Integer)c->it->doc_id + 1);
    lua_remove(L, -2);
}

/* Calls the task's Lua function `field`[`name`] (or `field` when name is
 * NULL) with (doc, the value at the top); pops that value; *out is the
 * number it returns (true 1, false 0). */
static int call_number(lua_State *L, struct call *c, const char *field,
                       const char *name, double *out)
{
    int rc;

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->t->ref); /* v task */
    lua_getfield(L, -1, field);                   /* v task f */
    if (name) {
        lua_getfield(L, -1, name); /* v task metrics f */
        lua_remove(L, -2);
    }
    lua_remove(L, -2); /* v f */
    lua_insert(L, -2); /* f v */
    push_doc(L, c);
    lua_insert(L, -2); /* f doc v */
    if ((rc = hfe_lua_call(c->s->rt, 2, 1, c->err)) != 0) {
        hfe_err_prefix(c->err, "task '%s', document %lld, %s%s%s: ", c->t->name,
                       (long long)c->it->doc_id, field, name ? "." : "",
                       name ? name : "");
        return rc;
    }
    if (lua_isboolean(L, -1)) {
        *out = lua_toboolean(L, -1);
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
        *out = lua_tonumber(L, -1);
    } else {
        hfe_err_set(c->err,
                    "%s: task '%s', document %lld: %s%s%s must return a "
                    "number or a boolean, got %s",
                    c->s->path, c->t->name, (long long)c->it->doc_id, field,
                    name ? "." : "", name ? name : "", luaL_typename(L, -1));
        lua_pop(L, 1);
        return HFE_EXIT_SUITE;
    }
    lua_pop(L, 1);
    return 0;
}

/* Runs body through the door; the status is the door's or the body's. */
static int run(struct call *c, lua_CFunction body, void *ud)
{
    int rc = hfe_lua_run(c->s->rt, body, ud, c->err);

    if (rc != 0) /* an error raised outside the suite's own function */
        hfe_err_prefix(c->err, "task '%s', document %lld: ", c->t->name,
                       (long long)c->it->doc_id);
    return rc ? rc : c->rc;
}

/* ---- metrics ------------------------------------------------------------ */

struct metrics_call {
    struct call c;
    const struct hfe_suite_out *out;
    double *v;
};

/* Pushes `out` (call.h), built as the scorers always built it. */
static void push_out(lua_State *L, const struct hfe_task *t,
                     const struct hfe_suite_out *o)
{
    size_t k;

    if (t->kind == HFE_TASK_CHOICE) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, (lua_Integer)o->pick);
        lua_setfield(L, -2, "pick");
        lua_createtable(L, (int)o->n, 0);
        for (k = 0; k < o->n; k++) {
            lua_pushnumber(L, o->res[k].logprob);
            lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_setfield(L, -2, "logprobs");
    } else if (t->kind == HFE_TASK_GENERATE) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, o->res[0].text ? o->res[0].text : "");
        lua_setfield(L, -2, "text");
        lua_createtable(L, (int)o->n, 0);
        for (k = 0; k < o->n; k++) {
            lua_pushstring(L, o->res[k].text ? o->res[k].text : "");
            lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_setfield(L, -2, "texts");
        if (o->answer) {
            lua_pushstring(L, o->answer);
            lua_setfield(L, -2, "answer");
        }
    } else {
        lua_createtable(L, 0, 3);
        lua_pushnumber(L, o->res[0].logprob);
        lua_setfield(L, -2, "logprob");
        lua_pushinteger(L, o->res[0].n_tokens);
        lua_setfield(L, -2, "tokens");
        lua_pushinteger(L, (lua_Integer)o->res[0].n_bytes);
        lua_setfield(L, -2, "bytes");
        lua_pushboolean(L, o->res[0].is_greedy);
        lua_setfield(L, -2, "greedy");
    }
}

static int metrics_body(lua_State *L)
{
    struct metrics_call *m = lua_touserdata(L, 1);
    size_t x;

    push_out(L, m->c.t, m->out); /* one table, every metric sees it */
    for (x = 0; x < m->c.t->n_lua && m->c.rc == 0; x++) {
        lua_pushvalue(L, -1);
        m->c.rc =
            call_number(L, &m->c, "metrics", m->c.t->lua_metric[x], &m->v[x]);
    }
    return 0;
}

int hfe_suite_call_metrics(struct hfe_suite *s, const struct hfe_task *t,
                           const struct hfe_item *it,
                           const struct hfe_suite_out *out, double *v,
                           struct hfe_err *err)
{
    struct metrics_call m = {{s, t, it, err, 0}, out, v};

    return run(&m.c, metrics_body, &m);
}

/* ---- check -------------------------------------------------------------- */

struct check_call {
    struct call c;
    const char *text;
    double *pass;
};

static int check_body(lua_State *L)
{
    struct check_call *k = lua_touserdata(L, 1);

    lua_pushstring(L, k->text);
    k->c.rc = call_number(L, &k->c, "check", NULL, k->pass);
    return 0;
}

int hfe_suite_call_check(struct hfe_suite *s, const struct hfe_task *t,
                         const struct hfe_item *it, const char *text,
                         double *pass, struct hfe_err *err)
{
    struct check_call k = {{s, t, it, err, 0}, text, pass};

    return run(&k.c, check_body, &k);
}

/* ---- execute ------------------------------------------------------------ */

struct exec_call {
    struct call c;
    const char *fn, *text;
    char **out;
};

static int exec_body(lua_State *L)
{
    struct exec_call *e = lua_touserdata(L, 1);
    struct call *c = &e->c;

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->t->ref); /* task */
    lua_getfield(L, -1, "execute");               /* task x */
    lua_getfield(L, -1, e->fn);                   /* task x f */
    lua_replace(L, -3);                           /* f x */
    lua_pop(L, 1);                                /* f */
    push_doc(L, c);
    if (e->text)
        lua_pushstring(L, e->text);
    if ((c->rc = hfe_lua_call(c->s->rt, e->text ? 2 : 1, 1, c->err)) != 0) {
        hfe_err_prefix(c->err,
                       "task '%s', document %lld, execute.%s: ", c->t->name,
                       (long long)c->it->doc_id, e->fn);
        return 0;
    }
    if (lua_type(L, -1) != LUA_TSTRING) {
        hfe_err_set(c->err,
                    "%s: task '%s', document %lld: execute.%s must return a "
                    "string, got %s",
                    c->s->path, c->t->name, (long long)c->it->doc_id, e->fn,
                    luaL_typename(L, -1));
        c->rc = HFE_EXIT_SUITE;
        return 0;
    }
    *e->out = hfe_xstrdup(lua_tostring(L, -1));
    return 0;
}

int hfe_suite_call_exec(struct hfe_suite *s, const struct hfe_task *t,
                        const struct hfe_item *it, const char *fn,
                        const char *text, char **out, struct hfe_err *err)
{
    struct exec_call e = {{s, t, it, err, 0}, fn, text, out};

    *out = NULL;
    return run(&e.c, exec_body, &e);
}

/* ---- compliance checks -------------------------------------------------- */

struct cc_call {
    struct call c;
    const char *id;
    const struct cJSON *arg[3]; /* meta, card, hub */
    int *pass;
    char *evidence;
    size_t size;
};

static int cc_body(lua_State *L)
{
    struct cc_call *k = lua_touserdata(L, 1);
    struct call *c = &k->c;
    int i;

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->t->ref);
    lua_getfield(L, -1, "checks");
    lua_getfield(L, -1, k->id);
    lua_replace(L, -3);
    lua_pop(L, 1); /* f */
    for (i = 0; i < 3; i++)
        if (k->arg[i])
            hfe_lua_push_json(L, k->arg[i]);
        else
            lua_pushnil(L);
    if ((c->rc = hfe_lua_call(c->s->rt, 3, 2, c->err)) != 0) {
        hfe_err_prefix(c->err, "task '%s', checks.%s: ", c->t->name, k->id);
        return 0;
    }
    if (!lua_isnil(L, -2) && !lua_isboolean(L, -2)) {
        hfe_err_set(c->err,
                    "%s: task '%s': checks.%s must return true, false or "
                    "nil (not applicable), and the evidence; got %s",
                    c->s->path, c->t->name, k->id, luaL_typename(L, -2));
        c->rc = HFE_EXIT_SUITE;
        return 0;
    }
    *k->pass = lua_isnil(L, -2) ? -1 : lua_toboolean(L, -2);
    snprintf(k->evidence, k->size, "%s",
             lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "");
    return 0;
}

int hfe_suite_call_cc_check(struct hfe_suite *s, const struct hfe_task *t,
                            const char *id, const struct cJSON *meta,
                            const struct cJSON *card, const struct cJSON *hub,
                            int *pass, char *evidence, size_t size,
                            struct hfe_err *err)
{
    static const struct hfe_item none = {.doc_id = 0};
    struct cc_call k = {
        {s, t, &none, err, 0}, id, {meta, card, hub}, pass, evidence, size};
    int rc = hfe_lua_run(s->rt, cc_body, &k, err);

    if (rc != 0)
        hfe_err_prefix(err, "task '%s', checks.%s: ", t->name, id);
    return rc ? rc : k.c.rc;
}
