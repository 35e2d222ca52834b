/*
 * cmd_report.c - `hfeval report RUN... [--format md|csv|json]`: the
 * lineage tables of run records (core/results/report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static const char *const formats[] = {[HFE_REPORT_MD] = "md",
                                      [HFE_REPORT_CSV] = "csv",
                                      [HFE_REPORT_JSON] = "json"};

int hfe_cmd_report(int argc, char **argv)
{
    const char **runs = hfe_xcalloc((size_t)argc + 1, sizeof(*runs));
    enum hfe_report_format f = HFE_REPORT_MD;
    struct hfe_buf b = {0};
    struct hfe_err err;
    size_t n = 0;
    int i, rc = 0;

    for (i = 1; i < argc && !rc; i++) {
        if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            const char *v = argv[++i];

            for (f = HFE_REPORT_MD; f <= HFE_REPORT_JSON; f++)
                if (!strcmp(v, formats[f]))
                    break;
            if (f > HFE_REPORT_JSON) {
                fprintf(stderr,
                        "hfeval report: --format is md, csv or json, got "
                        "'%s'\n",
                        v);
                rc = HFE_EXIT_USAGE;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "hfeval report: unknown option '%s'\nusage: hfeval report "
                    "RUN... [--format md|csv|json]\n",
                    argv[i]);
            rc = HFE_EXIT_USAGE;
        } else {
            runs[n++] = argv[i];
        }
    }
    if (!rc && !n) {
        fprintf(stderr, "usage: hfeval report RUN... [--format md|csv|json]\n");
        rc = HFE_EXIT_USAGE;
    }
    if (!rc && (rc = hfe_report(runs, n, f, &b, &err)) != 0)
        fprintf(stderr, "hfeval: %s\n", err.msg);
    else if (!rc)
        fputs(b.s, stdout);
    hfe_buf_free(&b);
    free(runs);
    return rc;
}
