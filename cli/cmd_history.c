/*
 * cmd_history.c - `hfeval history [--db PATH] [--model M] [--lineage M]
 * [--metric METRIC]`: a metric of a model over time, from the history
 * database (core/results/history.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "history.h"

int hfe_cmd_history(int argc, char **argv)
{
    struct hfe_history_query q = {0};
    struct hfe_buf out = {0};
    struct hfe_err err;
    size_t rows;
    int i, rc;

    for (i = 1; i < argc; i++) {
        const char **slot = NULL;

        if (!strcmp(argv[i], "--db"))
            slot = &q.db;
        else if (!strcmp(argv[i], "--model"))
            slot = &q.model;
        else if (!strcmp(argv[i], "--lineage"))
            slot = &q.lineage;
        else if (!strcmp(argv[i], "--metric"))
            slot = &q.metric;
        if (!slot || i + 1 == argc) {
            fprintf(stderr,
                    "hfeval history: unknown option or missing value: '%s'\n"
                    "usage: hfeval history [--db PATH] [--model NAME] "
                    "[--lineage NAME] [--metric METRIC]\n",
                    argv[i]);
            return HFE_EXIT_USAGE;
        }
        *slot = argv[++i];
    }
    if ((rc = hfe_history_query(&q, &out, &rows, &err)) == 0)
        fputs(out.s, stdout);
    else
        fprintf(stderr, "hfeval: %s\n", err.msg);
    hfe_buf_free(&out);
    return rc;
}
