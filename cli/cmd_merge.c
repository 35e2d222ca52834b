/*
 * cmd_merge.c - `hfeval merge --out DIR RUN...`: shard runs joined into
 * one (core/results/merge.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "merge.h"

int hfe_cmd_merge(int argc, char **argv)
{
    const char **runs = hfe_xcalloc((size_t)argc + 1, sizeof(*runs));
    const char *out_dir = NULL;
    size_t n = 0;
    int a, rc;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--out") && a + 1 < argc)
            out_dir = argv[++a];
        else
            runs[n++] = argv[a];
    }
    if (!n || !out_dir) {
        fprintf(stderr, "usage: hfeval merge --out DIR RUN...\n");
        rc = HFE_EXIT_USAGE;
    } else {
        rc = hfe_merge(out_dir, runs, n);
    }
    free(runs);
    return rc;
}
