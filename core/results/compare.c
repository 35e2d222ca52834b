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

/* A string member, or NULL: records may be hand-edited or older. */
static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int samp_cmp(const void *a, const void *b)
{
    const struct samp *x = a, *y = b;
    int c = strcmp(x->suite, y->suite);

    if (!c)
        c = strcmp(x->task, y->task);
    return c ? c : (x->doc > y->doc) - (x->doc < y->doc);
}

struct tol {
    const char *metric;
    double drop;
};

/* Measurements, not quality: compared only when named. */
static int measurement(const char *m)
{
    static const char *const v[] = {"prompt_tokens", "prompt_tok_s",
                                    "decode_tok_s",  "ttft_ms",
                                    "weights_mib",   "kv_mib",
                                    "peak_rss_mib",  "kld",
                                    "kld_p99",       "kld_max",
                                    "delta_p",       "rms_delta_p",
                                    "same_top",      NULL};
    const char *const *p;

    if (!strncmp(m, "class=", 6))
        return 1;
    for (p = v; *p; p++)
        if (!strcmp(*p, m))
            return 1;
    return 0;
}

static int named_in(const struct tol *t, size_t n, const char *metric)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!strcmp(t[i].metric, metric))
            return 1;
    return 0;
}

/* Lower is better for these. */
static int lower_better(const char *m)
{
    return !strcmp(m, "ppl_token") || !strcmp(m, "bits_per_byte") ||
           !strncmp(m, "kld", 3) || !strcmp(m, "rms_delta_p") ||
           !strcmp(m, "ttft_ms") || !strcmp(m, "failed_errors") ||
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

static char *slurp(const char *path, struct hfe_err *err, int *rc)
{
    char *text;
    size_t len;

    *rc = hfe_read_file(path, &text, &len, err) ? HFE_EXIT_IO : 0;
    return *rc ? NULL : text;
}

/* Loads a run (a directory or its run.json) and picks the model. */
static int load_side(struct hfe_cmp_side *s, const char *arg, const char *model,
                     struct hfe_err *err)
{
    size_t n = strlen(arg);
    char *path, *text, *line, *next;
    const cJSON *models, *m = NULL;
    int rc;

    s->dir = n > 9 && !strcmp(arg + n - 9, "/run.json")
                 ? hfe_xstrndup(arg, n - 9)
                 : hfe_xstrdup(arg);
    path = hfe_xasprintf("%s/run.json", s->dir);
    text = slurp(path, err, &rc);
    if (!text) {
        free(path);
        return rc;
    }
    s->run = cJSON_Parse(text);
    free(text);
    if (!s->run || !str(s->run, "schema") ||
        strcmp(str(s->run, "schema"), "hfeval.run/1")) {
        hfe_err_set(err, "%s: expected a run record (schema hfeval.run/1)",
                    path);
        free(path);
        return HFE_EXIT_DATA;
    }
    free(path);
    models = cJSON_GetObjectItem(s->run, "models");
    if (model) {
        const cJSON *e;

        cJSON_ArrayForEach(e, models)
        {
            if (str(e, "name") && !strcmp(str(e, "name"), model))
                m = e;
        }
        if (!m) {
            hfe_err_set(err, "%s: no model '%s' in this run", s->dir, model);
            return HFE_EXIT_USAGE;
        }
    } else if (cJSON_GetArraySize(models) != 1) {
        hfe_err_set(err,
                    "%s: %d models in this run: name one with "
                    "--baseline-model / --candidate-model",
                    s->dir, cJSON_GetArraySize(models));
        return HFE_EXIT_USAGE;
    } else if (!str(m = cJSON_GetArrayItem(models, 0), "name")) {
        hfe_err_set(err, "%s/run.json: a model without a name", s->dir);
        return HFE_EXIT_DATA;
    }
    s->model = hfe_xstrdup(str(m, "name"));
    path = hfe_xasprintf("%s/samples.jsonl", s->dir);
    text = slurp(path, err, &rc);
    free(path);
    if (!text)
        return rc;
    for (line = text; line && *line; line = next) {
        cJSON *r;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!*line)
            continue;
        r = cJSON_Parse(line);
        /* the model's sample records; anything else is not paired */
        if (!str(r, "model") || strcmp(str(r, "model"), s->model) ||
            !str(r, "suite") || !str(r, "task") ||
            !cJSON_IsNumber(cJSON_GetObjectItem(r, "doc_id")) ||
            !cJSON_IsObject(cJSON_GetObjectItem(r, "metrics"))) {
            cJSON_Delete(r);
            continue;
        }
        if (!(s->n & (s->n - 1))) /* a power of two: double */
            s->samples = hfe_xrealloc(s->samples,
                                      (s->n ? 2 * s->n : 1) * sizeof(cJSON *));
        s->samples[s->n++] = r;
    }
    free(text);
    s->idx = hfe_xcalloc(s->n + 1, sizeof(*s->idx));
    for (s->n_idx = 0; s->n_idx < s->n; s->n_idx++) {
        const cJSON *r = s->samples[s->n_idx];

        s->idx[s->n_idx] =
            (struct samp){str(r, "suite"), str(r, "task"), str(r, "item_id"),
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
        const char *mo = str(r, "model"), *su = str(r, "suite"),
                   *ta = str(r, "task"), *me = str(r, "metric");

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

int hfe_cmp_paired(const struct hfe_cmp_side *a, const struct hfe_cmp_side *b,
                   const char *suite, const char *task, const char *metric,
                   struct hfe_paired *out)
{
    struct pairs pr;
    size_t k;
    int binary = 1;

    memset(out, 0, sizeof(*out));
    pair_up(a, b, suite, task, metric, &pr);
    out->n = pr.n;
    for (k = 0; k < pr.n; k++)
        binary &=
            (pr.a[k] == 0 || pr.a[k] == 1) && (pr.b[k] == 0 || pr.b[k] == 1);
    out->binary = pr.n && binary;
    if (out->binary) {
        for (k = 0; k < pr.n; k++) {
            out->worse += pr.a[k] == 1 && pr.b[k] == 0;
            out->better += pr.a[k] == 0 && pr.b[k] == 1;
        }
        out->p = hfe_mcnemar_p(out->worse, out->better);
    } else {
        out->p = pr.n ? bootstrap_p(&pr) : -1;
    }
    free_pairs(&pr);
    return pr.n ? 0 : -1;
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "hfeval compare: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr,
            "\nusage: hfeval compare BASELINE CANDIDATE [--baseline-model "
            "NAME] [--candidate-model NAME] [--max-drop METRIC=VALUE ...] "
            "[--max-kld X] [--alpha A] [--format tap|md]\n");
    return HFE_EXIT_USAGE;
}

int hfe_compare_main(int argc, char **argv)
{
    const char *args[2] = {0}, *mname[2] = {0}, *format = "tap";
    struct tol *tol = hfe_xcalloc((size_t)argc + 1, sizeof(*tol));
    struct hfe_cmp_side s[2];
    struct hfe_buf out = {0};
    struct hfe_err err;
    double alpha = 0, max_kld = -1;
    size_t n_tol = 0, n = 0, t;
    int i, na = 0, rc = 0, failed = 0;
    const cJSON *r;

    memset(s, 0, sizeof(s));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end;

        if (i + 1 < argc && (!strcmp(a, "--baseline-model") ||
                             !strcmp(a, "--candidate-model"))) {
            mname[a[2] == 'c'] = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--max-drop")) {
            char *eq = strchr(argv[++i], '=');

            if (!eq || eq == argv[i] ||
                (tol[n_tol].drop = strtod(eq + 1, &end),
                 *end || end == eq + 1)) {
                rc = usage("--max-drop needs METRIC=VALUE, got '%s'", argv[i]);
                goto out;
            }
            *eq = '\0';
            tol[n_tol++].metric = argv[i];
        } else if (i + 1 < argc && !strcmp(a, "--max-kld")) {
            max_kld = strtod(argv[++i], &end);
            if (*end || max_kld < 0) {
                rc = usage("--max-kld needs a number, got '%s'", argv[i]);
                goto out;
            }
        } else if (i + 1 < argc && !strcmp(a, "--alpha")) {
            alpha = strtod(argv[++i], &end);
            if (*end || alpha <= 0 || alpha >= 1) {
                rc = usage("--alpha needs a level between 0 and 1, got '%s'",
                           argv[i]);
                goto out;
            }
        } else if (i + 1 < argc && !strcmp(a, "--format")) {
            format = argv[++i];
            if (strcmp(format, "tap") && strcmp(format, "md")) {
                rc = usage("--format is tap or md, got '%s'", format);
                goto out;
            }
        } else if (a[0] == '-') {
            rc = usage("unknown option '%s' (or it needs a value)", a);
            goto out;
        } else if (na < 2) {
            args[na++] = a;
        } else {
            rc = usage("one baseline and one candidate, got a third: '%s'", a);
            goto out;
        }
    }
    if (na != 2) {
        rc = usage("%s", "name a BASELINE and a CANDIDATE run");
        goto out;
    }
    for (i = 0; i < 2; i++)
        if ((rc = load_side(&s[i], args[i], mname[i], &err)) != 0) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
            goto out;
        }

    hfe_buf_add(&out, "", 0);
    if (!strcmp(format, "md"))
        hfe_buf_printf(&out,
                       "| suite/task | metric | %s | %s | change | p | |\n"
                       "| --- | --- | ---: | ---: | ---: | ---: | --- |\n",
                       s[0].model, s[1].model);
    /* each candidate row; then each baseline row it lacks */
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(s[1].run, "results"))
    {
        const char *mo = str(r, "model"), *metric = str(r, "metric"),
                   *suite = str(r, "suite"), *task = str(r, "task");
        const cJSON *va = cJSON_GetObjectItem(r, "value"), *base;
        double a, b, drop, p = -1, limit = 0;
        struct pairs pr;
        int named = 0, binary = 1, bad;
        size_t k, flips = 0;
        char test[160] = "";

        if (!mo || !suite || !task || strcmp(mo, s[1].model))
            continue;
        if (!metric || !cJSON_IsNumber(va)) { /* failed, or NaN */
            if (metric && !named_in(tol, n_tol, metric) && measurement(metric))
                continue;
            failed = 1;
            n++;
            if (!strcmp(format, "tap"))
                hfe_buf_printf(&out, "not ok %zu - %s/%s %s: %s\n", n, suite,
                               task, metric ? metric : "(the task)",
                               metric            ? "no value (NaN)"
                               : str(r, "error") ? str(r, "error")
                                                 : "failed");
            else
                hfe_buf_printf(&out,
                               "| %s/%s | %s | | failed | | | "
                               "**regressed** |\n",
                               suite, task, metric ? metric : "-");
            continue;
        }
        if (max_kld >= 0 && !strcmp(metric, "kld")) {
            bad = va->valuedouble > max_kld;
            failed |= bad;
            n++;
            if (!strcmp(format, "tap"))
                hfe_buf_printf(&out, "%sok %zu - %s/%s kld: %.6g %s %.6g\n",
                               bad ? "not " : "", n, suite, task,
                               va->valuedouble, bad ? ">" : "<=", max_kld);
            else
                hfe_buf_printf(&out, "| %s/%s | kld | | %.6g | | | %s |\n",
                               suite, task, va->valuedouble,
                               bad ? "**fails --max-kld**" : "ok");
            continue;
        }
        for (t = 0; t < n_tol; t++)
            if (!strcmp(tol[t].metric, metric)) {
                named = 1;
                limit = tol[t].drop;
            }
        if (!named && measurement(metric))
            continue;
        if (!(base = result(&s[0], suite, task, metric)) ||
            !cJSON_IsNumber(cJSON_GetObjectItem(base, "value")))
            continue;
        a = cJSON_GetObjectItem(base, "value")->valuedouble;
        b = va->valuedouble;
        drop = lower_better(metric) ? b - a : a - b;
        pair_up(&s[0], &s[1], suite, task, metric, &pr);
        for (k = 0; k < pr.n; k++)
            binary &= (pr.a[k] == 0 || pr.a[k] == 1) &&
                      (pr.b[k] == 0 || pr.b[k] == 1);
        if (pr.n && binary) {
            unsigned bw = 0, wb = 0;

            for (k = 0; k < pr.n; k++) {
                bw += pr.a[k] == 1 && pr.b[k] == 0;
                wb += pr.a[k] == 0 && pr.b[k] == 1;
            }
            p = hfe_mcnemar_p(bw, wb);
            flips = bw;
            snprintf(test, sizeof(test),
                     "McNemar p=%.4g, %u right->wrong, "
                     "%u wrong->right, %zu paired",
                     p, bw, wb, pr.n);
        } else if (pr.n) {
            p = bootstrap_p(&pr);
            snprintf(test, sizeof(test), "paired bootstrap p=%.3g, %zu paired",
                     p, pr.n);
        }
        /* with no paired test (corpus metrics), the tolerance decides */
        bad = drop > limit + 1e-12 && (alpha <= 0 || p < 0 || p < alpha);
        failed |= bad;
        n++;
        if (!strcmp(format, "tap")) {
            hfe_buf_printf(
                &out, "%sok %zu - %s/%s %s: %.4f -> %.4f (%s %.4f %s %g%s%s)\n",
                bad ? "not " : "", n, suite, task, metric, a, b,
                drop > 0   ? "drop"
                : drop < 0 ? "gain"
                           : "change",
                fabs(drop), drop > limit ? ">" : "<=", limit,
                test[0] ? "; " : "", test);
            if (bad && flips)
                for (k = 0; k < pr.n; k++)
                    if (pr.a[k] == 1 && pr.b[k] == 0)
                        hfe_buf_printf(&out, "#   right -> wrong: %s\n",
                                       pr.id[k]);
        } else {
            char pv[32] = "-";

            if (p >= 0)
                snprintf(pv, sizeof(pv), "%.3g", p);
            hfe_buf_printf(
                &out, "| %s/%s | %s | %.4f | %.4f | %+.4f | %s | %s |\n", suite,
                task, metric, a, b, b - a, pv, bad ? "**regressed**" : "ok");
        }
        free_pairs(&pr);
    }
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(s[0].run, "results"))
    {
        const char *mo = str(r, "model"), *metric = str(r, "metric"),
                   *suite = str(r, "suite"), *task = str(r, "task");

        if (!mo || !metric || !suite || !task || strcmp(mo, s[0].model) ||
            (!named_in(tol, n_tol, metric) && measurement(metric)) ||
            !strncmp(metric, "kld", 3) || result(&s[1], suite, task, metric))
            continue;
        failed = 1;
        n++;
        if (!strcmp(format, "tap"))
            hfe_buf_printf(&out,
                           "not ok %zu - %s/%s %s: in the baseline, missing "
                           "from the candidate\n",
                           n, suite, task, metric);
        else
            hfe_buf_printf(&out,
                           "| %s/%s | %s | | missing | | | "
                           "**regressed** |\n",
                           suite, task, metric);
    }
    if (!strcmp(format, "tap"))
        hfe_buf_printf(&out, "1..%zu\n", n);
    fputs(out.s, stdout);
    rc = failed ? HFE_EXIT_FAIL : 0;
    if (!n) {
        fprintf(stderr, "hfeval compare: no metric in common\n");
        rc = HFE_EXIT_FAIL;
    }
out:
    free_side(&s[0]);
    free_side(&s[1]);
    free(tol);
    hfe_buf_free(&out);
    return rc;
}
