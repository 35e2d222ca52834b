/*
 * fuzz_journal.c - libFuzzer target for the journal reader
 * (core/journal.c): the bytes are RUN_DIR/journal.jsonl, read to resume.
 *
 *   tests/fuzz/run.sh journal [SECONDS]
 *
 * Every input resumes, or fails with a message naming the file and line;
 * what it read back is looked up without a crash.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[64], path[96];
    struct hfe_journal *j = NULL;
    struct hfe_err err;
    struct hfe_result r;
    char **argv = NULL;
    int argc = 0, rc;
    FILE *f;

    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/hfeval-fuzz-journal-%d", getpid());
        mkdir(dir, 0700);
        snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
        hfe_log_level = -1; /* the torn-line warning, a million times */
    }
    if (!(f = fopen(path, "wb")) || fwrite(data, 1, size, f) != size ||
        fclose(f) != 0)
        abort();
    err.msg[0] = '\0';
    rc = hfe_journal_argv(dir, &argc, &argv, &err);
    if (rc != 0 && strncmp(err.msg, path, strlen(path)) != 0)
        abort();
    hfe_journal_argv_free(argc, argv);
    err.msg[0] = '\0';
    rc = hfe_journal_open(dir, 0, NULL, 1, &j, &err);
    if (rc != 0) {
        if (j || strncmp(err.msg, path, strlen(path)) != 0)
            abort(); /* an error names the file */
        return 0;
    }
    memset(&r, 0, sizeof(r));
    if (hfe_journal_get(j, "a", "s", "t", 0, "00000000000000000000000000000000",
                        &r)) {
        free(r.text);
        free(r.token_logprobs);
    }
    hfe_journal_close(j);
    return 0;
}
