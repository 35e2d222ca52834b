/*
 * lmeval.c - lm-evaluation-harness task files (.yaml) run as suites.
 *
 * hfe_suite_load hands a .yaml path to hfe_lmeval_open: the Lua runtime
 * is opened on the adapter below as if it were the file, so the task's
 * data is read, digested and recorded as any suite's, and the runner,
 * scorers and records need nothing of their own.  The adapter asks C for
 * the file (hfe.lmeval.load: yaml_doc.c) and for its templates
 * (hfe.lmeval.template: jinja.c, rendered against each document), and
 * builds the task as lm-evaluation-harness does (lm_eval/api/task.py):
 *
 *   context      description .. few-shot examples .. doc_to_text(doc),
 *                each example doc_to_text .. target_delimiter .. its
 *                target, followed by fewshot_delimiter (default "\n\n")
 *   continuation target_delimiter (default " ") .. choice
 *
 * Supported now: output_type multiple_choice, with doc_to_text,
 * doc_to_choice (a template giving a list, or a YAML list) and
 * doc_to_target (a column, a template, an index or a choice's text),
 * description, target_delimiter, fewshot_delimiter, num_fewshot from
 * --set fewshot=FILE (or the data itself) with fewshot_config.sampler
 * first_n.  Anything else — another output_type, !function, a group, a
 * random sampler, a filter list — is refused with the file, the line
 * and what to do, exit 5.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>

#include "jinja.h"
#include "lmeval.h"
#include "lua_rt.h"
#include "pyrandom.h"
#include "yaml_doc.h"

/* The adapter, lmeval.lua, compiled in (cmake/embed.cmake): it runs as
 * the task file itself (hfe_lua_open_text). */
#include "lmeval_lua.h"

/* ---- hfe.lmeval.load -------------------------------------------------- */

static int may(void *ud, const char *path)
{
    return hfe_lua_may_read(ud, path);
}

static void note(void *ud, const char *path)
{
    hfe_lua_note_read(ud, path);
}

static int l_load(lua_State *L)
{
    struct hfe_lua *s = hfe_lua_runtime(L);
    const char *path = luaL_checkstring(L, 1);
    struct hfe_yaml_files fs = {may, note, s};
    struct hfe_err err;
    cJSON *doc;

    if (!s)
        return luaL_error(L, "%s: no suite runtime", path);
    if (!(doc = hfe_yaml_task(path, &fs, &err))) {
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    hfe_lua_push_json(L, doc); /* raises only on memory: doc then leaks */
    cJSON_Delete(doc);
    return 1;
}

/* ---- what a path is --------------------------------------------------- */

int hfe_lmeval_is_task_file(const char *path)
{
    const char *dot = strrchr(path, '.');

    return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"));
}

/* Whether directory dir holds a task file. */
static int has_task_files(const char *dir)
{
    struct dirent *e;
    DIR *d = opendir(dir);
    int found = 0;

    while (d && !found && (e = readdir(d)))
        found = e->d_name[0] != '.' && hfe_lmeval_is_task_file(e->d_name);
    if (d)
        closedir(d);
    return found;
}

/* "file", "dir" (a directory of task files) or "name" (DIR/NAME, no such
 * file, DIR holding task files); NULL: none of them. */
static const char *task_kind(const char *path)
{
    struct stat st;
    char *dir, *slash;
    int ok;

    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode)
                   ? (has_task_files(path) ? "dir" : NULL)
                   : (hfe_lmeval_is_task_file(path) ? "file" : NULL);
    if (hfe_lmeval_is_task_file(path))
        return "file"; /* missing: its own message */
    dir = hfe_xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    ok = slash && slash[1] && has_task_files(dir);
    free(dir);
    return ok ? "name" : NULL;
}

int hfe_lmeval_is_task(const char *path)
{
    return task_kind(path) != NULL;
}

/* hfe.lmeval.kind(path): task_kind's answer. */
static int l_kind(lua_State *L)
{
    const char *k = task_kind(luaL_checkstring(L, 1));

    lua_pushstring(L, k ? k : "file");
    return 1;
}

/* ---- hfe.lmeval.list --------------------------------------------------- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* hfe.lmeval.list(dir): the names of dir's task files (.yaml, .yml),
 * sorted, for a group to find the tasks and tags it names. */
static int l_list(lua_State *L)
{
    struct hfe_lua *s = hfe_lua_runtime(L);
    const char *dir = luaL_checkstring(L, 1);
    char **v = NULL;
    size_t n = 0, i;
    struct dirent *e;
    DIR *d;

    if (!s || !hfe_lua_may_read(s, dir))
        return luaL_error(L, "%s: outside what the suite may read", dir);
    if (!(d = opendir(dir)))
        return luaL_error(L, "%s: %s", dir, strerror(errno));
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && hfe_lmeval_is_task_file(e->d_name)) {
            v = hfe_xrealloc(v, (n + 1) * sizeof(*v));
            v[n++] = hfe_xstrdup(e->d_name);
        }
    closedir(d);
    if (n)
        qsort(v, n, sizeof(*v), cmp_name);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
        free(v[i]);
    }
    free(v);
    return 1;
}

/* ---- hfe.lmeval.template ---------------------------------------------- */

#define TEMPLATE_MT "hfe.lmeval.template"

struct tpl {
    struct hfe_jinja *j;
};

static int l_template(lua_State *L)
{
    const char *src = luaL_checkstring(L, 1), *file = luaL_checkstring(L, 2);
    int line = (int)luaL_optinteger(L, 3, 1);
    struct tpl *t = lua_newuserdatauv(L, sizeof(*t), 0);
    struct hfe_err err;

    t->j = NULL;
    luaL_setmetatable(L, TEMPLATE_MT);
    if (hfe_jinja_compile(src, file, line, &t->j, &err) != 0) {
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    return 1;
}

static int tpl_gc(lua_State *L)
{
    struct tpl *t = luaL_checkudata(L, 1, TEMPLATE_MT);

    hfe_jinja_free(t->j);
    t->j = NULL;
    return 0;
}

/* The document at idx as cJSON, through hfe.json.encode's rules. */
static cJSON *doc_json(lua_State *L, int idx)
{
    const char *s;
    cJSON *d;

    lua_getglobal(L, "hfe");
    lua_getfield(L, -1, "json");
    lua_getfield(L, -1, "encode");
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    s = lua_tostring(L, -1);
    d = cJSON_Parse(s ? s : "null");
    lua_pop(L, 3);
    return d;
}

/* template(doc): the text; template:value(doc): its one value. */
static int render(lua_State *L, int value)
{
    struct tpl *t = luaL_checkudata(L, 1, TEMPLATE_MT);
    cJSON *doc, *v = NULL;
    struct hfe_buf out = {0};
    struct hfe_err err;
    int rc;

    luaL_checktype(L, 2, LUA_TTABLE);
    doc = doc_json(L, 2);
    if (value) {
        v = hfe_jinja_value(t->j, doc, &err);
        rc = v ? 0 : HFE_EXIT_SUITE;
    } else {
        rc = hfe_jinja_render(t->j, doc, &out, &err);
    }
    cJSON_Delete(doc);
    if (rc != 0) {
        hfe_buf_free(&out);
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    if (value) {
        hfe_lua_push_json(L, v);
        cJSON_Delete(v);
    } else {
        lua_pushlstring(L, out.s, out.len);
        hfe_buf_free(&out);
    }
    return 1;
}

static int tpl_call(lua_State *L)
{
    return render(L, 0);
}

static int tpl_value(lua_State *L)
{
    return render(L, 1);
}

/* ---- hfe.lmeval.hook -------------------------------------------------- */

/* hfe.lmeval.hook(text, path): a Lua hook's chunk (text only), to run in
 * the suite's sandbox; the adapter read it with hfe.read_text, so it is
 * one of the run's recorded files. */
static int l_hook(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *path = luaL_checkstring(L, 2);

    lua_pushfstring(L, "@%s", path);
    if (luaL_loadbufferx(L, text, len, lua_tostring(L, -1), "t") != LUA_OK)
        return lua_error(L);
    return 1;
}

/* ---- hfe.lmeval.random ------------------------------------------------ */

#define RANDOM_MT "hfe.lmeval.random"

/* hfe.lmeval.random(seed): Python's random.Random(seed) (pyrandom.h). */
static int l_random(lua_State *L)
{
    lua_Integer seed = luaL_checkinteger(L, 1);
    struct hfe_pyrandom *r;

    luaL_argcheck(L, seed >= 0, 1, "a seed of 0 or more");
    r = lua_newuserdatauv(L, sizeof(*r), 0);
    hfe_pyrandom_seed(r, (uint64_t)seed);
    luaL_setmetatable(L, RANDOM_MT);
    return 1;
}

/* rnd:sample(n, k): random.sample(range(n), k), as 1-based indices. */
static int random_sample(lua_State *L)
{
    struct hfe_pyrandom *r = luaL_checkudata(L, 1, RANDOM_MT);
    lua_Integer n = luaL_checkinteger(L, 2), k = luaL_checkinteger(L, 3), i;
    size_t *v;

    luaL_argcheck(L, n >= 0 && n <= 0xffffffffLL, 2, "0 to 2^32 - 1");
    if (k < 0 || k > n)
        return luaL_error(L, "sample larger than population or is negative");
    v = hfe_xcalloc((size_t)k + 1, sizeof(*v));
    hfe_pyrandom_sample(r, (size_t)n, (size_t)k, v);
    lua_createtable(L, (int)k, 0);
    for (i = 0; i < k; i++) {
        lua_pushinteger(L, (lua_Integer)v[i] + 1);
        lua_rawseti(L, -2, i + 1);
    }
    free(v);
    return 1;
}

void hfe_lmeval_open_lib(lua_State *L)
{
    static const luaL_Reg lib[] = {
        {"load", l_load}, {"template", l_template}, {"random", l_random},
        {"list", l_list}, {"hook", l_hook},         {"kind", l_kind},
        {NULL, NULL}};
    static const luaL_Reg methods[] = {{"value", tpl_value}, {NULL, NULL}};
    static const luaL_Reg rnd[] = {{"sample", random_sample}, {NULL, NULL}};

    if (luaL_newmetatable(L, RANDOM_MT)) {
        luaL_newlib(L, rnd);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);

    if (luaL_newmetatable(L, TEMPLATE_MT)) {
        lua_pushcfunction(L, tpl_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, tpl_call);
        lua_setfield(L, -2, "__call");
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlib(L, lib);
}

int hfe_lmeval_open(const char *path, const struct hfe_lua_opts *o,
                    struct hfe_lua **out, struct hfe_err *err)
{
    return hfe_lua_open_text(path, lmeval_lua, sizeof(lmeval_lua) - 1, o, out,
                             err);
}
