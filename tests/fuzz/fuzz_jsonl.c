/*
 * fuzz_jsonl.c - libFuzzer target for the suites' JSONL reader
 * (hfe.read_jsonl in core/lua_hfe.c, through the Lua runtime): the bytes
 * are a data file a suite reads.  The first byte's low bit turns
 * --skip-bad-lines on.
 *
 *   tests/fuzz/run.sh jsonl [SECONDS]
 *
 * Every input loads, or fails with a message naming the data file and
 * its line, with exit status 6 (the data's), never 5.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lua_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[64], suite[96], file[96];
    struct hfe_lua_opts o;
    struct hfe_lua *s = NULL;
    struct hfe_err err;
    FILE *f;
    int rc;

    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/hfeval-fuzz-jsonl-%d", getpid());
        mkdir(dir, 0700);
        snprintf(suite, sizeof(suite), "%s/s.lua", dir);
        snprintf(file, sizeof(file), "%s/d.jsonl", dir);
        if (!(f = fopen(suite, "w")))
            abort();
        /* every value read is walked, so that what the reader built is
         * used */
        fputs("local n = 0\n"
              "local function walk(v, d)\n"
              "  if type(v) == 'table' and d < 64 then\n"
              "    for k, x in pairs(v) do n = n + 1; walk(x, d + 1) end\n"
              "  end\n"
              "end\n"
              "walk(hfe.read_jsonl('d.jsonl'), 0)\n"
              "return { name = 's', tasks = {} }\n",
              f);
        fclose(f);
        hfe_log_level = -1;
    }
    if (!size)
        return 0;
    if (!(f = fopen(file, "wb")) ||
        fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0)
        abort();
    memset(&o, 0, sizeof(o));
    o.skip_bad_lines = data[0] & 1;
    o.time_limit = 10;
    err.msg[0] = '\0';
    rc = hfe_lua_open(suite, &o, &s, &err);
    if (rc == 0) {
        hfe_lua_close(s);
    } else if (rc != HFE_EXIT_DATA && !strstr(err.msg, "not enough memory")) {
        abort(); /* a data file is only ever the data's fault */
    } else if (rc == HFE_EXIT_DATA && !strstr(err.msg, "d.jsonl:")) {
        abort(); /* and it is named, with its line */
    }
    return 0;
}
