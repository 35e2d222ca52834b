/*
 * fuzz_gguf.c - libFuzzer target for the GGUF metadata reader
 * (core/gguf_meta.c over ggml's gguf.h): the bytes are a file.
 *
 *   tests/fuzz/run.sh gguf [SECONDS]
 *
 * Every input opens, or fails with a message naming the file; an opened
 * file renders every key as JSON, arrays included.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ggml.h>

#include "gguf_meta.h"

static void quiet(enum ggml_log_level level, const char *text, void *ud)
{
    (void)level, (void)text, (void)ud;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    struct hfe_gguf *g = NULL;
    struct hfe_err err;
    int64_t i;

    if (fd < 0) { /* one memory file, rewritten for each input */
        fd = memfd_create("fuzz.gguf", 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ggml_log_set(quiet, NULL);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    err.msg[0] = '\0';
    if (hfe_gguf_open(path, size & 1, &g, &err) != 0) {
        if (g || strncmp(err.msg, path, strlen(path)) != 0)
            abort(); /* an error names the file */
        return 0;
    }
    for (i = 0; i < g->n_kv; i++) {
        struct hfe_buf b = {0};
        char type[64];

        if (!hfe_gguf_key(g, i))
            abort();
        hfe_gguf_type(g, i, type, sizeof(type));
        hfe_gguf_value_json(g, i, 64, &b);
        hfe_buf_free(&b);
    }
    hfe_gguf_str(g, "general.name");
    hfe_gguf_int(g, "general.file_type", -1);
    hfe_gguf_close(g);
    return 0;
}
