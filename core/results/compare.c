/*
 * compare.c - the CI gate: a candidate run against a baseline, metric by
 * metric, with paired tests on the items both answered.  See compare.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "compare.h"
#include "hfeval.h"
#include "json.h"
#include "json_get.h"
#include "record.h"

/* One side: the run's record, and each sample's metrics by item. */
/* One sample record, indexed. */
struct samp {
    const char *suite, *task, *id;
    double doc;
    const cJSON *metrics;
};

struct hfe_cmp_side {
    char *dir;
    cJSON *run;
    char *model;
    cJSON **samples; /* the model's sample records */
    size_t n;
    struct samp *idx; /* sorted by suite, task, doc_id */
    size_t n_idx;
};

static int samp_cmp(const void *a, const void *b)
{
    const struct samp *x = a, *y = b;
    int c = strcmp(x->suite, y->suite);

    if (!c)
        c = strcmp(x->task, y->task);
    return c ? c : (x->doc > y->doc) - (x->doc < y->doc);
}

int hfe_cmp_measurement(const char *m)
{
    static const char *const v[] = {
        "prompt_tokens", "prompt_tok_s", "decode_tok_s", "ttft_ms",
        "weights_mib",   "kv_mib",       "peak_rss_mib", "kld",
        "kld_p99",       "kld_max",      "delta_p",      "rms_delta_p",
        "same_top",      "truncated",    "looped",       NULL};
    const char *const *p;

    if (!strncmp(m, "class=", 6))
        return 1;
    for (p = v; *p; p++)
        if (!strcmp(*p, m))
            return 1;
    return 0;
}

int hfe_cmp_lower_better(const char *m)
{
    return !strcmp(m, "ppl_token") || !strcmp(m, "bits_per_byte") ||
           strstr(m, "perplexity") != NULL || /* lm-eval's, word_, byte_ */
           !strncmp(m, "kld", 3) || !strcmp(m, "rms_delta_p") ||
           !strcmp(m, "ttft_ms") || !strcmp(m, "failed_errors") ||
           !strcmp(m, "truncated") || !strcmp(m, "looped") ||
           strstr(m, "_mib") != NULL;
}

double hfe_mcnemar_p(unsigned b, unsigned c)
{
    unsigned n = b + c, k = b < c ? b : c, i;
    double p = 0, term;

    if (!n)
        return 1;
    /* P(X <= k), X ~ Binomial(n, 1/2), in logs to stay finite */
    for (i = 0; i <= k; i++) {
        term = lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) -
               n * log(2.0);
        p += exp(term);
    }
    p *= 2;
    return p > 1 ? 1 : p;
}

/* A sample record of the side's model, into its list; anything else is
 * not paired. */
static void take(void *ud, cJSON *r)
{
    struct hfe_cmp_side *s = ud;
    const char *model = hfe_json_get_str(r, "model");

    if (!model || strcmp(model, s->model) || !hfe_json_get_str(r, "suite") ||
        !hfe_json_get_str(r, "task") ||
        !cJSON_IsNumber(cJSON_GetObjectItem(r, "doc_id")) ||
        !cJSON_IsObject(cJSON_GetObjectItem(r, "metrics"))) {
        cJSON_Delete(r);
        return;
    }
    if (!(s->n & (s->n - 1))) /* a power of two: double */
        s->samples =
            hfe_xrealloc(s->samples, (s->n ? 2 * s->n : 1) * sizeof(cJSON *));
    s->samples[s->n++] = r;
}

/* The model of a run: the one named, or the run's only one. */
static const cJSON *pick_model(const struct hfe_record *rec, const char *model,
                               struct hfe_err *err, int *rc)
{
    const cJSON *models = cJSON_GetObjectItem(rec->json, "models"), *e,
                *m = NULL;

    *rc = HFE_EXIT_USAGE;
    if (model) {
        cJSON_ArrayForEach(e, models)
        {
            if (hfe_json_get_str(e, "name") &&
                !strcmp(hfe_json_get_str(e, "name"), model))
                m = e;
        }
        if (!m)
            hfe_err_set(err, "%s: no model '%s' in this run", rec->dir, model);
        return m;
    }
    if (cJSON_GetArraySize(models) != 1) {
        hfe_err_set(err,
                    "%s: %d models in this run: name one with "
                    "--baseline-model / --candidate-model",
                    rec->dir, cJSON_GetArraySize(models));
        return NULL;
    }
    if (!hfe_json_get_str(m = cJSON_GetArrayItem(models, 0), "name")) {
        hfe_err_set(err, "%s/run.json: a model without a name", rec->dir);
        *rc = HFE_EXIT_DATA;
        return NULL;
    }
    return m;
}

/* Loads a run (a directory or its run.json) and picks the model. */
static int load_side(struct hfe_cmp_side *s, const char *arg, const char *model,
                     struct hfe_err *err)
{
    struct hfe_record rec;
    const cJSON *m;
    int rc;

    if ((rc = hfe_record_load(arg, &rec, err)) != 0)
        return rc;
    s->dir = hfe_xstrdup(rec.dir);
    if (!(m = pick_model(&rec, model, err, &rc))) {
        hfe_record_free(&rec);
        return rc;
    }
    s->model = hfe_xstrdup(hfe_json_get_str(m, "name"));
    s->run = rec.json; /* the side keeps the parsed record */
    rec.json = NULL;
    rc = hfe_record_samples(&rec, take, s, err);
    hfe_record_free(&rec);
    if (rc)
        return rc;
    s->idx = hfe_xcalloc(s->n + 1, sizeof(*s->idx));
    for (s->n_idx = 0; s->n_idx < s->n; s->n_idx++) {
        const cJSON *r = s->samples[s->n_idx];

        s->idx[s->n_idx] = (struct samp){
            hfe_json_get_str(r, "suite"), hfe_json_get_str(r, "task"),
            hfe_json_get_str(r, "item_id"),
            cJSON_GetObjectItem(r, "doc_id")->valuedouble,
            cJSON_GetObjectItem(r, "metrics")};
    }
    qsort(s->idx, s->n_idx, sizeof(*s->idx), samp_cmp);
    return 0;
}

static void free_side(struct hfe_cmp_side *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        cJSON_Delete(s->samples[i]);
    free(s->samples);
    free(s->idx);
    cJSON_Delete(s->run);
    free(s->dir);
    free(s->model);
}

static const cJSON *result(const struct hfe_cmp_side *s, const char *suite,
                           const char *task, const char *metric)
{
    const cJSON *r;

    cJSON_ArrayForEach(r, cJSON_GetObjectItem(s->run, "results"))
    {
        const char *mo = hfe_json_get_str(r, "model"),
                   *su = hfe_json_get_str(r, "suite"),
                   *ta = hfe_json_get_str(r, "task"),
                   *me = hfe_json_get_str(r, "metric");

        if (mo && su && ta && me && !strcmp(mo, s->model) &&
            !strcmp(su, suite) && !strcmp(ta, task) && !strcmp(me, metric))
            return r;
    }
    return NULL;
}

/* The paired values of one metric: items both sides scored. */
struct pairs {
    double *a, *b;
    char **id;
    size_t n;
};

/* First index entry at or after (suite, task, doc). */
static size_t lower(const struct hfe_cmp_side *s, const char *suite,
                    const char *task, double doc)
{
    struct samp key = {suite, task, NULL, doc, NULL};
    size_t lo = 0, hi = s->n_idx;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (samp_cmp(&s->idx[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int hfe_cmp_value(const struct hfe_cmp_side *s, const char *suite,
                  const char *task, double doc, const char *metric, double *v)
{
    size_t i = lower(s, suite, task, doc);
    const cJSON *x;

    if (i == s->n_idx || strcmp(s->idx[i].suite, suite) ||
        strcmp(s->idx[i].task, task) || s->idx[i].doc != doc)
        return -1;
    x = cJSON_GetObjectItemCaseSensitive(s->idx[i].metrics, metric);
    if (!cJSON_IsNumber(x))
        return -1;
    *v = x->valuedouble;
    return 0;
}

const char *hfe_cmp_model(const struct hfe_cmp_side *s)
{
    return s->model;
}

const char *hfe_cmp_dir(const struct hfe_cmp_side *s)
{
    return s->dir;
}

/* Both sides' values of one metric on the items both scored: a merge of
 * the two sorted indexes, linear in their sizes. */
static void pair_up(const struct hfe_cmp_side *x, const struct hfe_cmp_side *y,
                    const char *suite, const char *task, const char *metric,
                    struct pairs *p)
{
    size_t i = lower(x, suite, task, -1), j = lower(y, suite, task, -1),
           cap = 0;

    memset(p, 0, sizeof(*p));
    while (i < x->n_idx && j < y->n_idx && !strcmp(x->idx[i].suite, suite) &&
           !strcmp(x->idx[i].task, task) && !strcmp(y->idx[j].suite, suite) &&
           !strcmp(y->idx[j].task, task)) {
        const struct samp *a = &x->idx[i], *b = &y->idx[j];
        const cJSON *va, *vb;

        if (a->doc != b->doc) {
            *(a->doc < b->doc ? &i : &j) += 1;
            continue;
        }
        i++, j++;
        va = cJSON_GetObjectItemCaseSensitive(a->metrics, metric);
        vb = cJSON_GetObjectItemCaseSensitive(b->metrics, metric);
        if (!cJSON_IsNumber(va) || !cJSON_IsNumber(vb))
            continue;
        if (p->n == cap) {
            cap = cap ? 2 * cap : 64;
            p->a = hfe_xrealloc(p->a, cap * sizeof(double));
            p->b = hfe_xrealloc(p->b, cap * sizeof(double));
            p->id = hfe_xrealloc(p->id, cap * sizeof(char *));
        }
        p->a[p->n] = va->valuedouble;
        p->b[p->n] = vb->valuedouble;
        p->id[p->n] =
            a->id ? hfe_xstrdup(a->id) : hfe_xasprintf("doc %.0f", a->doc);
        p->n++;
    }
}

static void free_pairs(struct pairs *p)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        free(p->id[i]);
    free(p->a);
    free(p->b);
    free(p->id);
}

/* Two-sided p of a paired bootstrap on the mean difference (b - a),
 * seeded: the share of resamples on the other side of zero, doubled. */
static double bootstrap_p(const struct pairs *p)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned r, reps = 2000, below = 0, above = 0;
    size_t i;

    if (p->n < 2)
        return 1;
    for (r = 0; r < reps; r++) {
        double s = 0;

        for (i = 0; i < p->n; i++) {
            size_t k;

            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            k = (size_t)(x % p->n);
            s += p->b[k] - p->a[k];
        }
        below += s <= 0;
        above += s >= 0;
    }
    return fmin(1, 2.0 * fmin(below, above) / reps);
}

struct hfe_cmp_side *hfe_cmp_open(const char *run, const char *model,
                                  struct hfe_err *err)
{
    struct hfe_cmp_side *s = hfe_xcalloc(1, sizeof(*s));

    if (load_side(s, run, model, err) != 0) {
        hfe_cmp_close(s);
        return NULL;
    }
    return s;
}

void hfe_cmp_close(struct hfe_cmp_side *s)
{
    if (s) {
        free_side(s);
        free(s);
    }
}

/* The paired test on pairs already made: McNemar's exact test when every
 * value is 0 or 1, a paired bootstrap otherwise; p is -1 with no pair. */
static void paired_test(const struct pairs *pr, struct hfe_paired *out)
{
    size_t k;
    int binary = 1;

    memset(out, 0, sizeof(*out));
    out->n = pr->n;
    for (k = 0; k < pr->n; k++)
        binary &= (pr->a[k] == 0 || pr->a[k] == 1) &&
                  (pr->b[k] == 0 || pr->b[k] == 1);
    out->binary = pr->n && binary;
    if (out->binary) {
        for (k = 0; k < pr->n; k++) {
            out->worse += pr->a[k] == 1 && pr->b[k] == 0;
            out->better += pr->a[k] == 0 && pr->b[k] == 1;
        }
        out->p = hfe_mcnemar_p(out->worse, out->better);
    } else {
        out->p = pr->n ? bootstrap_p(pr) : -1;
    }
}

int hfe_cmp_paired(const struct hfe_cmp_side *a, const struct hfe_cmp_side *b,
                   const char *suite, const char *task, const char *metric,
                   struct hfe_paired *out)
{
    struct pairs pr;

    pair_up(a, b, suite, task, metric, &pr);
    paired_test(&pr, out);
    free_pairs(&pr);
    return out->n ? 0 : -1;
}

/* Append the ids of the pairs going from x to y to out, at most max. */
static void flip_ids(const struct pairs *pr, double x, double y, size_t max,
                     struct hfe_buf *out)
{
    size_t k, n = 0;

    for (k = 0; k < pr->n; k++)
        if (pr->a[k] == x && pr->b[k] == y && n++ < max)
            hfe_buf_printf(out, "%s%s", n > 1 ? ", " : "", pr->id[k]);
    if (n > max)
        hfe_buf_printf(out, " and %zu more", n - max);
}

int hfe_cmp_flips(const struct hfe_cmp_side *a, const struct hfe_cmp_side *b,
                  const char *suite, const char *task, const char *metric,
                  size_t max, struct hfe_buf *down, struct hfe_buf *up)
{
    struct pairs pr;
    int rc;

    pair_up(a, b, suite, task, metric, &pr);
    rc = pr.n ? 0 : -1;
    flip_ids(&pr, 1, 0, max, down);
    flip_ids(&pr, 0, 1, max, up);
    free_pairs(&pr);
    return rc;
}

/* ---- the gate ----------------------------------------------------------- */

/* A comparison under way. */
struct gate {
    const struct hfe_compare_opts *o;
    struct hfe_cmp_side s[2]; /* baseline, candidate */
    struct hfe_buf *out;
    struct hfe_buf cases; /* JUnit: the testcases, wrapped at the end */
    size_t n;             /* tests so far                             */
    size_t n_failed;
    int failed;
};

/* One JUnit testcase: classname suite/task, name the metric; a failure
 * with message and body (NULL for none) when bad. */
static void junit_case(struct gate *g, const char *suite, const char *task,
                       const char *metric, int bad, const char *message,
                       const char *body)
{
    struct hfe_buf *b = &g->cases;

    g->n_failed += bad != 0;
    hfe_buf_puts(b, "    <testcase classname=\"");
    hfe_buf_markup(b, suite);
    hfe_buf_puts(b, "/");
    hfe_buf_markup(b, task);
    hfe_buf_puts(b, "\" name=\"");
    hfe_buf_markup(b, metric);
    hfe_buf_puts(b, "\">");
    if (bad) {
        hfe_buf_puts(b, "<failure type=\"regression\" message=\"");
        hfe_buf_markup(b, message);
        hfe_buf_puts(b, "\">");
        hfe_buf_markup(b, body ? body : message);
        hfe_buf_puts(b, "</failure>");
    } else {
        hfe_buf_puts(b, "<system-out>");
        hfe_buf_markup(b, message);
        hfe_buf_puts(b, "</system-out>");
    }
    hfe_buf_puts(b, "</testcase>\n");
}

/* The tolerance named for metric, or NULL. */
static const struct hfe_tol *tolerance(const struct hfe_compare_opts *o,
                                       const char *metric)
{
    const struct hfe_tol *t = NULL;
    size_t i;

    for (i = 0; i < o->n_tol; i++)
        if (!strcmp(o->tol[i].metric, metric))
            t = &o->tol[i]; /* the last one named wins */
    return t;
}

/* A candidate row with no value: the task failed, or the value is NaN. */
static void row_failed(struct gate *g, const cJSON *r, const char *suite,
                       const char *task, const char *metric)
{
    const char *why = hfe_json_get_str(r, "error");

    g->failed = 1;
    g->n++;
    if (g->o->format == HFE_CMP_TAP)
        hfe_buf_printf(g->out, "not ok %zu - %s/%s %s: %s\n", g->n, suite, task,
                       metric ? metric : "(the task)",
                       metric ? "no value (NaN)"
                       : why  ? why
                              : "failed");
    else if (g->o->format == HFE_CMP_JUNIT)
        junit_case(g, suite, task, metric ? metric : "(the task)", 1,
                   metric ? "no value (NaN)"
                   : why  ? why
                          : "failed",
                   NULL);
    else
        hfe_buf_printf(g->out,
                       "| %s/%s | %s | | failed | | | **regressed** |\n", suite,
                       task, metric ? metric : "-");
}

/* A candidate's KLD against --max-kld. */
static void row_kld(struct gate *g, const char *suite, const char *task,
                    double kld)
{
    int bad = kld > g->o->max_kld;

    g->failed |= bad;
    g->n++;
    if (g->o->format == HFE_CMP_TAP) {
        hfe_buf_printf(g->out, "%sok %zu - %s/%s kld: %.6g %s %.6g\n",
                       bad ? "not " : "", g->n, suite, task, kld,
                       bad ? ">" : "<=", g->o->max_kld);
    } else if (g->o->format == HFE_CMP_JUNIT) {
        char msg[96];

        snprintf(msg, sizeof(msg), "kld %.6g %s %.6g", kld,
                 bad ? ">" : "<=", g->o->max_kld);
        junit_case(g, suite, task, "kld", bad, msg, NULL);
    } else
        hfe_buf_printf(g->out, "| %s/%s | kld | | %.6g | | | %s |\n", suite,
                       task, kld, bad ? "**fails --max-kld**" : "ok");
}

/* The paired test of a metric, described in test. */
static void describe(const struct hfe_paired *pt, char *test, size_t n)
{
    if (pt->binary)
        snprintf(test, n,
                 "McNemar p=%.4g, %u right->wrong, %u wrong->right, %zu "
                 "paired",
                 pt->p, pt->worse, pt->better, pt->n);
    else if (pt->n)
        snprintf(test, n, "paired bootstrap p=%.3g, %zu paired", pt->p, pt->n);
}

/* A metric both runs have: its drop against its tolerance, and with
 * --alpha only a significant one fails. */
static void row_metric(struct gate *g, const char *suite, const char *task,
                       const char *metric, double a, double b, double limit)
{
    const struct hfe_compare_opts *o = g->o;
    double drop = hfe_cmp_lower_better(metric) ? b - a : a - b, p;
    char test[160] = "";
    struct hfe_paired pt;
    struct pairs pr;
    size_t k;
    int bad;

    pair_up(&g->s[0], &g->s[1], suite, task, metric, &pr);
    paired_test(&pr, &pt);
    describe(&pt, test, sizeof(test));
    p = pt.p;
    /* with no paired test (corpus metrics), the tolerance decides */
    bad = drop > limit + 1e-12 && (o->alpha <= 0 || p < 0 || p < o->alpha);
    g->failed |= bad;
    g->n++;
    if (o->format != HFE_CMP_MD) {
        int tap = o->format == HFE_CMP_TAP;
        char msg[384];
        struct hfe_buf body = {0}; /* JUnit: the failure's text */
        struct hfe_buf *items = tap ? g->out : &body;

        snprintf(msg, sizeof(msg), "%.4f -> %.4f (%s %.4f %s %g%s%s)", a, b,
                 drop > 0   ? "drop"
                 : drop < 0 ? "gain"
                            : "change",
                 fabs(drop), drop > limit ? ">" : "<=", limit,
                 test[0] ? "; " : "", test);
        if (tap)
            hfe_buf_printf(g->out, "%sok %zu - %s/%s %s: %s\n",
                           bad ? "not " : "", g->n, suite, task, metric, msg);
        else
            hfe_buf_printf(&body, "%s\n", msg);
        for (k = 0; bad && pt.binary && pt.worse && k < pr.n; k++)
            if (pr.a[k] == 1 && pr.b[k] == 0)
                hfe_buf_printf(items, "%sright -> wrong: %s\n",
                               tap ? "#   " : "", pr.id[k]);
        if (!tap)
            junit_case(g, suite, task, metric, bad, msg, body.s);
        hfe_buf_free(&body);
    } else {
        char pv[32] = "-";

        if (p >= 0)
            snprintf(pv, sizeof(pv), "%.3g", p);
        hfe_buf_printf(
            g->out, "| %s/%s | %s | %.4f | %.4f | %+.4f | %s | %s |\n", suite,
            task, metric, a, b, b - a, pv, bad ? "**regressed**" : "ok");
    }
    free_pairs(&pr);
}

/* One result row of the candidate's model. */
static void candidate_row(struct gate *g, const cJSON *r)
{
    const char *mo = hfe_json_get_str(r, "model"),
               *metric = hfe_json_get_str(r, "metric"),
               *suite = hfe_json_get_str(r, "suite"),
               *task = hfe_json_get_str(r, "task");
    const cJSON *va = cJSON_GetObjectItem(r, "value"), *base;
    const struct hfe_tol *t;

    if (!mo || !suite || !task || strcmp(mo, g->s[1].model))
        return;
    if (!metric || !cJSON_IsNumber(va)) {
        if (!(metric && !tolerance(g->o, metric) &&
              hfe_cmp_measurement(metric)))
            row_failed(g, r, suite, task, metric);
        return;
    }
    if (g->o->max_kld >= 0 && !strcmp(metric, "kld")) {
        row_kld(g, suite, task, va->valuedouble);
        return;
    }
    t = tolerance(g->o, metric);
    if (!t && hfe_cmp_measurement(metric))
        return;
    base = result(&g->s[0], suite, task, metric);
    if (base && cJSON_IsNumber(cJSON_GetObjectItem(base, "value")))
        row_metric(g, suite, task, metric,
                   cJSON_GetObjectItem(base, "value")->valuedouble,
                   va->valuedouble, t ? t->drop : 0);
}

/* A baseline row the candidate lacks is a regression. */
static void baseline_row(struct gate *g, const cJSON *r)
{
    const char *mo = hfe_json_get_str(r, "model"),
               *metric = hfe_json_get_str(r, "metric"),
               *suite = hfe_json_get_str(r, "suite"),
               *task = hfe_json_get_str(r, "task");

    if (!mo || !metric || !suite || !task || strcmp(mo, g->s[0].model) ||
        (!tolerance(g->o, metric) && hfe_cmp_measurement(metric)) ||
        !strncmp(metric, "kld", 3) || result(&g->s[1], suite, task, metric))
        return;
    g->failed = 1;
    g->n++;
    if (g->o->format == HFE_CMP_TAP)
        hfe_buf_printf(g->out,
                       "not ok %zu - %s/%s %s: in the baseline, missing "
                       "from the candidate\n",
                       g->n, suite, task, metric);
    else if (g->o->format == HFE_CMP_JUNIT)
        junit_case(g, suite, task, metric, 1,
                   "in the baseline, missing from the candidate", NULL);
    else
        hfe_buf_printf(g->out,
                       "| %s/%s | %s | | missing | | | **regressed** |\n",
                       suite, task, metric);
}

int hfe_compare(const struct hfe_compare_opts *o, struct hfe_buf *out,
                size_t *n_tests, struct hfe_err *err)
{
    struct gate g = {.o = o, .out = out};
    const cJSON *r;
    int i, rc = 0;

    hfe_buf_add(out, "", 0);
    for (i = 0; i < 2 && !rc; i++)
        rc = load_side(&g.s[i], o->runs[i], o->models[i], err);
    if (rc)
        goto out;
    if (o->format == HFE_CMP_MD)
        hfe_buf_printf(out,
                       "| suite/task | metric | %s | %s | change | p | |\n"
                       "| --- | --- | ---: | ---: | ---: | ---: | --- |\n",
                       g.s[0].model, g.s[1].model);
    /* each candidate row; then each baseline row it lacks */
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(g.s[1].run, "results"))
        candidate_row(&g, r);
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(g.s[0].run, "results"))
        baseline_row(&g, r);
    if (o->format == HFE_CMP_TAP)
        hfe_buf_printf(out, "1..%zu\n", g.n);
    if (o->format == HFE_CMP_JUNIT) {
        hfe_buf_printf(out,
                       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<testsuites tests=\"%zu\" failures=\"%zu\">\n"
                       "  <testsuite name=\"",
                       g.n, g.n_failed);
        hfe_buf_markup(out, g.s[1].model);
        hfe_buf_puts(out, " against ");
        hfe_buf_markup(out, g.s[0].model);
        hfe_buf_printf(out, "\" tests=\"%zu\" failures=\"%zu\">\n", g.n,
                       g.n_failed);
        if (g.cases.len)
            hfe_buf_add(out, g.cases.s, g.cases.len);
        hfe_buf_puts(out, "  </testsuite>\n</testsuites>\n");
    }
    rc = g.failed || !g.n ? HFE_EXIT_FAIL : 0;
out:
    hfe_buf_free(&g.cases);
    *n_tests = g.n;
    free_side(&g.s[0]);
    free_side(&g.s[1]);
    return rc;
}
