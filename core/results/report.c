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
#include "json.h"
#include "json_get.h"
#include "hfeval.h"
#include "record.h"
#include "report.h"
#include "report_int.h"

int hfe_rep_find(const struct rep *r, const char *name)
{
    size_t i;

    for (i = 0; name && i < r->n_m; i++)
        if (!strcmp(r->m[i].name, name))
            return (int)i;
    return -1;
}

/* The task (or group) named ta of suite su, added when new. */
static struct rep_task *task_at(struct rep *r, const char *su, const char *ta)
{
    size_t i;

    for (i = 0; i < r->n_t; i++)
        if (!strcmp(r->t[i].suite, su) && !strcmp(r->t[i].task, ta))
            return &r->t[i];
    r->t = hfe_xrealloc(r->t, (r->n_t + 1) * sizeof(*r->t));
    memset(&r->t[r->n_t], 0, sizeof(*r->t));
    r->t[i].suite = hfe_xstrdup(su);
    r->t[i].task = hfe_xstrdup(ta);
    r->n_t++;
    return &r->t[i];
}

/* A suite's groups (run.json suites[].groups) as tasks of kind "group",
 * their first metric the primary; each member marked grouped. */
static void load_groups(struct rep *r, const char *su, const cJSON *groups)
{
    const cJSON *g, *m;

    cJSON_ArrayForEach(g, groups)
    {
        const char *name = hfe_json_get_str(g, "name");
        const cJSON *m0 =
            cJSON_GetArrayItem(cJSON_GetObjectItem(g, "metrics"), 0);
        struct rep_task *x;

        if (!name)
            continue;
        x = task_at(r, su, name);
        free(x->kind);
        free(x->primary);
        x->kind = hfe_xstrdup("group");
        x->primary = hfe_json_get_str(m0, "metric")
                         ? hfe_xstrdup(hfe_json_get_str(m0, "metric"))
                         : NULL;
        cJSON_ArrayForEach(
            m, cJSON_GetObjectItem(g, "tasks")) if (cJSON_IsString(m))
            task_at(r, su, m->valuestring)
                ->grouped = 1;
    }
}

int hfe_rep_load(struct rep *r, const char *arg, struct hfe_err *err)
{
    struct hfe_record rec;
    const cJSON *run, *e;
    int rc;

    if ((rc = hfe_record_load(arg, &rec, err)) != 0)
        return rc;
    run = rec.json;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(run, "models"))
    {
        const cJSON *info = cJSON_GetObjectItem(e, "info"),
                    *file = cJSON_GetObjectItem(e, "file"),
                    *cc = cJSON_GetObjectItem(e, "compliance");
        int k;

        if (!hfe_json_get_str(e, "name"))
            continue;
        if ((k = hfe_rep_find(r, hfe_json_get_str(e, "name"))) < 0) {
            r->m = hfe_xrealloc(r->m, (r->n_m + 1) * sizeof(*r->m));
            k = (int)r->n_m++;
            memset(&r->m[k], 0, sizeof(r->m[k]));
            r->m[k].name = hfe_xstrdup(hfe_json_get_str(e, "name"));
        }
        free(r->m[k].base);
        free(r->m[k].quant);
        r->m[k].base = hfe_json_get_str(e, "base")
                           ? hfe_xstrdup(hfe_json_get_str(e, "base"))
                           : NULL;
        r->m[k].quant =
            hfe_json_get_str(info, "quantization")
                ? hfe_xstrdup(hfe_json_get_str(info, "quantization"))
                : NULL;
        r->m[k].params = hfe_json_get_num(info, "n_params");
        r->m[k].run = arg;
        r->m[k].bytes = hfe_json_get_num(file, "bytes");
        /* every run checks the metadata; a compliance task's rows agree */
        if (hfe_json_get_str(cc, "class")) {
            const cJSON *f;

            free(r->m[k].klass);
            free(r->m[k].license);
            free(r->m[k].failed);
            r->m[k].klass = hfe_xstrdup(hfe_json_get_str(cc, "class"));
            r->m[k].license = hfe_json_get_str(cc, "license")
                                  ? hfe_xstrdup(hfe_json_get_str(cc, "license"))
                                  : NULL;
            r->m[k].failed = NULL;
            cJSON_ArrayForEach(f, cJSON_GetObjectItem(cc, "failed"))
            {
                char *was = r->m[k].failed;

                if (!cJSON_IsString(f))
                    continue;
                r->m[k].failed =
                    was ? hfe_xasprintf("%s, %s", was, f->valuestring)
                        : hfe_xstrdup(f->valuestring);
                free(was);
            }
        }
        if (cJSON_IsObject(cJSON_GetObjectItem(e, "measure"))) {
            cJSON_Delete(r->m[k].measure);
            r->m[k].measure =
                cJSON_Duplicate(cJSON_GetObjectItem(e, "measure"), 1);
        }
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(run, "suites"))
    {
        const char *su = hfe_json_get_str(e, "name");
        const cJSON *t;

        cJSON_ArrayForEach(t, cJSON_GetObjectItem(e, "tasks"))
        {
            const char *ta = hfe_json_get_str(t, "name");
            struct rep_task *x;

            if (!su || !ta)
                continue;
            x = task_at(r, su, ta);
            free(x->kind);
            free(x->primary);
            x->kind = hfe_xstrdup(
                hfe_json_get_str(t, "kind") ? hfe_json_get_str(t, "kind") : "");
            x->primary = hfe_json_get_str(t, "primary")
                             ? hfe_xstrdup(hfe_json_get_str(t, "primary"))
                             : NULL;
            x->timing = cJSON_IsTrue(cJSON_GetObjectItem(t, "timing"));
            x->fidelity = cJSON_IsTrue(cJSON_GetObjectItem(t, "fidelity"));
        }
        if (su)
            load_groups(r, su, cJSON_GetObjectItem(e, "groups"));
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(run, "results"))
    {
        const char *mo = hfe_json_get_str(e, "model"),
                   *su = hfe_json_get_str(e, "suite"),
                   *ta = hfe_json_get_str(e, "task"),
                   *me = hfe_json_get_str(e, "metric");
        char *key;
        int k = hfe_rep_find(r, mo);
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
        r->r[i].value = hfe_json_get_num(e, "value");
        r->r[i].se = hfe_json_get_num(e, "stderr");
        r->r[i].has_se = cJSON_IsNumber(cJSON_GetObjectItem(e, "stderr"));
        r->r[i].n = hfe_json_get_num(e, "n");
    }
    hfe_record_free(&rec);
    return 0;
}

const struct rep_row *hfe_rep_value(const struct rep *r, int model,
                                    const char *key)
{
    size_t i;

    for (i = 0; model >= 0 && i < r->n_r; i++)
        if (r->r[i].model == model && !strcmp(r->r[i].key, key))
            return &r->r[i];
    return NULL;
}

/* A lineage in order: the root, then each model under its parent. */
void hfe_rep_walk(const struct rep *r, int parent, int *order, size_t *n,
                  int *depth, int d)
{
    size_t i;

    for (i = 0; i < r->n_m; i++)
        if (hfe_rep_find(r, r->m[i].base) == parent) { /* -1: a root */
            depth[*n] = d;
            order[(*n)++] = (int)i;
            hfe_rep_walk(r, (int)i, order, n, depth, d + 1);
        }
}

/* Metrics that are a share of right answers. */
int hfe_rep_proportion(const char *m)
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

static void delta(char *out, size_t n, const struct rep_row *x,
                  const struct rep_row *y)
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

void hfe_rep_paired(struct rep *r, const struct rep_row *v, int other,
                    struct hfe_paired *pt)
{
    struct rep_model *ms[2] = {&r->m[v->model], &r->m[other < 0 ? 0 : other]};
    struct hfe_err err;
    int i;

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
        pt->p = -1;
}

/* The paired test against the root, as the long table shows it. */
static void paired(struct rep *r, const struct rep_row *v, int other, char *out,
                   size_t n, struct hfe_paired *pt)
{
    hfe_rep_paired(r, v, other, pt);
    snprintf(out, n, "-");
    if (pt->p >= 0 && pt->binary)
        snprintf(out, n, "%.3g (%u down, %u up)", pt->p, pt->worse, pt->better);
    else if (pt->p >= 0)
        snprintf(out, n, "%.3g", pt->p);
}

/* ---- rendering ---------------------------------------------------------- */

/* What a metric's row shows, in every format. */
struct cells {
    const struct rep_row *v, *vr, *vp; /* the row; the root's; the parent's */
    struct hfe_paired pt;              /* against the root                  */
    char pv[64], val[32], lo[32], hi[32], dr[32], dp[32];
    char task[512];     /* suite/task */
    const char *metric; /* in task[] */
};

static void cells(struct rep *r, int root, int m, const struct rep_row *v,
                  struct cells *c)
{
    char *tab;

    c->v = v;
    c->vr = hfe_rep_value(r, root, v->key);
    c->vp = hfe_rep_value(r, hfe_rep_find(r, r->m[m].base), v->key);
    snprintf(c->task, sizeof(c->task), "%s", v->key);
    tab = strchr(c->task, '\t');
    *tab = '\0';
    c->metric = tab + 1;
    fmt(c->val, sizeof(c->val), v->value);
    snprintf(c->lo, sizeof(c->lo), "-");
    snprintf(c->hi, sizeof(c->hi), "-");
    if (v->has_se) {
        double l = v->value - 1.96 * v->se, h = v->value + 1.96 * v->se;

        if (hfe_rep_proportion(c->metric)) { /* a share stays in [0, 1] */
            l = l < 0 ? 0 : l;
            h = h > 1 ? 1 : h;
        }
        fmt(c->lo, sizeof(c->lo), l);
        fmt(c->hi, sizeof(c->hi), h);
    }
    delta(c->dr, sizeof(c->dr), v, c->vr);
    delta(c->dp, sizeof(c->dp), v, c->vp);
    paired(r, v, c->vr ? root : -1, c->pv, sizeof(c->pv), &c->pt);
}

static void row_md(struct hfe_buf *b, const struct rep *r, int m,
                   const struct cells *c)
{
    char ci[80] = "-";

    if (c->v->has_se)
        snprintf(ci, sizeof(ci), "[%s, %s]", c->lo, c->hi);
    hfe_buf_printf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
                   r->m[m].name, c->task, c->metric, c->val, ci, c->dr, c->dp,
                   c->pv);
}

static void row_csv(struct hfe_buf *b, const struct rep *r, int root, int m,
                    const struct cells *c)
{
    const struct rep_row *v = c->v;

    hfe_buf_printf(
        b, "%s,%s,%s,%s,%s,%s,%s,%s,%.0f,%s,%s,", r->m[root].name, r->m[m].name,
        r->m[m].base ? r->m[m].base : "", c->task, c->metric, c->val,
        v->has_se ? c->lo : "", v->has_se ? c->hi : "", v->n,
        strcmp(c->dr, "-") ? c->dr : "", strcmp(c->dp, "-") ? c->dp : "");
    if (c->pt.p >= 0)
        hfe_buf_printf(b, "%.6g", c->pt.p);
    if (c->pt.p >= 0 && c->pt.binary)
        hfe_buf_printf(b, ",%u,%u\n", c->pt.worse, c->pt.better);
    else
        hfe_buf_puts(b, ",,\n");
}

static void row_json(struct hfe_buf *b, const struct rep *r, int root, int m,
                     const struct cells *c)
{
    const struct rep_row *v = c->v, *vr = c->vr, *vp = c->vp;
    const struct hfe_paired *pt = &c->pt;

    hfe_buf_puts(b, b->len > 1 ? ",\n" : "\n");
    hfe_buf_puts(b, "{\"lineage\":");
    hfe_json_strz(b, r->m[root].name);
    hfe_buf_puts(b, ",\"model\":");
    hfe_json_strz(b, r->m[m].name);
    hfe_buf_puts(b, ",\"task\":");
    hfe_json_strz(b, c->task);
    hfe_buf_puts(b, ",\"metric\":");
    hfe_json_strz(b, c->metric);
    hfe_buf_printf(b, ",\"value\":%.9g", v->value);
    if (v->has_se)
        hfe_buf_printf(b, ",\"ci95\":[%.9g,%.9g]", v->value - 1.96 * v->se,
                       v->value + 1.96 * v->se);
    if (vr && vr != v)
        hfe_buf_printf(b, ",\"delta_root\":%.9g", v->value - vr->value);
    if (vp && vp != v)
        hfe_buf_printf(b, ",\"delta_parent\":%.9g", v->value - vp->value);
    if (pt->p >= 0)
        hfe_buf_printf(b, ",\"paired_root\":{\"p\":%.9g,\"n\":%zu%s", pt->p,
                       pt->n, pt->binary ? "" : "}");
    if (pt->p >= 0 && pt->binary)
        hfe_buf_printf(b, ",\"down\":%u,\"up\":%u}", pt->worse, pt->better);
    hfe_buf_puts(b, "}");
}

/* The model table of a lineage: order[k..end), each at its depth. */
static void models_md(struct hfe_buf *b, const struct rep *r, const int *order,
                      const int *depth, size_t k, size_t end)
{
    size_t q;

    hfe_buf_printf(b,
                   "## Lineage: %s\n\n| model | base | quant | params | size "
                   "| class |\n| --- | --- | --- | ---: | ---: | --- |\n",
                   r->m[order[k]].name);
    for (q = k; q < end; q++) {
        const struct rep_model *x = &r->m[order[q]];
        char sz[32] = "-", pa[32] = "-";

        if (!isnan(x->bytes))
            hfe_fmt_bytes((uint64_t)x->bytes, sz, sizeof(sz));
        if (!isnan(x->params) && x->params > 0)
            snprintf(pa, sizeof(pa), "%.0f", x->params);
        hfe_buf_printf(b, "| %*s%s | %s | %s | %s | %s | %s |\n", 2 * depth[q],
                       "", x->name, x->base ? x->base : "-",
                       x->quant ? x->quant : "-", pa, sz,
                       x->klass ? x->klass : "-");
    }
    hfe_buf_puts(b, "\n| model | task | metric | value | 95% CI | Δ root | "
                    "Δ parent | paired p vs root |\n| --- | --- | --- | ---: "
                    "| ---: | ---: | ---: | ---: |\n");
}

/* A derivative's row whose items flipped against the root: one line
 * naming them, appended to fl (printed under the lineage's table). */
static void flips_md(struct hfe_buf *fl, const struct rep *r, int root, int m,
                     const struct rep_row *v, const struct cells *c)
{
    struct hfe_buf down = {0}, up = {0};

    if (m == root || !c->pt.binary || c->pt.p < 0 ||
        !(c->pt.worse + c->pt.better))
        return;
    hfe_cmp_flips(r->m[root].side, r->m[m].side, v->suite, v->task, v->metric,
                  12, &down, &up);
    hfe_buf_printf(fl, "- %s, %s %s: %u down", r->m[m].name, c->task, c->metric,
                   c->pt.worse);
    if (down.len)
        hfe_buf_printf(fl, " (%s)", down.s);
    hfe_buf_printf(fl, ", %u up", c->pt.better);
    if (up.len)
        hfe_buf_printf(fl, " (%s)", up.s);
    hfe_buf_puts(fl, "\n");
    hfe_buf_free(&down);
    hfe_buf_free(&up);
}

/* One lineage, its root at order[k], its models up to order[end). */
static void lineage(struct hfe_buf *b, struct rep *r, enum hfe_report_format f,
                    const int *order, const int *depth, size_t k, size_t end)
{
    struct hfe_buf fl = {0}; /* Markdown: the flipped items' lines */
    int root = order[k];
    size_t q, x;

    if (f == HFE_REPORT_MD)
        models_md(b, r, order, depth, k, end);
    for (q = k; q < end; q++)
        for (x = 0; x < r->n_r; x++) {
            struct cells c;
            int m = order[q];

            if (r->r[x].model != m)
                continue;
            cells(r, root, m, &r->r[x], &c);
            if (f == HFE_REPORT_MD) {
                row_md(b, r, m, &c);
                flips_md(&fl, r, root, m, &r->r[x], &c);
            } else if (f == HFE_REPORT_CSV)
                row_csv(b, r, root, m, &c);
            else
                row_json(b, r, root, m, &c);
        }
    if (f == HFE_REPORT_MD) {
        hfe_buf_puts(b, "\n");
        if (fl.len)
            hfe_buf_printf(b, "Items that flipped against %s:\n\n%s\n",
                           r->m[root].name, fl.s);
    }
    hfe_buf_free(&fl);
}

static void render(struct hfe_buf *b, struct rep *r, enum hfe_report_format f)
{
    int *order = hfe_xcalloc(r->n_m + 1, sizeof(int)),
        *depth = hfe_xcalloc(r->n_m + 1, sizeof(int));
    size_t n = 0, k, end;

    hfe_rep_walk(r, -1, order, &n, depth, 0);
    if (f == HFE_REPORT_CSV)
        hfe_buf_puts(b, "lineage,model,base,task,metric,value,ci_low,ci_high,"
                        "n,delta_root,delta_parent,p_root,down_root,"
                        "up_root\n");
    if (f == HFE_REPORT_JSON)
        hfe_buf_puts(b, "[");
    for (k = 0; k < n; k = end) {
        for (end = k + 1; end < n && depth[end] > 0; end++)
            ;
        if (depth[k] == 0)
            lineage(b, r, f, order, depth, k, end);
    }
    if (f == HFE_REPORT_JSON)
        hfe_buf_puts(b, "\n]\n");
    free(order);
    free(depth);
}

void hfe_rep_free(struct rep *r)
{
    size_t k;

    for (k = 0; k < r->n_m; k++) {
        free(r->m[k].name);
        free(r->m[k].base);
        free(r->m[k].quant);
        free(r->m[k].klass);
        free(r->m[k].license);
        free(r->m[k].failed);
        cJSON_Delete(r->m[k].measure);
        hfe_cmp_close(r->m[k].side);
    }
    for (k = 0; k < r->n_t; k++) {
        free(r->t[k].suite);
        free(r->t[k].task);
        free(r->t[k].kind);
        free(r->t[k].primary);
    }
    free(r->t);
    for (k = 0; k < r->n_r; k++) {
        free(r->r[k].key);
        free(r->r[k].suite);
        free(r->r[k].task);
        free(r->r[k].metric);
    }
    free(r->m);
    free(r->r);
}

int hfe_report(const char *const *runs, size_t n_runs, enum hfe_report_format f,
               struct hfe_buf *out, struct hfe_err *err)
{
    struct rep r = {0};
    size_t i;
    int rc = 0;

    for (i = 0; i < n_runs && !rc; i++)
        rc = hfe_rep_load(&r, runs[i], err);
    hfe_buf_add(out, "", 0);
    if (!rc)
        render(out, &r, f);
    hfe_rep_free(&r);
    return rc;
}
