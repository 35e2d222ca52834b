/*
 * lua_rt.c - the suite runtime: a sandboxed Lua state with a memory cap and
 * a time limit, protected calls with tracebacks.  See lua_rt.h.
 *
 * Nothing touches the state unprotected (Lua's lua.c, pmain): the state is
 * set up, the suite run and its tables read inside hfe_lua_run(), so that an
 * error in a metamethod is a message and not Lua's panic, which aborts.
 * The panic function is still set, as a last line of defence.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "hfeval-plugin.h"
#include "lua_rt.h"

#define RUNTIME_KEY "hfe.runtime"

struct hfe_lua {
    lua_State *L;
    char *path;
    char *dir; /* the suite's directory: relative data paths start there */
    size_t mem, mem_limit;
    double time_limit, deadline;
    char **roots; /* resolved directories and files the readers may open */
    size_t n_roots;
    char **reads; /* the files the suite read, for the run record */
    size_t n_reads;
    int suite_ref;
    int skip_bad;   /* --skip-bad-lines                        */
    size_t n_bad;   /* lines skipped                           */
    int data_error; /* the error was a bad data line           */
};

/* The runtime of a state, without touching its stack: the allocator's
 * userdata (hfe_lua_open). */
static struct hfe_lua *runtime_of(lua_State *L)
{
    void *ud = NULL;

    lua_getallocf(L, &ud);
    return ud;
}

struct hfe_lua *hfe_lua_runtime(lua_State *L)
{
    return runtime_of(L);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The allocator: Lua's, with a cap.  Lua raises "not enough memory" when
 * it returns NULL. */
static void *cap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct hfe_lua *s = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        free(ptr);
        s->mem -= old;
        return NULL;
    }
    if (nsize > old && s->mem + (nsize - old) > s->mem_limit)
        return NULL;
    p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    s->mem = s->mem - old + nsize;
    return p;
}

static int past_deadline(const struct hfe_lua *s)
{
    return s->deadline > 0 && now_s() > s->deadline;
}

static void deadline_hook(lua_State *L, lua_Debug *ar)
{
    struct hfe_lua *s = runtime_of(L);

    (void)ar;
    if (!past_deadline(s))
        return;
    luaL_where(L, 0); /* the line that was running, not its caller's */
    lua_pushfstring(L, "the suite ran past its time limit of %f s",
                    (lua_Number)s->time_limit);
    lua_concat(L, 2);
    lua_error(L);
}

/* Lua's panic: an error outside any protected call.  hfe_lua_run() leaves
 * none; should one come, it is the suite's status and a message, never
 * the abort() that follows a panic that returns. */
static int panic(lua_State *L)
{
    struct hfe_lua *s = runtime_of(L);

    fprintf(stderr, "hfeval: %s: a Lua error outside any protected call: %s\n",
            s ? s->path : "?",
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                           : "(not a string)");
    exit(HFE_EXIT_SUITE);
}

/* Message handler: the message with a traceback (as lua.c's msghandler). */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);

    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)",
                              luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* The error at the top as err: the suite's file first where Lua's
 * message does not name it (running out of memory has no position). */
static void report(struct hfe_lua *s, int rc, struct hfe_err *err)
{
    lua_State *L = s->L;
    const char *msg =
        lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error";

    if (rc == LUA_ERRMEM)
        hfe_err_set(err, "%s: %s (the suite may use %zu MiB)", s->path, msg,
                    s->mem_limit >> 20);
    else if (!strstr(msg, s->path))
        hfe_err_set(err, "%s: %s", s->path, msg);
    else
        hfe_err_set(err, "%s", msg);
}

int hfe_lua_call(struct hfe_lua *s, int nargs, int nres, struct hfe_err *err)
{
    lua_State *L = s->L;
    int base = lua_gettop(L) - nargs; /* the function's index */
    double outer = s->deadline;       /* > 0: inside hfe_lua_run */
    int rc;

    lua_pushcfunction(L, msghandler);
    lua_insert(L, base); /* stack: handler f args */
    s->deadline = now_s() + s->time_limit;
    rc = lua_pcall(L, nargs, nres, base);
    /* back in the harness: the enclosing call's limit starts again */
    s->deadline = outer > 0 ? now_s() + s->time_limit : 0;
    lua_remove(L, base);
    if (rc == LUA_OK)
        return 0;
    report(s, rc, err);
    lua_pop(L, 1);
    return HFE_EXIT_SUITE;
}

int hfe_lua_run(struct hfe_lua *s, lua_CFunction fn, void *ud,
                struct hfe_err *err)
{
    lua_pushcfunction(s->L, fn); /* a light C function: no allocation */
    lua_pushlightuserdata(s->L, ud);
    return hfe_lua_call(s, 1, 0, err);
}

/* ---- the sandbox -------------------------------------------------------- */

static const char *const forbidden[] = {
    "io",     "os",       "package", "debug",      "require",
    "dofile", "loadfile", "load",    "loadstring", NULL,
};

/* _G's __index: naming a forbidden global is an error that says why. */
static int forbid(lua_State *L)
{
    const char *k = lua_tostring(L, 2);
    int i;

    for (i = 0; k && forbidden[i]; i++)
        if (!strcmp(k, forbidden[i]))
            return luaL_error(L,
                              "the sandbox forbids '%s': suites have no io, "
                              "os, package, debug or load; read data with "
                              "hfe.read_jsonl, hfe.read_lines, hfe.read_json",
                              k);
    return 0;
}

/* pcall, xpcall and coroutine.resume as the base library's (the original
 * is upvalue 1), except that an error past the deadline goes on up: a
 * suite cannot catch its own time limit and loop again. */
static int rethrow_late(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    if (!lua_toboolean(L, 1) && past_deadline(runtime_of(L))) {
        lua_settop(L, 2); /* false message */
        return lua_error(L);
    }
    return lua_gettop(L);
}

static int guarded_catch(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1); /* stack: original args */
    lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, rethrow_late);
    return rethrow_late(L, LUA_OK, 0);
}

/* setmetatable without __gc: finalizers run with hooks off, where no time
 * limit reaches them, and again when the harness closes the state. */
static int guarded_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "the sandbox forbids __gc metamethods: a "
                                 "suite's objects have no finalizers");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1); /* stack: original args */
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* Replaces table[name] (the table at the top) by f with the original as
 * its upvalue. */
static void guard(lua_State *L, const char *name, lua_CFunction f)
{
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
}

static void open_sandbox(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},
        {LUA_TABLIBNAME, luaopen_table},
        {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},
        {LUA_COLIBNAME, luaopen_coroutine},
        {NULL, NULL},
    };
    const luaL_Reg *lib;
    int i;

    for (lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L); /* _G */
    for (i = 0; forbidden[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, forbidden[i]);
    }
    lua_getfield(L, -1, "string"); /* no bytecode out either */
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    guard(L, "pcall", guarded_catch);
    guard(L, "xpcall", guarded_catch);
    guard(L, "setmetatable", guarded_setmetatable);
    lua_getfield(L, -1, "coroutine");
    guard(L, "resume", guarded_catch);
    lua_pop(L, 1);
    lua_newtable(L); /* _G's metatable */
    lua_pushcfunction(L, forbid);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

/* ---- roots: what the readers may open ----------------------------------- */

/* Adds path, resolved, to the roots; returns it resolved (owned by s), or
 * NULL when it does not exist. */
static const char *add_root(struct hfe_lua *s, const char *path)
{
    char *r = realpath(path, NULL);

    if (!r)
        return NULL;
    s->roots = hfe_xrealloc(s->roots, (s->n_roots + 1) * sizeof(*s->roots));
    s->roots[s->n_roots++] = r;
    return r;
}

char *hfe_lua_resolve(struct hfe_lua *s, const char *path)
{
    if (path[0] == '/')
        return hfe_xstrdup(path);
    return hfe_xasprintf("%s/%s", s->dir, path);
}

void hfe_lua_note_read(struct hfe_lua *s, const char *path)
{
    size_t i;

    for (i = 0; i < s->n_reads; i++)
        if (!strcmp(s->reads[i], path))
            return;
    s->reads = hfe_xrealloc(s->reads, (s->n_reads + 1) * sizeof(char *));
    s->reads[s->n_reads++] = hfe_xstrdup(path);
}

size_t hfe_lua_reads(const struct hfe_lua *s, const char *const **paths)
{
    *paths = (const char *const *)s->reads;
    return s->n_reads;
}

int hfe_lua_may_read(struct hfe_lua *s, const char *path)
{
    char *r = realpath(path, NULL);
    size_t i;
    int ok = 0;

    if (!r)
        return 0;
    for (i = 0; i < s->n_roots && !ok; i++) {
        size_t n = strlen(s->roots[i]);

        ok = strcmp(r, s->roots[i]) == 0 ||
             (strncmp(r, s->roots[i], n) == 0 &&
              (r[n] == '/' || (n == 1 && s->roots[i][0] == '/')));
    }
    free(r);
    return ok;
}

/* ---- the state ---------------------------------------------------------- */

/* A limit from the environment (HFEVAL_LUA_TIME_LIMIT, seconds;
 * HFEVAL_LUA_MEM_LIMIT, MiB), or def when it is unset or not a positive
 * number. */
static double env_limit(const char *name, double def)
{
    const char *v = getenv(name);
    char *end;
    double x;

    if (!v || !*v)
        return def;
    x = strtod(v, &end);
    return *end == '\0' && x > 0 && x < 1e9 ? x : def;
}

struct open_args {
    struct hfe_lua *s;
    const struct hfe_lua_opts *o;
    const char *text;
    size_t len;
    struct hfe_err *err;
    int rc;
};

/* The sandbox, hfe with hfe.set, print. */
static void open_libs(lua_State *L, struct hfe_lua *s,
                      const struct hfe_lua_opts *o)
{
    size_t i;

    open_sandbox(L);
    luaL_requiref(L, "hfe", hfe_lua_open_hfe, 1);
    lua_newtable(L);
    for (i = 0; o && i < o->n_set; i++) {
        /* a path given on the command line: absolute, and readable */
        const char *real = add_root(s, o->set_values[i]);

        lua_pushstring(L, real ? real : o->set_values[i]);
        lua_setfield(L, -2, o->set_keys[i]);
    }
    lua_setfield(L, -2, "set");
    /* print goes to the log, as hfe.log: stdout carries the tables */
    lua_getfield(L, -1, "log");
    lua_setglobal(L, "print");
    lua_pop(L, 1);
}

/* Run by hfe_lua_run: the libraries, then the suite file, whose table
 * goes to the registry.  a->rc says how it went. */
static int open_body(lua_State *L)
{
    struct open_args *a = lua_touserdata(L, 1);
    struct hfe_lua *s = a->s;
    char *chunk;
    int rc;

    lua_pushlightuserdata(L, s); /* where lua_hfe.c finds the runtime */
    lua_setfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
    open_libs(L, s, a->o);
    chunk = hfe_xasprintf("@%s", s->path); /* loading raises nothing */
    rc = luaL_loadbufferx(L, a->text, a->len, chunk, "t");
    free(chunk);
    if (rc != LUA_OK) {
        hfe_err_set(a->err, "%s", lua_tostring(L, -1));
        a->rc = HFE_EXIT_SUITE;
        return 0;
    }
    lua_pushstring(L, s->path); /* the chunk's ...: its own path */
    if ((a->rc = hfe_lua_call(s, 1, 1, a->err)) != 0)
        return 0;
    if (!lua_istable(L, -1)) {
        hfe_err_set(a->err, "%s: the suite must return a table, it returned %s",
                    s->path, luaL_typename(L, -1));
        a->rc = HFE_EXIT_SUITE;
        return 0;
    }
    s->suite_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int lua_open(const char *path, const char *given, size_t given_len,
                    const struct hfe_lua_opts *o, struct hfe_lua **out,
                    struct hfe_err *err);

int hfe_lua_open(const char *path, const struct hfe_lua_opts *o,
                 struct hfe_lua **out, struct hfe_err *err)
{
    return lua_open(path, NULL, 0, o, out, err);
}

int hfe_lua_open_text(const char *path, const char *text, size_t len,
                      const struct hfe_lua_opts *o, struct hfe_lua **out,
                      struct hfe_err *err)
{
    return lua_open(path, text, len, o, out, err);
}

static int lua_open(const char *path, const char *given, size_t given_len,
                    const struct hfe_lua_opts *o, struct hfe_lua **out,
                    struct hfe_err *err)
{
    struct hfe_lua *s = hfe_xcalloc(1, sizeof(*s));
    struct open_args a = {s, o, NULL, 0, err, 0};
    char *text = NULL, *dir, *slash;
    lua_State *L;

    *out = NULL;
    s->path = hfe_xstrdup(path);
    s->mem_limit =
        o && o->mem_limit
            ? o->mem_limit
            : (size_t)(env_limit("HFEVAL_LUA_MEM_LIMIT", 1024) * 1048576.0);
    s->time_limit = o && o->time_limit > 0
                        ? o->time_limit
                        : env_limit("HFEVAL_LUA_TIME_LIMIT", 60);
    s->suite_ref = LUA_NOREF;
    s->skip_bad = o && o->skip_bad_lines;
    dir = hfe_xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    s->dir = hfe_xstrdup(slash ? dir : ".");
    add_root(s, s->dir);
    free(dir);

    if (given) {
        text = hfe_xstrndup(given, given_len);
        a.len = given_len;
    } else if (hfe_read_file(path, &text, &a.len, err) != 0) {
        goto fail;
    }
    s->L = L = lua_newstate(cap_alloc, s);
    if (!L) {
        hfe_err_set(err, "%s: cannot create a Lua state", path);
        goto fail;
    }
    lua_atpanic(L, panic);
    lua_sethook(L, deadline_hook, LUA_MASKCOUNT, 10000);
    a.text = text;
    if (hfe_lua_run(s, open_body, &a, err) != 0 || a.rc != 0)
        goto fail;
    free(text);
    *out = s;
    return 0;
fail:
    free(text);
    {
        int data = s->data_error;

        hfe_lua_close(s);
        return data ? HFE_EXIT_DATA : HFE_EXIT_SUITE;
    }
}

/* A data line does not parse: 1 to skip it (counted), or 0 when it is an
 * error (and the error is the data's: exit status 6). */
int hfe_lua_bad_line(lua_State *L)
{
    struct hfe_lua *s = runtime_of(L);

    if (!s)
        return 0;
    if (s->skip_bad) {
        s->n_bad++;
        return 1;
    }
    s->data_error = 1;
    return 0;
}

int hfe_lua_data_error(lua_State *L, int on)
{
    struct hfe_lua *s = runtime_of(L);

    if (s)
        s->data_error = on;
    return 1;
}

size_t hfe_lua_bad_lines(const struct hfe_lua *s)
{
    return s ? s->n_bad : 0;
}

void hfe_lua_close(struct hfe_lua *s)
{
    size_t i;

    if (!s)
        return;
    if (s->L)
        lua_close(s->L);
    for (i = 0; i < s->n_roots; i++)
        free(s->roots[i]);
    free(s->roots);
    for (i = 0; i < s->n_reads; i++)
        free(s->reads[i]);
    free(s->reads);
    free(s->dir);
    free(s->path);
    free(s);
}

lua_State *hfe_lua_state(struct hfe_lua *s)
{
    return s->L;
}

void hfe_lua_push_suite(struct hfe_lua *s)
{
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->suite_ref);
}
