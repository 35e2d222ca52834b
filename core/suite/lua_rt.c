/*
 * lua_rt.c - the suite runtime: a sandboxed Lua state with a memory cap and
 * a time limit, protected calls with tracebacks.  See lua_rt.h.
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

static void deadline_hook(lua_State *L, lua_Debug *ar)
{
    struct hfe_lua *s;

    (void)ar;
    lua_getfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (s && s->deadline > 0 && now_s() > s->deadline)
        luaL_error(L, "the suite ran past its time limit of %f s",
                   (lua_Number)s->time_limit);
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

int hfe_lua_call(struct hfe_lua *s, int nargs, int nres, struct hfe_err *err)
{
    lua_State *L = s->L;
    int base = lua_gettop(L) - nargs; /* the function's index */
    int rc;

    lua_pushcfunction(L, msghandler);
    lua_insert(L, base); /* stack: handler f args */
    s->deadline = now_s() + s->time_limit;
    rc = lua_pcall(L, nargs, nres, base);
    s->deadline = 0;
    lua_remove(L, base);
    if (rc == LUA_OK)
        return 0;
    hfe_err_set(err, "%s",
                lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error");
    lua_pop(L, 1);
    return HFE_EXIT_SUITE;
}

/* ---- the sandbox ------------------------------------------------------- */

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
    lua_newtable(L); /* _G's metatable */
    lua_pushcfunction(L, forbid);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

/* ---- roots: what the readers may open ---------------------------------- */

static void add_root(struct hfe_lua *s, const char *path)
{
    char *r = realpath(path, NULL);

    if (!r)
        return;
    s->roots = hfe_xrealloc(s->roots, (s->n_roots + 1) * sizeof(*s->roots));
    s->roots[s->n_roots++] = r;
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

/* ---- the state -------------------------------------------------------------
 */

int hfe_lua_open(const char *path, const struct hfe_lua_opts *o,
                 struct hfe_lua **out, struct hfe_err *err)
{
    struct hfe_lua *s = hfe_xcalloc(1, sizeof(*s));
    char *text = NULL, *dir, *slash;
    size_t len, i;
    lua_State *L;

    *out = NULL;
    s->path = hfe_xstrdup(path);
    s->mem_limit = o && o->mem_limit ? o->mem_limit : (size_t)1 << 30;
    s->time_limit = o && o->time_limit > 0 ? o->time_limit : 60;
    s->suite_ref = LUA_NOREF;
    s->skip_bad = o && o->skip_bad_lines;
    dir = hfe_xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    s->dir = hfe_xstrdup(slash ? dir : ".");
    add_root(s, s->dir);
    free(dir);

    s->L = L = lua_newstate(cap_alloc, s);
    if (!L) {
        hfe_err_set(err, "%s: cannot create a Lua state", path);
        goto fail;
    }
    lua_pushlightuserdata(L, s);
    lua_setfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
    lua_sethook(L, deadline_hook, LUA_MASKCOUNT, 10000);
    open_sandbox(L);

    /* hfe, with hfe.set from --set */
    luaL_requiref(L, "hfe", hfe_lua_open_hfe, 1);
    lua_newtable(L);
    for (i = 0; o && i < o->n_set; i++) {
        char *real = realpath(o->set_values[i], NULL);

        /* a path given on the command line: absolute, and readable */
        lua_pushstring(L, real ? real : o->set_values[i]);
        lua_setfield(L, -2, o->set_keys[i]);
        if (real)
            add_root(s, real);
        free(real);
    }
    lua_setfield(L, -2, "set");
    /* print goes to the log, as hfe.log: stdout carries the tables */
    lua_getfield(L, -1, "log");
    lua_setglobal(L, "print");
    lua_pop(L, 1);

    if (hfe_read_file(path, &text, &len, err) != 0)
        goto fail;
    {
        char *chunk = hfe_xasprintf("@%s", path);
        int rc = luaL_loadbufferx(L, text, len, chunk, "t");

        free(chunk);
        if (rc != LUA_OK) {
            hfe_err_set(err, "%s", lua_tostring(L, -1));
            goto fail;
        }
    }
    if (hfe_lua_call(s, 0, 1, err) != 0)
        goto fail;
    if (!lua_istable(L, -1)) {
        hfe_err_set(err, "%s: the suite must return a table, it returned %s",
                    path, luaL_typename(L, -1));
        goto fail;
    }
    s->suite_ref = luaL_ref(L, LUA_REGISTRYINDEX);
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
    struct hfe_lua *s;

    lua_getfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
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
    struct hfe_lua *s;

    lua_getfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
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
