/*
 * cmd_compare.c - `hfeval compare BASELINE CANDIDATE ...`: the CI gate
 * (core/results/compare.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compare.h"

static int usage(const char *msg, const char *arg)
{
    return hfe_cli_misuse(
        "compare",
        "BASELINE CANDIDATE [--baseline-model NAME] "
        "[--candidate-model NAME] [--max-drop METRIC=VALUE "
        "...] [--max-kld X] [--alpha A] [--format tap|md|junit]",
        msg, arg);
}

/* An option with its value v. */
static int set_opt(struct hfe_compare_opts *o, struct hfe_tol *tol,
                   const char *a, char *v)
{
    char *end, *eq;

    if (!strcmp(a, "--baseline-model") || !strcmp(a, "--candidate-model")) {
        o->models[a[2] == 'c'] = v;
    } else if (!strcmp(a, "--max-drop")) {
        eq = strchr(v, '=');
        if (!eq || eq == v)
            return usage("--max-drop needs METRIC=VALUE, got '%s'", v);
        tol[o->n_tol].drop = strtod(eq + 1, &end);
        if (*end || end == eq + 1)
            return usage("--max-drop needs METRIC=VALUE, got '%s'", v);
        *eq = '\0';
        tol[o->n_tol++].metric = v;
    } else if (!strcmp(a, "--max-kld")) {
        o->max_kld = strtod(v, &end);
        if (*end || o->max_kld < 0)
            return usage("--max-kld needs a number, got '%s'", v);
    } else if (!strcmp(a, "--alpha")) {
        o->alpha = strtod(v, &end);
        if (*end || o->alpha <= 0 || o->alpha >= 1)
            return usage("--alpha needs a level between 0 and 1, got '%s'", v);
    } else if (!strcmp(a, "--format")) {
        if (!strcmp(v, "tap"))
            o->format = HFE_CMP_TAP;
        else if (!strcmp(v, "md"))
            o->format = HFE_CMP_MD;
        else if (!strcmp(v, "junit"))
            o->format = HFE_CMP_JUNIT;
        else
            return usage("--format is tap, md or junit, got '%s'", v);
    } else {
        return -1; /* not an option with a value */
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct hfe_compare_opts *o,
                      struct hfe_tol *tol)
{
    int i, na = 0, rc;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (i + 1 < argc && (rc = set_opt(o, tol, a, argv[i + 1])) >= 0) {
            if (rc)
                return rc;
            i++;
        } else if (a[0] == '-') {
            return usage("unknown option '%s' (or it needs a value)", a);
        } else if (na < 2) {
            o->runs[na++] = a;
        } else {
            return usage("one baseline and one candidate, got a third: '%s'",
                         a);
        }
    }
    if (na != 2)
        return usage("%s", "name a BASELINE and a CANDIDATE run");
    return 0;
}

int hfe_cmd_compare(int argc, char **argv)
{
    struct hfe_tol *tol = hfe_xcalloc((size_t)argc + 1, sizeof(*tol));
    struct hfe_compare_opts o = {.tol = tol, .max_kld = -1};
    struct hfe_buf out = {0};
    struct hfe_err err;
    size_t n = 0;
    int rc;

    if ((rc = parse_args(argc, argv, &o, tol)) == 0) {
        rc = hfe_compare(&o, &out, &n, &err);
        if (rc && rc != HFE_EXIT_FAIL) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
        } else {
            fputs(out.s, stdout);
            if (!n)
                fprintf(stderr, "hfeval compare: no metric in common\n");
        }
    }
    free(tol);
    hfe_buf_free(&out);
    return rc;
}
