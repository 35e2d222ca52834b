/*
 * test_lua.c - the suite runtime (core/lua_rt.c, core/lua_hfe.c): the
 * sandbox, limits, error messages with file and line, and the hfe
 * library's readers (lines, JSONL, CSV, HellaSwag), JSON and regex.  Writes its
 * suites and data into a scratch directory.  TAP on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <zlib.h>

#include "lua_rt.h"
#include "tap.h"

static char dir[] = "/tmp/hfeval-lua-XXXXXX";

static char *put(const char *name, const char *text)
{
    char *path = hfe_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");

    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads a suite made of text; returns the state or NULL with err set. */
static struct hfe_lua *load(const char *name, const char *text,
                            const struct hfe_lua_opts *o, struct hfe_err *err)
{
    struct hfe_lua *s = NULL;
    char *path = put(name, text);

    err->msg[0] = '\0';
    hfe_lua_open(path, o, &s, err);
    free(path);
    return s;
}

static void refused(const char *name, const char *text, const char *want,
                    const char *what)
{
    struct hfe_err err;
    struct hfe_lua *s = load(name, text, NULL, &err);

    ok(s == NULL, "%s: refused", what);
    like(err.msg, want, "%s: says so", what);
    hfe_lua_close(s);
}

/* Runs `return <expr>` against a loaded suite's state; returns the result
 * as a string (tostring) or the error. */
static char *eval(struct hfe_lua *s, const char *expr, int *failed)
{
    lua_State *L = hfe_lua_state(s);
    char *code = hfe_xasprintf("return %s", expr);
    struct hfe_err err;
    char *out;

    if (luaL_loadbufferx(L, code, strlen(code), "=eval", "t") != LUA_OK) {
        out = hfe_xstrdup(lua_tostring(L, -1));
        lua_pop(L, 1);
        *failed = 1;
    } else if (hfe_lua_call(s, 0, 1, &err) != 0) {
        out = hfe_xstrdup(err.msg);
        *failed = 1;
    } else {
        out = hfe_xstrdup(luaL_tolstring(L, -1, NULL));
        lua_pop(L, 2);
        *failed = 0;
    }
    free(code);
    return out;
}

static void expect(struct hfe_lua *s, const char *expr, const char *want,
                   const char *what)
{
    int failed;
    char *got = eval(s, expr, &failed);

    ok(!failed, "%s: runs (%s)", what, failed ? got : "ok");
    is_str(got, want, "%s", what);
    free(got);
}

static void expect_error(struct hfe_lua *s, const char *expr, const char *want,
                         const char *what)
{
    int failed;
    char *got = eval(s, expr, &failed);

    ok(failed, "%s: fails", what);
    like(got, want, "%s: with the reason", what);
    free(got);
}

int main(void)
{
    static const char *const keys[] = {"data", "n"};
    const char *values[2];
    struct hfe_lua_opts o = {0};
    struct hfe_err err;
    struct hfe_lua *s;
    char *other, *elsewhere;
    gzFile gz;

    if (!mkdtemp(dir))
        return 2;
    /* a data file outside the suite's directory, opened by --set */
    other = hfe_xasprintf("%s-other.jsonl", dir);
    {
        FILE *f = fopen(other, "w");

        fputs("{\"q\": \"outside\"}\n", f);
        fclose(f);
    }
    values[0] = other;
    values[1] = "3";
    o.set_keys = keys;
    o.set_values = values;
    o.n_set = 2;
    o.mem_limit = 64 << 20;
    o.time_limit = 1;

    /* data beside the suite */
    free(put("data.jsonl", "{\"id\": \"a\", \"x\": 1}\n\n{\"id\": \"b\", "
                           "\"x\": [1, 2, null]}\r\n"));
    free(put("bad.jsonl", "{\"id\": 1}\n{\"id\": 2}\nnot json\n"));
    free(put("arr.jsonl", "{\"id\": 1}\n[1, 2]\n"));
    /* CSV: a BOM, CRLF, "" escapes, a newline inside quotes, a blank
     * line; the bad ones fail on the file line where the record starts */
    free(put("good.csv", "\xef\xbb\xbf"
                         "id,question,answer\r\n"
                         "1,\"He said \"\"hi\"\"\",yes\r\n"
                         "2,\"line one\r\nline two\",no\r\n"
                         "\r\n"
                         "3,plain,\"a,b\"\r\n"));
    free(put("semi.csv", "a;b\n\"x;y\";2\n"));
    free(put("tabs.tsv", "q\ta\nfoo\tbar"));
    free(put("count.csv", "a,b,c,d\n1,\"two\nlines\",3,4\n\n5,6,7\n"));
    free(put("open.csv", "a,b\n1,2\n3,\"open\nmore\n"));
    free(put("junk.csv", "a,b\n1,2\n\"x\"y,2\n"));
    free(put("ragged.csv", "1,2\n3\n"));
    free(put("dup.csv", "a,b,a\n1,2,3\n"));
    /* llama.cpp's HellaSwag layout; one empty line may end it */
    free(put("hs.txt", "ctx one\n2\nA\nB\nC\nD\nctx two\n0\nE\nF\nG\nH\n\n"));
    free(put("hs-short.txt", "c\n1\na\nb\nc\nd\nc2\n"));
    free(put("hs-label.txt", "c\n1\na\nb\nc\nd\nc2\n4\na\nb\nc\nd\n"));
    elsewhere = hfe_xasprintf("%s/data.jsonl.gz", dir);
    gz = gzopen(elsewhere, "wb");
    gzputs(gz, "{\"z\": true}\n{\"z\": false}\n");
    gzclose(gz);
    free(elsewhere);

    s = load("good.lua",
             "local data = hfe.read_jsonl(hfe.set.data)\n"
             "return { name = 'good', n = tonumber(hfe.set.n),\n"
             "  first = data[1].q,\n"
             "  prompt = function(doc) return doc.q .. nil end }\n",
             &o, &err);
    ok(s != NULL, "a good suite loads (%s)", s ? "ok" : err.msg);
    if (s) {
        lua_State *L = hfe_lua_state(s);

        hfe_lua_push_suite(s);
        lua_getfield(L, -1, "name");
        is_str(lua_tostring(L, -1), "good", "its table is kept");
        lua_getfield(L, -2, "first");
        is_str(lua_tostring(L, -1), "outside",
               "a file named with --set is readable");
        lua_pop(L, 2);
        /* a runtime error in a suite function: file, line, traceback */
        lua_getfield(L, -1, "prompt");
        lua_newtable(L);
        lua_pushstring(L, "q");
        lua_setfield(L, -2, "q");
        ok(hfe_lua_call(s, 1, 1, &err) != 0, "an error in a prompt function");
        like(err.msg, "good.lua:4: attempt to concatenate a nil value",
             "names the suite's file and line");
        like(err.msg, "stack traceback:", "with a traceback");
        lua_pop(L, 1);

        expect(s,
               "#hfe.read_jsonl('"
               "data.jsonl"
               "')",
               "2", "read_jsonl skips blank lines, takes CRLF");
        expect(s, "hfe.read_jsonl('data.jsonl')[2].x[3] == hfe.json.null",
               "true", "JSON null is hfe.json.null");
        expect(s, "#hfe.read_jsonl('data.jsonl.gz')", "2", "gzip is read");
        expect(s, "#hfe.read_lines('data.jsonl')", "3", "read_lines");
        expect(s, "hfe.read_text('data.jsonl.gz')",
               "{\"z\": true}\n{\"z\": false}\n",
               "read_text: the whole file, decompressed");
        expect_error(s, "hfe.read_jsonl('bad.jsonl')",
                     "bad.jsonl:3: expected a JSON object, invalid JSON",
                     "a bad data line");
        expect_error(s, "hfe.read_jsonl('arr.jsonl')",
                     "arr.jsonl:2: expected a JSON object, got an array",
                     "a data line that is not an object");
        expect_error(s, "hfe.read_lines('/etc/passwd')",
                     "/etc/passwd: outside the suite's directory",
                     "files elsewhere are refused");
        expect_error(s, "hfe.read_lines('../x')", "outside the suite",
                     "and so are missing ones");
        expect(s, "#hfe.read_csv('good.csv')", "3",
               "read_csv: a row a record, the blank line skipped");
        expect(s, "hfe.read_csv('good.csv')[1].id", "1",
               "read_csv: keyed by the header, past the BOM");
        expect(s, "hfe.read_csv('good.csv')[1].question", "He said \"hi\"",
               "read_csv: \"\" in a quoted field");
        expect(s, "hfe.read_csv('good.csv')[2].question", "line one\nline two",
               "read_csv: a newline inside quotes (CRLF as LF)");
        expect(s, "hfe.read_csv('good.csv')[3].answer", "a,b",
               "read_csv: a separator inside quotes, CRLF at the end");
        expect(s,
               "(function() local r = hfe.read_csv('semi.csv', {header = "
               "false, sep = ';'}) return #r .. ' ' .. r[1][2] .. ' ' .. "
               "r[2][1] end)()",
               "2 b x;y", "read_csv: header=false and sep=';'");
        expect(s, "hfe.read_csv('tabs.tsv', {sep = '\\t'})[1].a", "bar",
               "read_csv: sep='\\t', no newline at the end");
        /* as the other readers: the caller's line, then the file's */
        expect_error(s, "hfe.read_csv('count.csv')",
                     "eval:1: count.csv:5: 3 fields, expected 4 (as the "
                     "header)\n",
                     "read_csv: a short record, after a quoted newline and a "
                     "blank line");
        expect_error(s, "hfe.read_csv('open.csv')",
                     "open.csv:3: unterminated quoted field",
                     "read_csv: an unterminated quote");
        expect_error(s, "hfe.read_csv('junk.csv')",
                     "junk.csv:3: field 1: expected ',' or a line end after "
                     "a closing '\"', got 'y'",
                     "read_csv: text after a closing quote");
        expect_error(s, "hfe.read_csv('ragged.csv', {header = false})",
                     "ragged.csv:2: 1 field, expected 2 (as the first row)",
                     "read_csv: header=false, a ragged row");
        expect_error(s, "hfe.read_csv('dup.csv')",
                     "dup.csv:1: columns 1 and 3 are both named 'a'",
                     "read_csv: a name twice in the header");
        expect_error(s, "hfe.read_csv('semi.csv', {sep = ';;'})",
                     "expected opts.sep to be one character",
                     "read_csv: a long separator");
        expect_error(s, "hfe.read_csv('semi.csv', {seperator = ';'})",
                     "unknown option 'seperator'",
                     "read_csv: a misspelt option");
        expect_error(s, "hfe.read_csv('/etc/passwd')",
                     "/etc/passwd: outside the suite's directory",
                     "read_csv: files elsewhere are refused");
        expect(s,
               "(function() local t = hfe.read_hellaswag('hs.txt') return #t "
               ".. ' ' .. t[1].ctx .. ' ' .. math.type(t[1].label) .. ' ' .. "
               "t[1].label .. ' ' .. table.concat(t[2].endings, '|') .. ' ' "
               ".. t[2].label end)()",
               "2 ctx one integer 2 E|F|G|H 0",
               "read_hellaswag: tasks, a trailing empty line");
        expect_error(s, "hfe.read_hellaswag('hs-short.txt')",
                     "hs-short.txt:7: expected six lines a task",
                     "read_hellaswag: a task cut short");
        expect_error(s, "hfe.read_hellaswag('hs-label.txt')",
                     "hs-label.txt:8: expected the gold ending's index (0-3), "
                     "got \"4\"",
                     "read_hellaswag: a bad label");
        expect(s, "hfe.json.encode(hfe.json.decode('{\"a\":[1,2.5,\"x\"]}'))",
               "{\"a\":[1,2.5,\"x\"]}", "JSON round trip");
        expect_error(s, "hfe.json.decode('{\"a\":')", "invalid JSON at byte",
                     "invalid JSON");
        expect(s, "hfe.regex.match('The answer is 42.', '(\\\\d+)')", "42",
               "regex captures");
        expect(s, "hfe.regex.match('#### 1,234', '#### ([0-9,]+)')", "1,234",
               "a GSM8K-style answer");
        expect(s, "hfe.regex.match('abc', 'x')", "nil", "no match is nil");
        expect_error(s,
                     "hfe.regex.match('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', "
                     "'(a+)+$')",
                     "match limit", "catastrophic backtracking is stopped");
        expect_error(s, "hfe.regex.match('a', '(')",
                     "hfe.regex: ", "a bad pattern");
        expect(s, "#hfe.fewshot({1, 2, 3, 4, 5}, 3, 7, 2)", "3",
               "fewshot draws n entries");
        expect(s,
               "(function() for _, v in ipairs(hfe.fewshot({1, 2, 3, 4, 5}, "
               "4, 7, 2)) do if v == 2 then return 'drew it' end end return "
               "'never' end)()",
               "never", "fewshot never draws the skipped entry");
        expect(s,
               "table.concat(hfe.fewshot({1, 2, 3, 4, 5, 6}, 3, 42), ',') == "
               "table.concat(hfe.fewshot({1, 2, 3, 4, 5, 6}, 3, 42), ',')",
               "true", "fewshot is the same for the same seed");
        expect_error(s, "hfe.fewshot({1, 2}, 2, 1, 1)",
                     "2 examples asked, 1 to draw from",
                     "fewshot with too few entries");
        expect_error(s, "os.execute('true')", "the sandbox forbids 'os'",
                     "os is forbidden");
        expect_error(s, "io.open('/etc/passwd')", "the sandbox forbids 'io'",
                     "io is forbidden");
        expect_error(s, "require('x')", "the sandbox forbids 'require'",
                     "require is forbidden");
        expect_error(s, "load('return 1')", "the sandbox forbids 'load'",
                     "load is forbidden");
        expect(s, "string.dump", "nil", "string.dump is gone");
        expect_error(s, "string.rep('x', 1 << 28)", "not enough memory",
                     "the memory cap holds");
        expect(s, "#string.rep('x', 1000)", "1000",
               "and the state lives on after it");
        expect_error(s, "(function() while true do end end)()",
                     "past its time limit", "an endless loop is stopped");
        hfe_lua_close(s);
    }

    refused("syntax.lua", "return {\n  name = 'x'\n  tasks = {}\n}\n",
            "syntax.lua:3: '}' expected", "a syntax error");
    refused("notable.lua", "return 42\n",
            "must return a table, it returned "
            "number",
            "a suite that returns no table");
    refused("throws.lua", "local x = nil\nreturn x.y\n",
            "throws.lua:2: attempt to index a nil value", "an error at load");
    refused("osexec.lua", "os.execute('touch /tmp/pwned')\nreturn {}\n",
            "osexec.lua:1: the sandbox forbids 'os'", "os.execute at load");
    refused("binary.lua", "\x1bLua\x54\x00junk", "binary chunk",
            "a bytecode file");

    remove(other);
    free(other);
    {
        char *cmd = hfe_xasprintf("rm -rf '%s'", dir);

        if (system(cmd) != 0)
            printf("# could not remove %s\n", dir);
        free(cmd);
    }
    return tap_done();
}
