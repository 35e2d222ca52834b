/*
 * cmd_report.c - `hfeval report RUN...`: the decision table of run
 * records (core/results/decide.h), or with --long every metric's row
 * (core/results/report.h); and `hfeval pick RUN...`: the member of each
 * lineage that fits the constraints, and why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "decide.h"
#include "html.h"
#include "report.h"

#define PICK_USAGE                                                             \
    "[--min-recovery R] [--class any|open-weights|open-source]\n"              \
    "       [--max-memory MIB] [--max-size MIB] [--min-decode TOK/S]\n"        \
    "       [--by size|decode|quality] [--metric TASK=METRIC ...]"

static const char usage_report[] =
    "usage: hfeval report RUN... [--format text|md|csv|json|html] "
    "[-o FILE]\n       [--width N] [--long] [--title TEXT] [--db PATH]\n"
    "       " PICK_USAGE "\n";
static const char usage_pick[] =
    "usage: hfeval pick RUN... [--format text|json] " PICK_USAGE "\n";

static int one_of(const char *v, const char *const *names, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (names[i] && !strcmp(v, names[i]))
            return i;
    return -1;
}

/* A positive number, or -1. */
static double positive(const char *v)
{
    char *end;
    double x = strtod(v, &end);

    return *v && !*end && x >= 0 ? x : -1;
}

/* The options both commands take: 1 when argv[*i] was one, 0 when it was
 * not, -1 (a message printed) when its value is wrong. */
static int pick_option(const char *cmd, int argc, char **argv, int *i,
                       struct hfe_decide_opts *o, struct hfe_metric_sel *ms)
{
    static const char *const classes[] = {"any", "open-weights", "open-source"},
                             *const by[] = {"size", "decode", "quality"};
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    double x = v ? positive(v) : -1;
    int k;

    if (!v || (strcmp(a, "--min-recovery") && strcmp(a, "--class") &&
               strcmp(a, "--max-memory") && strcmp(a, "--max-size") &&
               strcmp(a, "--min-decode") && strcmp(a, "--by") &&
               strcmp(a, "--metric")))
        return 0;
    ++*i;
    if (!strcmp(a, "--class")) {
        if ((k = one_of(v, classes, 3)) < 0)
            goto bad;
        o->pick.min_class = k;
    } else if (!strcmp(a, "--by")) {
        if ((k = one_of(v, by, 3)) < 0)
            goto bad;
        o->pick.by = (enum hfe_pick_by)k;
    } else if (!strcmp(a, "--metric")) {
        const char *eq = strchr(v, '=');

        if (!eq || eq == v || !eq[1])
            goto bad;
        ms[o->n_metrics].task = hfe_xstrndup(v, (size_t)(eq - v));
        ms[o->n_metrics++].metric = eq + 1;
    } else if (x < 0 || (!strcmp(a, "--min-recovery") && x > 10)) {
        goto bad;
    } else if (!strcmp(a, "--min-recovery")) {
        o->pick.min_recovery = x;
    } else if (!strcmp(a, "--max-memory")) {
        o->pick.max_memory_mib = x;
    } else if (!strcmp(a, "--max-size")) {
        o->pick.max_size_mib = x;
    } else {
        o->pick.min_decode_tok_s = x;
    }
    return 1;
bad:
    fprintf(stderr,
            "hfeval %s: %s: '%s' is not one of its values (--class any, "
            "open-weights or open-source; --by size, decode or quality; "
            "--metric TASK=METRIC; --min-recovery a share such as 0.98; a "
            "budget a number)\n",
            cmd, a, v);
    return -1;
}

static int report_or_pick(int argc, char **argv, int is_pick)
{
    static const char *const fmts[] = {[HFE_DECIDE_TEXT] = "text",
                                       [HFE_DECIDE_MD] = "md",
                                       [HFE_DECIDE_CSV] = "csv",
                                       [HFE_DECIDE_JSON] = "json",
                                       [HFE_DECIDE_JSON + 1] = "html"};
    const int html = HFE_DECIDE_JSON + 1;
    const char **runs = hfe_xcalloc((size_t)argc + 1, sizeof(*runs));
    struct hfe_metric_sel *ms = hfe_xcalloc((size_t)argc + 1, sizeof(*ms));
    struct hfe_decide_opts o = {.pick = HFE_PICK_DEFAULT, .metrics = ms};
    const char *cmd = is_pick ? "pick" : "report",
               *usage = is_pick ? usage_pick : usage_report, *to = NULL,
               *title = NULL, *db = NULL;
    struct hfe_buf b = {0};
    struct hfe_err err;
    size_t n = 0, k;
    int i, rc = 0, f = -1, lng = 0, got;

    for (i = 1; i < argc && !rc; i++) {
        if ((got = pick_option(cmd, argc, argv, &i, &o, ms)) != 0) {
            rc = got < 0 ? HFE_EXIT_USAGE : 0;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            if ((f = one_of(argv[++i], fmts, 5)) < 0 ||
                (is_pick && f != HFE_DECIDE_TEXT && f != HFE_DECIDE_JSON)) {
                fprintf(stderr, "hfeval %s: --format is %s, got '%s'\n", cmd,
                        is_pick ? "text or json"
                                : "text, md, csv, json or html",
                        argv[i]);
                rc = HFE_EXIT_USAGE;
            }
        } else if (!is_pick &&
                   (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) &&
                   i + 1 < argc) {
            to = argv[++i];
        } else if (!is_pick && !strcmp(argv[i], "--title") && i + 1 < argc) {
            title = argv[++i];
        } else if (!is_pick && !strcmp(argv[i], "--db") && i + 1 < argc) {
            db = argv[++i];
        } else if (!is_pick && !strcmp(argv[i], "--width") && i + 1 < argc) {
            if ((o.width = atoi(argv[++i])) < 20) {
                fprintf(stderr, "hfeval report: --width is at least 20\n");
                rc = HFE_EXIT_USAGE;
            }
        } else if (!is_pick && !strcmp(argv[i], "--long")) {
            lng = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "hfeval %s: unknown option '%s' (or it needs a "
                    "value)\n%s",
                    cmd, argv[i], usage);
            rc = HFE_EXIT_USAGE;
        } else {
            runs[n++] = argv[i];
        }
    }
    if (!rc && !n) {
        fputs(usage, stderr);
        rc = HFE_EXIT_USAGE;
    }
    if (!rc && lng && f == HFE_DECIDE_TEXT) {
        fprintf(stderr, "hfeval report: --long is md, csv or json\n");
        rc = HFE_EXIT_USAGE;
    }
    if (!rc && f == html && lng) {
        fprintf(stderr, "hfeval report: --long is md, csv or json\n");
        rc = HFE_EXIT_USAGE;
    }
    if (!rc && f != html && (title || db)) {
        fprintf(stderr, "hfeval report: --title and --db are the html "
                        "format's\n");
        rc = HFE_EXIT_USAGE;
    }
    if (!rc && f == html && !to) {
        fprintf(stderr, "hfeval report: the html format is written to a "
                        "file: -o FILE\n");
        rc = HFE_EXIT_USAGE;
    }
    /* on a terminal, the aligned table; to a pipe or a file, Markdown */
    o.format = f >= 0 && f != html             ? (enum hfe_decide_format)f
               : is_pick || (isatty(1) && !to) ? HFE_DECIDE_TEXT
                                               : HFE_DECIDE_MD;
    if (!rc && f == html) {
        struct hfe_html_opts ho = {&o, title, db};

        rc = hfe_html(runs, n, &ho, &b, &err);
    } else if (!rc && lng)
        rc = hfe_report(runs, n,
                        o.format == HFE_DECIDE_CSV    ? HFE_REPORT_CSV
                        : o.format == HFE_DECIDE_JSON ? HFE_REPORT_JSON
                                                      : HFE_REPORT_MD,
                        &b, &err);
    else if (!rc)
        rc = is_pick ? hfe_pick(runs, n, &o, &b, &err)
                     : hfe_decide(runs, n, &o, &b, &err);
    if (rc && rc != HFE_EXIT_FAIL && rc != HFE_EXIT_USAGE)
        fprintf(stderr, "hfeval: %s\n", err.msg);
    else if (rc == HFE_EXIT_USAGE && b.s && !b.len)
        fprintf(stderr, "hfeval %s: %s\n", cmd, err.msg);
    if (b.s && (!rc || rc == HFE_EXIT_FAIL) && to) {
        if (hfe_write_file(to, b.s, b.len) != 0) {
            fprintf(stderr, "hfeval %s: %s: cannot write it: %s\n", cmd, to,
                    strerror(errno));
            rc = HFE_EXIT_IO;
        } else if (f == html) {
            fprintf(stderr, "hfeval: the report in %s\n", to);
        }
    } else if (b.s && (!rc || rc == HFE_EXIT_FAIL)) {
        fputs(b.s, stdout);
    }
    hfe_buf_free(&b);
    for (k = 0; k < o.n_metrics; k++)
        free((char *)ms[k].task);
    free(ms);
    free(runs);
    return rc;
}

int hfe_cmd_report(int argc, char **argv)
{
    return report_or_pick(argc, argv, 0);
}

int hfe_cmd_pick(int argc, char **argv)
{
    return report_or_pick(argc, argv, 1);
}
