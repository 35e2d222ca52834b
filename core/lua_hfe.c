/*
 * lua_hfe.c - the `hfe` library suites get:
 *
 *   hfe.read_lines(path)   lines of a text file (plain, gzip or bzip2)
 *   hfe.read_jsonl(path)   one JSON object a line, as a list of tables;
 *                          a bad line is an error naming path:line
 *   hfe.read_json(path)    one JSON document
 *   hfe.json.decode(s), hfe.json.encode(v)
 *   hfe.regex.match(s, pattern [, init])
 *                          PCRE2 (UTF); nil, or the captures (the whole
 *                          match when there are none), like string.match;
 *                          bounded by a match and a depth limit
 *   hfe.fewshot(list, n, seed [, skip])
 *                          n entries drawn with a seed, never entry skip
 *   hfe.log(...)           to the log (stderr), never to the tables
 *   hfe.set                --set key=value pairs
 *
 * Readers open only files inside the suite's directory or named with
 * --set (hfe_lua_may_read).  JSON null decodes to hfe.json.null.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <lauxlib.h>
#include <pcre2.h>
#include <bzlib.h>
#include <zlib.h>

#include "../plugins/hfeval-plugin.h"
#include "lua_rt.h"

#define REGEX_MATCH_LIMIT 1000000u
#define REGEX_DEPTH_LIMIT 10000u
#define JSON_MAX_DEPTH    1000 /* cJSON refuses deeper input itself */

static struct hfe_lua *runtime(lua_State *L)
{
    struct hfe_lua *s;

    lua_getfield(L, LUA_REGISTRYINDEX, "hfe.runtime");
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return s;
}

/* bzip2: the whole file through libbz2 into b.  Returns NULL or the
 * reason. */
static const char *read_bz2(FILE *f, luaL_Buffer *b)
{
    int bzerr = BZ_OK, n;
    BZFILE *bz = BZ2_bzReadOpen(&bzerr, f, 0, 0, NULL, 0);

    if (bzerr != BZ_OK)
        return "not a bzip2 stream";
    do {
        char *p = luaL_prepbuffsize(b, 65536);

        n = BZ2_bzRead(&bzerr, bz, p, 65536);
        if (n > 0 && (bzerr == BZ_OK || bzerr == BZ_STREAM_END))
            luaL_addsize(b, (size_t)n);
    } while (bzerr == BZ_OK);
    BZ2_bzReadClose(&n, bz);
    return bzerr == BZ_STREAM_END ? NULL : "corrupt bzip2 data";
}

/* Reads a whole file (plain, gzip or bzip2, told by its first bytes) and
 * pushes it as a string, so the memory is Lua's (capped, collected even
 * when a later error unwinds).  Errors are Lua errors naming the file. */
static const char *slurp(lua_State *L, const char *path, size_t *len)
{
    struct hfe_lua *s = runtime(L);
    unsigned char magic[3] = {0};
    luaL_Buffer b;
    gzFile gz;
    FILE *f;
    int n;
    char full[4096];

    if (!s)
        luaL_error(L, "%s: no suite runtime", path);
    {
        char *r = hfe_lua_resolve(s, path);

        snprintf(full, sizeof(full), "%s", r);
        free(r);
    }
    if (!hfe_lua_may_read(s, full))
        luaL_error(L,
                   "%s: outside the suite's directory and the paths given "
                   "with --set (or missing)",
                   path);
    f = fopen(full, "rb");
    if (!f)
        luaL_error(L, "%s: %s", path, strerror(errno));
    n = (int)fread(magic, 1, 3, f);
    luaL_buffinit(L, &b);
    if (n == 3 && !memcmp(magic, "BZh", 3)) {
        const char *why;

        rewind(f);
        why = read_bz2(f, &b);
        fclose(f);
        if (why)
            luaL_error(L, "%s: %s", path, why);
        luaL_pushresult(&b);
        return lua_tolstring(L, -1, len);
    }
    fclose(f);
    gz = gzopen(full, "rb"); /* gzip, or plain through zlib */
    if (!gz)
        luaL_error(L, "%s: %s", path, strerror(errno));
    do {
        char *p = luaL_prepbuffsize(&b, 65536);

        n = gzread(gz, p, 65536);
        if (n > 0)
            luaL_addsize(&b, (size_t)n);
    } while (n > 0);
    if (n < 0) {
        int e;
        char m[128];

        snprintf(m, sizeof(m), "%s", gzerror(gz, &e));
        gzclose(gz);
        luaL_error(L, "%s: read error: %s", path, m);
    }
    gzclose(gz);
    luaL_pushresult(&b);
    return lua_tolstring(L, -1, len);
}

/* ---- JSON -----------------------------------------------------------------
 */

static void push_json(lua_State *L, const cJSON *v, int depth)
{
    const cJSON *c;
    lua_Integer i = 1;

    luaL_checkstack(L, 4, "JSON too deep");
    if (depth > JSON_MAX_DEPTH)
        luaL_error(L, "JSON nested deeper than %d", JSON_MAX_DEPTH);
    if (cJSON_IsString(v)) {
        lua_pushstring(L, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (d == (double)(lua_Integer)d && d > -9.0e15 && d < 9.0e15)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsBool(v)) {
        lua_pushboolean(L, cJSON_IsTrue(v));
    } else if (cJSON_IsArray(v)) {
        lua_createtable(L, cJSON_GetArraySize(v), 0);
        cJSON_ArrayForEach(c, v)
        {
            push_json(L, c, depth + 1);
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsObject(v)) {
        lua_createtable(L, 0, cJSON_GetArraySize(v));
        cJSON_ArrayForEach(c, v)
        {
            push_json(L, c, depth + 1);
            lua_setfield(L, -2, c->string);
        }
    } else { /* null */
        lua_getfield(L, LUA_REGISTRYINDEX, "hfe.null");
    }
}

/* Parses s (n bytes) and pushes it; on failure pushes nothing and returns
 * the byte offset of the error. */
static long decode(lua_State *L, const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(s, n, &end, 0);

    if (!v)
        return end ? (long)(end - s) : 0;
    push_json(L, v, 0);
    cJSON_Delete(v);
    return -1;
}

static int l_json_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    long at = decode(L, s, n);

    if (at >= 0)
        return luaL_error(L, "hfe.json.decode: invalid JSON at byte %d",
                          (int)at + 1);
    return 1;
}

static cJSON *to_json(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    if (depth > JSON_MAX_DEPTH)
        luaL_error(L, "hfe.json.encode: nested deeper than %d (a cycle?)",
                   JSON_MAX_DEPTH);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return cJSON_CreateNull();
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        return cJSON_CreateNumber(lua_tonumber(L, idx));
    case LUA_TSTRING:
        return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TLIGHTUSERDATA:
        return cJSON_CreateNull(); /* hfe.json.null */
    case LUA_TTABLE: {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx), i;
        cJSON *out;

        if (n > 0) { /* a sequence */
            out = cJSON_CreateArray();
            for (i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                cJSON_AddItemToArray(out, to_json(L, -1, depth + 1));
                lua_pop(L, 1);
            }
            return out;
        }
        out = cJSON_CreateObject();
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING) {
                cJSON_Delete(out);
                luaL_error(L, "hfe.json.encode: object keys must be strings");
            }
            cJSON_AddItemToObject(out, lua_tostring(L, -2),
                                  to_json(L, -1, depth + 1));
            lua_pop(L, 1);
        }
        return out;
    }
    default:
        luaL_error(L, "hfe.json.encode: cannot encode a %s",
                   luaL_typename(L, idx));
        return NULL;
    }
}

static int l_json_encode(lua_State *L)
{
    cJSON *v = to_json(L, 1, 0);
    char *s = cJSON_PrintUnformatted(v);

    cJSON_Delete(v);
    if (!s)
        return luaL_error(L, "hfe.json.encode: out of memory");
    lua_pushstring(L, s);
    cJSON_free(s);
    return 1;
}

/* ---- readers --------------------------------------------------------------
 */

/* Calls fn(L, line, len, lineno) for each line (without its newline) and
 * collects what it pushes into a list.  CRLF and a UTF-8 BOM are taken. */
static int read_list(lua_State *L, int jsonl)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len, lineno = 0;
    const char *data = slurp(L, path, &len), *p = data, *end = data + len;
    lua_Integer n = 0;

    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3;
    lua_newtable(L);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((nl ? nl : end) - p);

        lineno++;
        if (l && p[l - 1] == '\r')
            l--;
        if (!jsonl) {
            lua_pushlstring(L, p, l);
            lua_rawseti(L, -2, ++n);
        } else if (l) {
            const char *bad = NULL;
            cJSON *v = cJSON_ParseWithLengthOpts(p, l, &bad, 0);

            if (!v)
                return luaL_error(L,
                                  "%s:%d: expected a JSON object, invalid JSON "
                                  "at column %d",
                                  path, (int)lineno,
                                  bad ? (int)(bad - p) + 1 : 1);
            if (!cJSON_IsObject(v)) {
                const char *t = cJSON_IsArray(v)    ? "an array"
                                : cJSON_IsString(v) ? "a string"
                                : cJSON_IsNumber(v) ? "a number"
                                                    : "a literal";

                cJSON_Delete(v);
                return luaL_error(L, "%s:%d: expected a JSON object, got %s",
                                  path, (int)lineno, t);
            }
            push_json(L, v, 0);
            cJSON_Delete(v);
            lua_rawseti(L, -2, ++n);
        }
        p = nl ? nl + 1 : end;
    }
    return 1; /* the list, above the file's text */
}

static int l_read_lines(lua_State *L)
{
    return read_list(L, 0);
}

static int l_read_jsonl(lua_State *L)
{
    return read_list(L, 1);
}

static int l_read_json(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *data = slurp(L, path, &len);
    long at = decode(L, data, len);

    if (at >= 0)
        return luaL_error(L, "%s: invalid JSON at byte %d", path, (int)at + 1);
    return 1;
}

/* ---- regex ----------------------------------------------------------------
 */

static int l_regex_match(lua_State *L)
{
    size_t n, plen;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *pat = luaL_checklstring(L, 2, &plen);
    lua_Integer init = luaL_optinteger(L, 3, 1);
    pcre2_match_context *mc = NULL;
    pcre2_match_data *md = NULL;
    PCRE2_SIZE eoff, *ov;
    pcre2_code *re;
    char msg[256];
    int ecode, rc, i, groups;

    if (init < 1 || (size_t)init > n + 1)
        return luaL_argerror(L, 3, "start outside the string");
    re = pcre2_compile((PCRE2_SPTR)pat, plen, PCRE2_UTF, &ecode, &eoff, NULL);
    if (!re) {
        pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
        return luaL_error(L, "hfe.regex: %s at offset %d of /%s/", msg,
                          (int)eoff, pat);
    }
    md = pcre2_match_data_create_from_pattern(re, NULL);
    mc = pcre2_match_context_create(NULL);
    if (!md || !mc) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        pcre2_code_free(re);
        return luaL_error(L, "hfe.regex: out of memory");
    }
    pcre2_set_match_limit(mc, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, REGEX_DEPTH_LIMIT);
    rc = pcre2_match(re, (PCRE2_SPTR)s, n, (PCRE2_SIZE)(init - 1), 0, md, mc);
    pcre2_match_context_free(mc);
    if (rc == PCRE2_ERROR_NOMATCH) {
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        lua_pushnil(L);
        return 1;
    }
    if (rc < 0) {
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof(msg));
        return luaL_error(L, "hfe.regex: /%s/: %s", pat, msg);
    }
    ov = pcre2_get_ovector_pointer(md);
    groups = (int)pcre2_get_ovector_count(md) - 1;
    pcre2_code_free(re);
    if (groups == 0) { /* the whole match */
        lua_pushlstring(L, s + ov[0], ov[1] - ov[0]);
        pcre2_match_data_free(md);
        return 1;
    }
    luaL_checkstack(L, groups, "too many captures");
    for (i = 1; i <= groups; i++) {
        if (ov[2 * i] == PCRE2_UNSET)
            lua_pushnil(L);
        else
            lua_pushlstring(L, s + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
    }
    pcre2_match_data_free(md);
    return groups;
}

/* ---- few-shot -------------------------------------------------------------
 */

/* hfe.fewshot(list, n, seed [, skip]): n entries of list, drawn without
 * replacement by a seeded splitmix64 shuffle (the same on every machine
 * and Lua build), never the entry at index skip (1-based). */
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int l_fewshot(lua_State *L)
{
    lua_Integer n, k, skip, len, i, j, out = 0;
    uint64_t state;
    lua_Integer *idx;

    luaL_checktype(L, 1, LUA_TTABLE);
    k = luaL_checkinteger(L, 2);
    state = (uint64_t)luaL_checkinteger(L, 3);
    skip = luaL_optinteger(L, 4, 0);
    len = (lua_Integer)lua_rawlen(L, 1);
    n = len - (skip >= 1 && skip <= len);
    if (k < 0 || k > n)
        return luaL_error(L, "hfe.fewshot: %d examples asked, %d to draw from",
                          (int)k, (int)n);
    idx = lua_newuserdatauv(L, (size_t)(len ? len : 1) * sizeof(*idx), 0);
    for (i = 0; i < len; i++)
        idx[i] = i + 1;
    lua_createtable(L, (int)k, 0);
    for (i = 0; i < len && out < k; i++) { /* partial Fisher-Yates */
        lua_Integer t;

        j = i + (lua_Integer)(splitmix(&state) % (uint64_t)(len - i));
        t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        if (idx[i] == skip)
            continue;
        lua_rawgeti(L, 1, idx[i]);
        lua_rawseti(L, -2, ++out);
    }
    return 1;
}

/* ---- log --------------------------------------------------------------------
 */

static int l_log(lua_State *L)
{
    luaL_Buffer b;
    int i, n = lua_gettop(L);

    luaL_buffinit(L, &b);
    for (i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    hfe_log(HFE_LOG_INFO, "suite", "%s", lua_tostring(L, -1));
    return 0;
}

int hfe_lua_open_hfe(lua_State *L)
{
    static const luaL_Reg hfe[] = {
        {"read_lines", l_read_lines}, {"read_jsonl", l_read_jsonl},
        {"read_json", l_read_json},   {"log", l_log},
        {"fewshot", l_fewshot},       {NULL, NULL},
    };
    static const luaL_Reg json[] = {
        {"decode", l_json_decode},
        {"encode", l_json_encode},
        {NULL, NULL},
    };
    static const luaL_Reg regex[] = {
        {"match", l_regex_match},
        {NULL, NULL},
    };
    static char null_tag;

    /* JSON null: one light userdata, the same everywhere */
    lua_pushlightuserdata(L, &null_tag);
    lua_setfield(L, LUA_REGISTRYINDEX, "hfe.null");
    luaL_newlib(L, hfe);
    luaL_newlib(L, json);
    lua_pushlightuserdata(L, &null_tag);
    lua_setfield(L, -2, "null");
    lua_setfield(L, -2, "json");
    luaL_newlib(L, regex);
    lua_setfield(L, -2, "regex");
    return 1;
}
