/*
 * report.c - lineage tables from run records.  See report.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "compare.h"
#include "gguf_meta.h"
#include "hfeval.h"
#include "report.h"

struct model {
    char *name, *base, *quant, *klass;
    const char *run;           /* the run it was read from, for its samples */
    struct hfe_cmp_side *side; /* opened when a test needs it */
    int side_tried;
    double params, bytes;
    int root; /* index of its lineage's root */
};

struct row {
    int model;
    char *key; /* "suite/task\tmetric" */
    char *suite, *task, *metric;
    double value, se;
    int has_se;
    double n;
};

struct rep {
    struct model *m;
    size_t n_m;
    struct row *r;
    size_t n_r;
};

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int find_model(const struct rep *r, const char *name)
{
    size_t i;

    for (i = 0; name && i < r->n_m; i++)
        if (!strcmp(r->m[i].name, name))
            return (int)i;
    return -1;
}

static int load(struct rep *r, const char *arg, struct hfe_err *err)
{
    size_t len = strlen(arg);
    char *path = len > 9 && !strcmp(arg + len - 9, "/run.json")
                     ? hfe_xstrdup(arg)
                     : hfe_xasprintf("%s/run.json", arg);
    char *text;
    cJSON *run, *e;

    if (hfe_read_file(path, &text, &len, err) != 0) {
        free(path);
        return HFE_EXIT_IO;
    }
    run = cJSON_Parse(text);
    free(text);
    if (!run || !str(run, "schema") ||
        strcmp(str(run, "schema"), "hfeval.run/1")) {
        hfe_err_set(err, "%s: expected a run record (schema hfeval.run/1)",
                    path);
        cJSON_Delete(run);
        free(path);
        return HFE_EXIT_DATA;
    }
    free(path);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(run, "models"))
    {
        const cJSON *info = cJSON_GetObjectItem(e, "info"),
                    *file = cJSON_GetObjectItem(e, "file");
        int k;

        if (!str(e, "name"))
            continue;
        if ((k = find_model(r, str(e, "name"))) < 0) {
            r->m = hfe_xrealloc(r->m, (r->n_m + 1) * sizeof(*r->m));
            k = (int)r->n_m++;
            memset(&r->m[k], 0, sizeof(r->m[k]));
            r->m[k].name = hfe_xstrdup(str(e, "name"));
        }
        free(r->m[k].base);
        free(r->m[k].quant);
        r->m[k].base = str(e, "base") ? hfe_xstrdup(str(e, "base")) : NULL;
        r->m[k].quant = str(info, "quantization")
                            ? hfe_xstrdup(str(info, "quantization"))
                            : NULL;
        r->m[k].params = num(info, "n_params");
        r->m[k].run = arg;
        r->m[k].bytes = num(file, "bytes");
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(run, "results"))
    {
        const char *mo = str(e, "model"), *su = str(e, "suite"),
                   *ta = str(e, "task"), *me = str(e, "metric");
        char *key;
        int k = find_model(r, mo);
        size_t i;

        if (k < 0 || !su || !ta || !me ||
            !cJSON_IsNumber(cJSON_GetObjectItem(e, "value")))
            continue;
        if (!strncmp(me, "class=", 6)) {
            free(r->m[k].klass);
            r->m[k].klass = hfe_xstrdup(me + 6);
            continue;
        }
        key = hfe_xasprintf("%s/%s\t%s", su, ta, me);
        for (i = 0; i < r->n_r; i++)
            if (r->r[i].model == k && !strcmp(r->r[i].key, key))
                break;
        if (i == r->n_r) {
            r->r = hfe_xrealloc(r->r, (r->n_r + 1) * sizeof(*r->r));
            r->n_r++;
            r->r[i].key = key;
            r->r[i].suite = hfe_xstrdup(su);
            r->r[i].task = hfe_xstrdup(ta);
            r->r[i].metric = hfe_xstrdup(me);
        } else {
            free(key);
        }
        r->r[i].model = k;
        r->r[i].value = num(e, "value");
        r->r[i].se = num(e, "stderr");
        r->r[i].has_se = cJSON_IsNumber(cJSON_GetObjectItem(e, "stderr"));
        r->r[i].n = num(e, "n");
    }
    cJSON_Delete(run);
    return 0;
}

static const struct row *value(const struct rep *r, int model, const char *key)
{
    size_t i;

    for (i = 0; model >= 0 && i < r->n_r; i++)
        if (r->r[i].model == model && !strcmp(r->r[i].key, key))
            return &r->r[i];
    return NULL;
}

/* A lineage in order: the root, then each model under its parent. */
static void walk(const struct rep *r, int parent, int *order, size_t *n,
                 int *depth, int d)
{
    size_t i;

    for (i = 0; i < r->n_m; i++)
        if (find_model(r, r->m[i].base) == parent) { /* -1: a root */
            depth[*n] = d;
            order[(*n)++] = (int)i;
            walk(r, (int)i, order, n, depth, d + 1);
        }
}

/* Metrics that are a share of right answers. */
static int proportion(const char *m)
{
    static const char *const p[] = {
        "acc", "exact_match", "maj@", "pass@", "regex_match", "same_top", NULL};
    const char *const *q;

    for (q = p; *q; q++)
        if (!strncmp(m, *q, strlen(*q)))
            return 1;
    return 0;
}

static void fmt(char *out, size_t n, double v)
{
    if (isnan(v))
        snprintf(out, n, "-");
    else
        snprintf(out, n, v != 0 && fabs(v) < 0.01 ? "%.3e" : "%.4f", v);
}

static void delta(char *out, size_t n, const struct row *x, const struct row *y)
{
    if (!x || !y || x == y) {
        snprintf(out, n, "-");
        return;
    }
    snprintf(out, n,
             fabs(x->value - y->value) < 0.01 && x->value != y->value ? "%+.3e"
                                                                      : "%+.4f",
             x->value - y->value);
}

/* The paired test of a row against the same metric of model `other`,
 * on the items both scored; "-" when either has no samples. */
static void paired(struct rep *r, const struct row *v, int other, char *out,
                   size_t n, struct hfe_paired *pt)
{
    struct model *ms[2] = {&r->m[v->model], &r->m[other]};
    struct hfe_err err;
    int i;

    snprintf(out, n, "-");
    pt->p = -1;
    if (other < 0 || other == v->model)
        return;
    for (i = 0; i < 2; i++)
        if (!ms[i]->side_tried) {
            ms[i]->side_tried = 1;
            ms[i]->side = hfe_cmp_open(ms[i]->run, ms[i]->name, &err);
        }
    if (!ms[0]->side || !ms[1]->side ||
        hfe_cmp_paired(ms[1]->side, ms[0]->side, v->suite, v->task, v->metric,
                       pt) != 0)
        return;
    if (pt->binary)
        snprintf(out, n, "%.3g (%u down, %u up)", pt->p, pt->worse, pt->better);
    else
        snprintf(out, n, "%.3g", pt->p);
}

int hfe_report_main(int argc, char **argv)
{
    const char *format = "md";
    struct rep r = {0};
    struct hfe_buf b = {0};
    struct hfe_err err;
    int *order, *depth, i, rc = 0, nruns = 0;
    size_t n = 0, k, q, first_json = 1;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            format = argv[++i];
            if (strcmp(format, "md") && strcmp(format, "csv") &&
                strcmp(format, "json")) {
                fprintf(stderr,
                        "hfeval report: --format is md, csv or json, "
                        "got '%s'\n",
                        format);
                rc = HFE_EXIT_USAGE;
                goto out; /* what was read is freed there */
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "hfeval report: unknown option '%s'\nusage: hfeval "
                    "report RUN... [--format md|csv|json]\n",
                    argv[i]);
            rc = HFE_EXIT_USAGE;
            goto out;
        } else {
            if ((rc = load(&r, argv[i], &err)) != 0) {
                fprintf(stderr, "hfeval: %s\n", err.msg);
                goto out;
            }
            nruns++;
        }
    }
    if (!nruns) {
        fprintf(stderr, "usage: hfeval report RUN... [--format md|csv|json]\n");
        return HFE_EXIT_USAGE;
    }
    order = hfe_xcalloc(r.n_m + 1, sizeof(int));
    depth = hfe_xcalloc(r.n_m + 1, sizeof(int));
    walk(&r, -1, order, &n, depth, 0);
    hfe_buf_add(&b, "", 0);
    if (!strcmp(format, "csv"))
        hfe_buf_puts(&b, "lineage,model,base,task,metric,value,ci_low,ci_high,"
                         "n,delta_root,delta_parent,p_root,down_root,"
                         "up_root\n");
    if (!strcmp(format, "json"))
        hfe_buf_puts(&b, "[");
    for (k = 0; k < n; k++) {
        int root = order[k], m;
        size_t end = k + 1;

        if (depth[k] != 0)
            continue;
        while (end < n && depth[end] > 0)
            end++;
        if (!strcmp(format, "md")) {
            hfe_buf_printf(&b,
                           "## Lineage: %s\n\n| model | base | quant | "
                           "params | size | class |\n| --- | --- | --- | "
                           "---: | ---: | --- |\n",
                           r.m[root].name);
            for (q = k; q < end; q++) {
                char sz[32] = "-";

                m = order[q];
                if (!isnan(r.m[m].bytes))
                    hfe_fmt_bytes((uint64_t)r.m[m].bytes, sz, sizeof(sz));
                char pa[32] = "-";

                if (!isnan(r.m[m].params) && r.m[m].params > 0)
                    snprintf(pa, sizeof(pa), "%.0f", r.m[m].params);
                hfe_buf_printf(&b, "| %*s%s | %s | %s | %s | %s | %s |\n",
                               2 * depth[q], "", r.m[m].name,
                               r.m[m].base ? r.m[m].base : "-",
                               r.m[m].quant ? r.m[m].quant : "-", pa, sz,
                               r.m[m].klass ? r.m[m].klass : "-");
            }
            hfe_buf_puts(&b,
                         "\n| model | task | metric | value | 95% CI | "
                         "Δ root | Δ parent | paired p vs root |\n| --- | "
                         "--- | --- | ---: | ---: | ---: | ---: | ---: |\n");
        }
        for (q = k; q < end; q++) {
            size_t x;

            m = order[q];
            for (x = 0; x < r.n_r; x++) {
                const struct row *v = &r.r[x], *vr, *vp;
                struct hfe_paired pt;
                char pv[64], val[32], lo[32] = "-", hi[32] = "-", dr[32],
                                      dp[32], task[512], *tab;

                if (v->model != m)
                    continue;
                vr = value(&r, root, v->key);
                vp = value(&r, find_model(&r, r.m[m].base), v->key);
                snprintf(task, sizeof(task), "%s", v->key);
                tab = strchr(task, '\t');
                *tab = '\0';
                fmt(val, sizeof(val), v->value);
                if (v->has_se) {
                    double l = v->value - 1.96 * v->se,
                           h = v->value + 1.96 * v->se;

                    if (proportion(tab + 1)) { /* a share stays in [0, 1] */
                        l = l < 0 ? 0 : l;
                        h = h > 1 ? 1 : h;
                    }
                    fmt(lo, sizeof(lo), l);
                    fmt(hi, sizeof(hi), h);
                }
                delta(dr, sizeof(dr), v, vr);
                delta(dp, sizeof(dp), v, vp);
                paired(&r, v, vr ? root : -1, pv, sizeof(pv), &pt);
                if (!strcmp(format, "md")) {
                    char ci[80] = "-";

                    if (v->has_se)
                        snprintf(ci, sizeof(ci), "[%s, %s]", lo, hi);
                    hfe_buf_printf(
                        &b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
                        r.m[m].name, task, tab + 1, val, ci, dr, dp, pv);
                } else if (!strcmp(format, "csv")) {
                    hfe_buf_printf(
                        &b, "%s,%s,%s,%s,%s,%s,%s,%s,%.0f,%s,%s,",
                        r.m[root].name, r.m[m].name,
                        r.m[m].base ? r.m[m].base : "", task, tab + 1, val,
                        v->has_se ? lo : "", v->has_se ? hi : "", v->n,
                        strcmp(dr, "-") ? dr : "", strcmp(dp, "-") ? dp : "");
                    if (pt.p >= 0)
                        hfe_buf_printf(&b, "%.6g", pt.p);
                    if (pt.p >= 0 && pt.binary)
                        hfe_buf_printf(&b, ",%u,%u\n", pt.worse, pt.better);
                    else
                        hfe_buf_puts(&b, ",,\n");
                } else {
                    hfe_buf_puts(&b, first_json ? "\n" : ",\n");
                    first_json = 0;
                    hfe_buf_puts(&b, "{\"lineage\":");
                    hfe_json_str(&b, r.m[root].name, strlen(r.m[root].name));
                    hfe_buf_puts(&b, ",\"model\":");
                    hfe_json_str(&b, r.m[m].name, strlen(r.m[m].name));
                    hfe_buf_puts(&b, ",\"task\":");
                    hfe_json_str(&b, task, strlen(task));
                    hfe_buf_puts(&b, ",\"metric\":");
                    hfe_json_str(&b, tab + 1, strlen(tab + 1));
                    hfe_buf_printf(&b, ",\"value\":%.9g", v->value);
                    if (v->has_se)
                        hfe_buf_printf(&b, ",\"ci95\":[%.9g,%.9g]",
                                       v->value - 1.96 * v->se,
                                       v->value + 1.96 * v->se);
                    if (vr && vr != v)
                        hfe_buf_printf(&b, ",\"delta_root\":%.9g",
                                       v->value - vr->value);
                    if (vp && vp != v)
                        hfe_buf_printf(&b, ",\"delta_parent\":%.9g",
                                       v->value - vp->value);
                    if (pt.p >= 0)
                        hfe_buf_printf(
                            &b, ",\"paired_root\":{\"p\":%.9g,\"n\":%zu%s",
                            pt.p, pt.n, pt.binary ? "" : "}");
                    if (pt.p >= 0 && pt.binary)
                        hfe_buf_printf(&b, ",\"down\":%u,\"up\":%u}", pt.worse,
                                       pt.better);
                    hfe_buf_puts(&b, "}");
                }
            }
        }
        if (!strcmp(format, "md"))
            hfe_buf_puts(&b, "\n");
    }
    if (!strcmp(format, "json"))
        hfe_buf_puts(&b, "\n]\n");
    fputs(b.s, stdout);
    free(order);
    free(depth);
out:
    for (k = 0; k < r.n_m; k++) {
        free(r.m[k].name);
        free(r.m[k].base);
        free(r.m[k].quant);
        free(r.m[k].klass);
    }
    for (k = 0; k < r.n_r; k++) {
        free(r.r[k].key);
        free(r.r[k].suite);
        free(r.r[k].task);
        free(r.r[k].metric);
    }
    for (k = 0; k < r.n_m; k++)
        hfe_cmp_close(r.m[k].side);
    free(r.m);
    free(r.r);
    hfe_buf_free(&b);
    return rc;
}
