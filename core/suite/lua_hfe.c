/*
 * lua_hfe.c - the `hfe` library suites get:
 *
 *   hfe.read_lines(path)   lines of a text file (plain, gzip or bzip2)
 *   hfe.read_jsonl(path)   one JSON object a line, as a list of tables;
 *                          a bad line is an error naming path:line
 *   hfe.read_json(path)    one JSON document
 *   hfe.read_text(path)    the whole file, as a string
 *   hfe.read_csv(path [, opts])
 *                          RFC 4180 CSV: a list of rows, each a table keyed
 *                          by the header's names, or with opts.header=false
 *                          a list of strings; opts.sep: another one-byte
 *                          separator (";", "\t"); a bad record is an error
 *                          naming path:line where it starts
 *   hfe.read_hellaswag(path)
 *                          llama.cpp's HellaSwag layout (six lines a task),
 *                          as a list of {ctx=, label=0-3, endings={4}}
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
 * --set (hfe_lua_may_read), read them whole (slurp), and take CRLF and a
 * UTF-8 BOM.  Their errors are Lua errors that start with the path as
 * given.  JSON null decodes to hfe.json.null.
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

#include "hfeval-plugin.h"
#include "lmeval.h"
#include "lua_rt.h"

#define REGEX_MATCH_LIMIT 1000000u
#define REGEX_DEPTH_LIMIT 10000u
#define JSON_MAX_DEPTH    1000 /* cJSON refuses deeper input itself */

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
    struct hfe_lua *s = hfe_lua_runtime(L);
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
    if (f)
        hfe_lua_note_read(s, full);
    if (!f)
        luaL_error(L, "%s: %s", path, strerror(errno));
    n = (int)fread(magic, 1, 3, f);
    luaL_buffinit(L, &b);
    if (n == 3 && !memcmp(magic, "BZh", 3)) {
        const char *why;

        rewind(f);
        why = read_bz2(f, &b);
        fclose(f);
        if (why && hfe_lua_data_error(L, 1)) /* a corrupt file: its fault */
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
        hfe_lua_data_error(L, 1);
        luaL_error(L, "%s: read error: %s", path, m);
    }
    gzclose(gz);
    luaL_pushresult(&b);
    return lua_tolstring(L, -1, len);
}

/* ---- JSON --------------------------------------------------------------- */

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
    } else if (cJSON_IsRaw(v)) { /* yaml_doc.c's floats: a Lua float */
        lua_pushnumber(L, strtod(v->valuestring, NULL));
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

/* ---- readers ------------------------------------------------------------ */

/* The file's text (slurp) past a UTF-8 BOM, pushed as a string; *end is
 * one past its last byte. */
static const char *text_of(lua_State *L, const char *path, const char **end)
{
    size_t len;
    const char *p = slurp(L, path, &len);

    *end = p + len;
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3;
    return p;
}

/* What read_list does with a line (its newline and a CR before it taken
 * off): pushes one value and returns 1, or pushes nothing and returns 0 to
 * skip it.  A bad line is a Lua error naming path:lineno. */
typedef int (*line_fn)(lua_State *L, const char *path, const char *line,
                       size_t len, int lineno);

static int push_line(lua_State *L, const char *path, const char *line,
                     size_t len, int lineno)
{
    (void)path;
    (void)lineno;
    lua_pushlstring(L, line, len);
    return 1;
}

static int push_jsonl(lua_State *L, const char *path, const char *line,
                      size_t len, int lineno)
{
    const char *bad = NULL;
    cJSON *v;

    if (!len)
        return 0; /* blank lines are skipped */
    v = cJSON_ParseWithLengthOpts(line, len, &bad, 0);
    if (!v) {
        if (hfe_lua_bad_line(L)) {
            hfe_log(HFE_LOG_WARN, NULL,
                    "%s:%d: expected a JSON object, invalid JSON at column "
                    "%d: skipped",
                    path, lineno, bad ? (int)(bad - line) + 1 : 1);
            return 0;
        }
        return luaL_error(L,
                          "%s:%d: expected a JSON object, invalid JSON at "
                          "column %d",
                          path, lineno, bad ? (int)(bad - line) + 1 : 1);
    }
    if (!cJSON_IsObject(v)) {
        const char *t = cJSON_IsArray(v)    ? "an array"
                        : cJSON_IsString(v) ? "a string"
                        : cJSON_IsNumber(v) ? "a number"
                                            : "a literal";

        cJSON_Delete(v);
        if (hfe_lua_bad_line(L)) {
            hfe_log(HFE_LOG_WARN, NULL,
                    "%s:%d: expected a JSON object, got %s: skipped", path,
                    lineno, t);
            return 0;
        }
        return luaL_error(L, "%s:%d: expected a JSON object, got %s", path,
                          lineno, t);
    }
    hfe_lua_data_error(L, 1); /* too deep a line is the data's fault */
    push_json(L, v, 0);
    hfe_lua_data_error(L, 0);
    cJSON_Delete(v);
    return 1;
}

/* Calls fn for each line of the file named by argument 1 and collects
 * what it pushes into a list.  CRLF and a UTF-8 BOM are taken.  Leaves
 * the file's text and the list on the stack. */
static int read_list(lua_State *L, line_fn fn)
{
    const char *path = luaL_checkstring(L, 1);
    const char *end, *p = text_of(L, path, &end);
    lua_Integer n = 0;
    int lineno = 0;

    lua_newtable(L); /* path ... text list */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((nl ? nl : end) - p);

        lineno++;
        if (l && p[l - 1] == '\r')
            l--;
        if (fn(L, path, p, l, lineno))
            lua_rawseti(L, -2, ++n);
        p = nl ? nl + 1 : end;
    }
    return 1; /* the list, above the file's text */
}

static int l_read_lines(lua_State *L)
{
    return read_list(L, push_line);
}

static int l_read_jsonl(lua_State *L)
{
    return read_list(L, push_jsonl);
}

static int l_read_json(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *data = slurp(L, path, &len);
    long at;

    hfe_lua_data_error(L, 1); /* what goes wrong here is the file's */
    at = decode(L, data, len);
    if (at >= 0)
        return luaL_error(L, "%s: invalid JSON at byte %d", path, (int)at + 1);
    hfe_lua_data_error(L, 0);
    return 1;
}

/* The file's bytes, as they are (after decompression). */
static int l_read_text(lua_State *L)
{
    size_t len;

    slurp(L, luaL_checkstring(L, 1), &len); /* pushes it */
    return 1;
}

void hfe_lua_push_json(lua_State *L, const struct cJSON *v)
{
    push_json(L, v, 0);
}

/* ---- CSV ---------------------------------------------------------------- */

/* At a line end: LF, CRLF, or a CR that ends the file. */
static int at_eol(const char *p, const char *end)
{
    return p < end &&
           (*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n')));
}

/* Past the line end at p (if any); counts it in *line. */
static const char *skip_eol(const char *p, const char *end, int *line)
{
    if (p < end && *p == '\r')
        p++;
    if (p < end && *p == '\n') {
        p++;
        (*line)++;
    }
    return p;
}

/* Pushes the quoted field that starts at p (on its opening quote), ""
 * as one quote and CRLF inside it as LF; returns the byte after its
 * closing quote.  *line counts the newlines inside it. */
static const char *push_quoted(lua_State *L, const char *path, int record,
                               const char *p, const char *end, int *line)
{
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    for (p++;; p++) {
        if (p == end)
            luaL_error(L,
                       "%s:%d: unterminated quoted field, expected a closing "
                       "'\"' before the end of the file",
                       path, record);
        if (*p == '"') {
            if (p + 1 < end && p[1] == '"') {
                luaL_addchar(&b, '"');
                p++;
                continue;
            }
            break;
        }
        if (*p == '\r' && p + 1 < end && p[1] == '\n')
            continue; /* the LF after it is added */
        if (*p == '\n')
            (*line)++;
        luaL_addchar(&b, *p);
    }
    luaL_pushresult(&b);
    return p + 1;
}

/* Reads one record starting at p (not at a line end) into a new list;
 * returns the byte after its line end and its number of fields in *nf. */
static const char *push_record(lua_State *L, const char *path, char sep,
                               const char *p, const char *end, int *line,
                               int *nf)
{
    int record = *line;

    *nf = 0;
    lua_newtable(L); /* ... fields */
    for (;;) {
        if (p < end && *p == '"') {
            p = push_quoted(L, path, record, p, end, line);
            if (p < end && *p != sep && !at_eol(p, end))
                luaL_error(L,
                           "%s:%d: field %d: expected '%c' or a line end "
                           "after a closing '\"', got '%c'",
                           path, record, *nf + 1, sep, *p);
        } else {
            const char *q = p;
            size_t l;

            while (q < end && *q != sep && *q != '\n')
                q++;
            l = (size_t)(q - p);
            if (l && p[l - 1] == '\r' && (q == end || *q == '\n'))
                l--;
            lua_pushlstring(L, p, l);
            p = q;
        }
        lua_rawseti(L, -2, ++*nf);
        if (p < end && *p == sep) {
            p++;
            continue;
        }
        return skip_eol(p, end, line);
    }
}

/* The header's names must differ: a row is keyed by them.  An empty one
 * (pandas' unnamed index column) is the key "". */
static void check_header(lua_State *L, const char *path, int line, int hdr,
                         int n)
{
    int i, j;

    for (i = 2; i <= n; i++) {
        lua_rawgeti(L, hdr, i);
        for (j = 1; j < i; j++) {
            lua_rawgeti(L, hdr, j);
            if (lua_rawequal(L, -1, -2))
                luaL_error(L,
                           "%s:%d: columns %d and %d are both named '%s', "
                           "expected names that differ",
                           path, line, j, i, lua_tostring(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
}

/* hfe.read_csv(path [, opts]): RFC 4180.  opts.header (default true):
 * the first row names the columns and each later row is a table keyed
 * by them; false: each row is a list of strings.  opts.sep: a
 * one-character separator (default ",").  Blank lines are skipped; every
 * row must have as many fields as the first. */
static int l_read_csv(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *p, *end;
    int header = 1, line = 1, ncol = -1, nf, i;
    lua_Integer n = 0;
    char sep = ',';

    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 2)) { /* an unknown option is likely a typo */
            const char *k =
                lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";

            if (strcmp(k, "header") && strcmp(k, "sep"))
                luaL_error(L,
                           "hfe.read_csv: unknown option '%s', expected "
                           "'header' or 'sep'",
                           luaL_tolstring(L, -2, NULL));
            lua_pop(L, 1);
        }
        if (lua_getfield(L, 2, "header") != LUA_TNIL) {
            if (!lua_isboolean(L, -1))
                luaL_error(L,
                           "hfe.read_csv: expected opts.header to be a "
                           "boolean, got a %s",
                           luaL_typename(L, -1));
            header = lua_toboolean(L, -1);
        }
        lua_getfield(L, 2, "sep");
        if (!lua_isnil(L, -1)) {
            size_t l;
            const char *s = lua_tolstring(L, -1, &l);

            if (!s || l != 1 || *s == '"' || *s == '\r' || *s == '\n')
                luaL_error(L, "hfe.read_csv: expected opts.sep to be one "
                              "character other than a quote or a line end");
            sep = *s;
        }
    }
    lua_settop(L, 2);
    p = text_of(L, path, &end); /* 3: the text */
    lua_newtable(L);            /* 4: the rows */
    lua_pushnil(L);             /* 5: the header, once read */
    while (p < end) {
        int at = line;

        if (at_eol(p, end)) {
            p = skip_eol(p, end, &line);
            continue;
        }
        p = push_record(L, path, sep, p, end, &line, &nf); /* 6: fields */
        if (ncol < 0) {
            ncol = nf;
            if (header) {
                check_header(L, path, at, 6, nf);
                lua_replace(L, 5);
                continue;
            }
        } else if (nf != ncol) {
            hfe_lua_data_error(L, 1);
            luaL_error(L, "%s:%d: %d field%s, expected %d (as the %s)", path,
                       at, nf, nf == 1 ? "" : "s", ncol,
                       header ? "header" : "first row");
        }
        if (header) {
            lua_createtable(L, 0, nf);
            for (i = 1; i <= nf; i++) {
                lua_rawgeti(L, 5, i);
                lua_rawgeti(L, 6, i);
                lua_rawset(L, -3);
            }
            lua_replace(L, 6);
        }
        lua_rawseti(L, 4, ++n);
    }
    lua_settop(L, 4);
    return 1;
}

/* ---- HellaSwag ---------------------------------------------------------- */

/* hfe.read_hellaswag(path): llama.cpp's layout, what llama-perplexity
 * --hellaswag reads: six lines a task (the context, the gold ending's
 * index 0-3, the four endings).  One empty line may end the file. */
static int l_read_hellaswag(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer n, i;
    int k;

    lua_settop(L, 1);
    read_list(L, push_line); /* 2: text, 3: lines */
    n = (lua_Integer)lua_rawlen(L, 3);
    if (n > 0 && lua_rawgeti(L, 3, n) == LUA_TSTRING && !lua_rawlen(L, -1))
        n--;
    lua_pop(L, 1);
    if (n % 6)
        return luaL_error(L,
                          "%s:%d: expected six lines a task (context, gold "
                          "ending's index, four endings), the last task has "
                          "%d",
                          path, (int)(n - n % 6) + 1, (int)(n % 6));
    lua_createtable(L, (int)(n / 6), 0); /* 4: the tasks */
    for (i = 0; i < n; i += 6) {
        int lineno = (int)i + 2; /* the label's */
        size_t l;
        const char *s;

        lua_createtable(L, 0, 3);
        lua_rawgeti(L, 3, i + 1);
        lua_setfield(L, -2, "ctx");
        lua_rawgeti(L, 3, i + 2);
        s = lua_tolstring(L, -1, &l);
        while (l && (*s == ' ' || *s == '\t'))
            s++, l--;
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
            l--;
        if ((l != 1 || *s < '0' || *s > '3') && hfe_lua_data_error(L, 1))
            return luaL_error(L,
                              "%s:%d: expected the gold ending's index (0-3), "
                              "got \"%s\"",
                              path, lineno, lua_tostring(L, -1));
        lua_pop(L, 1);
        lua_pushinteger(L, *s - '0');
        lua_setfield(L, -2, "label");
        lua_createtable(L, 4, 0);
        for (k = 1; k <= 4; k++) {
            lua_rawgeti(L, 3, i + 2 + k);
            lua_rawseti(L, -2, k);
        }
        lua_setfield(L, -2, "endings");
        lua_rawseti(L, 4, i / 6 + 1);
    }
    return 1;
}

/* ---- regex -------------------------------------------------------------- */

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
    re =
        pcre2_compile((PCRE2_SPTR)pat, plen,
                      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ecode, &eoff, NULL);
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

/* ---- few-shot ----------------------------------------------------------- */

/* hfe.fewshot(list, n, seed [, skip]): n entries of list, drawn without
 * replacement by a seeded splitmix64 shuffle (the same on every machine
 * and Lua build), never the entry at index skip (1-based). */

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

        j = i + (lua_Integer)(hfe_splitmix64(&state) % (uint64_t)(len - i));
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

/* ---- log ---------------------------------------------------------------- */

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
        {"read_lines", l_read_lines},
        {"read_jsonl", l_read_jsonl},
        {"read_json", l_read_json},
        {"read_text", l_read_text},
        {"read_csv", l_read_csv},
        {"read_hellaswag", l_read_hellaswag},
        {"log", l_log},
        {"fewshot", l_fewshot},
        {NULL, NULL},
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
    hfe_lmeval_open_lib(L);
    lua_setfield(L, -2, "lmeval");
    return 1;
}
