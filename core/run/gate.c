/*
 * gate.c - the sequential gate: the test by betting, and the task run a
 * block at a time against the baseline's items.  See gate.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "compare.h"
#include "gate.h"
#include "json.h"
#include "score.h"

/* ---- the test ----------------------------------------------------------- */

void hfe_seq_init(struct hfe_seq *s, double tol, double detect, double alpha,
                  double beta)
{
    memset(s, 0, sizeof(*s));
    s->tol = tol;
    s->detect = detect;
    s->alpha = alpha;
    s->beta = beta;
}

/* The predictable plug-in bet on a mean above `at`, from the items so
 * far (their mean and variance, each with one prior item: the middle of
 * the indifference zone, variance 1/4), capped at `cap`. */
static double bet(const struct hfe_seq *s, double sign, double at, double cap)
{
    double n = (double)s->n, mid = s->tol + s->detect / 2;
    double mean = (s->sum + mid) / (n + 1), var, gap, b;

    var = (s->n ? s->sum2 - s->sum * s->sum / n : 0) + 0.25;
    var /= n + 1;
    gap = sign * (mean - at);
    if (gap <= 0)
        return 0;
    b = gap / (var + gap * gap);
    return b < cap ? b : cap;
}

enum hfe_seq_verdict hfe_seq_add(struct hfe_seq *s, double d)
{
    double hi = s->tol + s->detect;
    /* half the most that keeps each factor positive: d - tol >= -1 - tol,
     * hi - d >= hi - 1 */
    double l = bet(s, 1, s->tol, 0.5 / (1 + s->tol)),
           m = bet(s, -1, hi, 0.5 / (1 - hi));

    s->log_fail += log1p(l * (d - s->tol));
    s->log_pass += log1p(m * (hi - d));
    s->n++;
    s->sum += d;
    s->sum2 += d * d;
    s->down += d > 0;
    s->up += d < 0;
    if (s->verdict != HFE_SEQ_UNDECIDED)
        return s->verdict;
    if (s->log_fail >= -log(s->alpha))
        s->verdict = HFE_SEQ_FAIL;
    else if (s->log_pass >= -log(s->beta))
        s->verdict = HFE_SEQ_PASS;
    if (s->verdict != HFE_SEQ_UNDECIDED)
        s->decided_at = s->n;
    return s->verdict;
}

const char *hfe_seq_verdict_name(enum hfe_seq_verdict v)
{
    return v == HFE_SEQ_FAIL   ? "fail"
           : v == HFE_SEQ_PASS ? "pass"
                               : "undecided";
}

void hfe_seq_order(size_t *v, size_t n, uint64_t seed)
{
    size_t i;

    for (i = 0; i < n; i++)
        v[i] = i;
    for (i = n; i > 1; i--) {
        size_t k = (size_t)(hfe_splitmix64(&seed) % i), t = v[i - 1];

        v[i - 1] = v[k];
        v[k] = t;
    }
}

/* ---- the gate ----------------------------------------------------------- */

struct hfe_gate {
    struct hfe_gate_opts o;
    struct hfe_cmp_side *side;
    const struct hfe_suite *s;
    const struct hfe_task *t;
    const char *metric;
    double *base; /* the baseline's value of each item asked, in order */
    size_t n;     /* items the baseline scored: the first n of t's      */
};

/* The task the gate takes: the one named, or the suites' only one. */
static int find_task(struct hfe_gate *g, struct hfe_suite *su, size_t n_su,
                     struct hfe_task **out, struct hfe_err *err)
{
    size_t i, k, found = 0;

    for (i = 0; i < n_su; i++)
        for (k = 0; k < su[i].n_tasks; k++) {
            struct hfe_task *t = &su[i].tasks[k];

            if (g->o.task ? !strcmp(t->name, g->o.task)
                          : t->kind != HFE_TASK_COMPLIANCE) {
                found++;
                *out = t;
                g->s = &su[i];
            }
        }
    if (found == 1)
        return 0;
    if (g->o.task)
        hfe_err_set(err, "--gate: %s task '%s' in the suites",
                    found ? "more than one" : "no", g->o.task);
    else
        hfe_err_set(err,
                    "--gate: the suites have %zu tasks: name the one to "
                    "gate with --max-drop TASK:METRIC=D",
                    found);
    return HFE_EXIT_USAGE;
}

/* The baseline's value of each item; those it scored first, shuffled. */
static int pair_items(struct hfe_gate *g, struct hfe_task *t,
                      struct hfe_err *err)
{
    struct hfe_item *it = hfe_xcalloc(t->n + 1, sizeof(*it));
    double *v = hfe_xcalloc(t->n + 1, sizeof(*v));
    size_t *ord, i, n = 0, rest;

    for (i = 0; i < t->n; i++) {
        if (hfe_cmp_value(g->side, g->s->name, t->name,
                          (double)t->items[i].doc_id, g->metric, &v[n]) != 0)
            continue;
        if (!(v[n] >= 0 && v[n] <= 1)) {
            hfe_err_set(err,
                        "%s: %s/%s document %lld: %s is %g; the gate needs a "
                        "value between 0 and 1 an item (acc, exact_match, "
                        "pass@k)",
                        hfe_cmp_dir(g->side), g->s->name, t->name,
                        (long long)t->items[i].doc_id, g->metric, v[n]);
            free(it), free(v);
            return HFE_EXIT_USAGE;
        }
        it[n++] = t->items[i];
    }
    if (!n) {
        hfe_err_set(err,
                    "%s: model '%s' has no %s on task %s/%s: not a run of "
                    "this suite and metric",
                    hfe_cmp_dir(g->side), hfe_cmp_model(g->side), g->metric,
                    g->s->name, t->name);
        free(it), free(v);
        return HFE_EXIT_USAGE;
    }
    rest = n;
    for (i = 0; i < t->n; i++) /* the unpaired after them, never asked */
        if (hfe_cmp_value(g->side, g->s->name, t->name,
                          (double)t->items[i].doc_id, g->metric,
                          &(double){0}) != 0)
            it[rest++] = t->items[i];
    ord = hfe_xcalloc(n, sizeof(*ord));
    hfe_seq_order(ord, n, g->o.seed);
    g->base = hfe_xcalloc(n, sizeof(*g->base));
    for (i = 0; i < n; i++) {
        t->items[i] = it[ord[i]];
        g->base[i] = v[ord[i]];
    }
    memcpy(t->items + n, it + n, (t->n - n) * sizeof(*it));
    g->n = n;
    free(ord), free(it), free(v);
    return 0;
}

int hfe_gate_open(const struct hfe_gate_opts *o, struct hfe_suite *su,
                  size_t n_suites, struct hfe_gate **out, struct hfe_err *err)
{
    struct hfe_gate *g = hfe_xcalloc(1, sizeof(*g));
    struct hfe_task *t = NULL;
    int rc;

    g->o = *o;
    *out = NULL;
    if ((rc = find_task(g, su, n_suites, &t, err)) != 0)
        goto fail;
    g->t = t;
    rc = HFE_EXIT_USAGE;
    if ((t->kind != HFE_TASK_CHOICE && t->kind != HFE_TASK_GENERATE) ||
        t->timing) {
        hfe_err_set(err,
                    "--gate: task '%s' is not one of answers right or "
                    "wrong (a choice or generate task)",
                    t->name);
        goto fail;
    }
    if (!(g->metric = o->metric ? o->metric : t->primary)) {
        hfe_err_set(err,
                    "--gate: task '%s' names no primary metric: give one "
                    "with --max-drop METRIC=D",
                    t->name);
        goto fail;
    }
    if (!(g->side = hfe_cmp_open(o->baseline, o->model, err))) {
        rc = HFE_EXIT_USAGE;
        goto fail;
    }
    if ((rc = pair_items(g, t, err)) != 0)
        goto fail;
    *out = g;
    return 0;
fail:
    hfe_gate_close(g);
    return rc;
}

void hfe_gate_close(struct hfe_gate *g)
{
    if (!g)
        return;
    hfe_cmp_close(g->side);
    free(g->base);
    free(g);
}

int hfe_gate_takes(const struct hfe_gate *g, const struct hfe_task *t)
{
    return g->t == t;
}

/* A block's stats added to the task's, by name. */
static void merge_stats(struct hfe_stats *all, const struct hfe_stats *b)
{
    size_t k, q;

    for (k = 0; k < b->n; k++) {
        const struct hfe_stat *x = &b->v[k];
        struct hfe_stat *y;

        for (q = 0; q < all->n && strcmp(all->v[q].name, x->name); q++)
            ;
        y = q < all->n ? &all->v[q]
                       : hfe_stat_new(all, x->corpus, "%s", x->name);
        y->sum += x->sum;
        y->sum2 += x->sum2;
        y->n += x->n;
    }
}

/* Each record of the block (from mark on, one an item, in order) into
 * the test. */
static int outcomes(struct hfe_gate *g, struct hfe_job *j, struct hfe_seq *q,
                    size_t at, size_t n, size_t mark)
{
    const char *p = j->rec->s + mark, *end = j->rec->s + j->rec->len;
    size_t k;

    for (k = 0; k < n; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        cJSON *r = nl ? cJSON_ParseWithLength(p, (size_t)(nl - p)) : NULL;
        const cJSON *doc = cJSON_GetObjectItem(r, "doc_id"),
                    *v = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItem(r, "metrics"), g->metric);
        int good = cJSON_IsNumber(doc) && cJSON_IsNumber(v) &&
                   doc->valuedouble == (double)j->t->items[at + k].doc_id &&
                   v->valuedouble >= 0 && v->valuedouble <= 1;

        if (good)
            hfe_seq_add(q, g->base[at + k] - v->valuedouble);
        cJSON_Delete(r);
        if (!good) {
            hfe_err_set(j->err,
                        "task '%s', document %lld: the record has no %s "
                        "between 0 and 1 to gate on",
                        j->t->name, (long long)j->t->items[at + k].doc_id,
                        g->metric);
            return HFE_EXIT_FAIL;
        }
        p = nl + 1;
    }
    return 0;
}

/* Runs items at..at+n-1 as a task of their own (a view: the items, and
 * for executed code its per-item timeouts, from at on). */
static int run_block(struct hfe_job *j, size_t at, size_t n, size_t r0,
                     int (*run)(struct hfe_job *), struct hfe_stats *st)
{
    struct hfe_task sub = *j->t;
    struct hfe_execute x;
    struct hfe_job b = *j;
    size_t i;
    int rc;

    sub.items = j->t->items + at;
    sub.n = n;
    if (j->t->exec) {
        x = *j->t->exec;
        if (x.measured) {
            x.limit_s += at;
            x.ref_status += at;
        } else { /* the block's references run with it, once each */
            x.limit_s = NULL;
            x.ref_status = NULL;
        }
        sub.exec = &x;
    }
    memset(&b.st, 0, sizeof(b.st));
    b.t = &sub;
    b.r0 = r0;
    rc = run(&b);
    if (j->t->exec && !j->t->exec->measured) {
        for (i = 0; x.ref_status && i < n; i++)
            free(x.ref_status[i]);
        free(x.ref_status);
        free(x.limit_s);
    }
    *st = b.st;
    return rc;
}

/* run.json's "gate" and the line that says it. */
static void verdict(const struct hfe_gate *g, const struct hfe_job *j,
                    const struct hfe_seq *q, struct hfe_buf *json,
                    struct hfe_buf *say)
{
    const struct hfe_gate_opts *o = &g->o;
    double drop = q->n ? q->sum / (double)q->n : 0;
    static const char *const upper[] = {"UNDECIDED", "FAIL", "PASS"};

    hfe_buf_puts(json, ",\"gate\":{\"baseline\":");
    hfe_json_strz(json, hfe_cmp_dir(g->side));
    hfe_buf_puts(json, ",\"baseline_model\":");
    hfe_json_strz(json, hfe_cmp_model(g->side));
    hfe_buf_puts(json, ",\"suite\":");
    hfe_json_strz(json, g->s->name);
    hfe_buf_puts(json, ",\"task\":");
    hfe_json_strz(json, g->t->name);
    hfe_buf_puts(json, ",\"metric\":");
    hfe_json_strz(json, g->metric);
    hfe_buf_printf(json,
                   ",\"max_drop\":%.9g,\"detect\":%.9g,\"alpha\":%.9g,"
                   "\"beta\":%.9g,\"block\":%zu,\"seed\":%llu,\"items\":%zu,"
                   "\"of\":%zu,\"verdict\":\"%s\",\"decided_at\":",
                   o->tol, o->detect, o->alpha, o->beta, o->block,
                   (unsigned long long)o->seed, q->n, g->n,
                   hfe_seq_verdict_name(q->verdict));
    if (q->verdict == HFE_SEQ_UNDECIDED)
        hfe_buf_puts(json, "null");
    else
        hfe_buf_printf(json, "%zu", q->decided_at);
    hfe_buf_printf(json,
                   ",\"drop\":%.9g,\"down\":%zu,\"up\":%zu,"
                   "\"wealth_fail\":%.9g,\"wealth_pass\":%.9g}",
                   drop, q->down, q->up, exp(q->log_fail), exp(q->log_pass));

    hfe_buf_printf(say,
                   "gate: %s against %s on %s/%s %s: %s after %zu of %zu "
                   "items: drop %.4f (%zu down, %zu up); ",
                   j->model, hfe_cmp_model(g->side), g->s->name, g->t->name,
                   g->metric, upper[q->verdict], q->n, g->n, drop, q->down,
                   q->up);
    if (q->verdict == HFE_SEQ_FAIL)
        hfe_buf_printf(say,
                       "worse by more than %g, at alpha %g (wealth %.3g >= "
                       "%g)\n",
                       o->tol, o->alpha, exp(q->log_fail), 1 / o->alpha);
    else if (q->verdict == HFE_SEQ_PASS)
        hfe_buf_printf(say,
                       "not worse by %g or more, at beta %g (wealth %.3g >= "
                       "%g)\n",
                       o->tol + o->detect, o->beta, exp(q->log_pass),
                       1 / o->beta);
    else
        hfe_buf_printf(say,
                       "neither worse by more than %g at alpha %g nor shown "
                       "within %g at beta %g: not failed\n",
                       o->tol, o->alpha, o->tol + o->detect, o->beta);
}

int hfe_gate_task(struct hfe_gate *g, struct hfe_job *j,
                  int (*run)(struct hfe_job *), enum hfe_seq_verdict *v,
                  struct hfe_buf *json, struct hfe_buf *say)
{
    const struct hfe_task *t = j->t;
    struct hfe_stats *st = hfe_xcalloc(1, sizeof(*st));
    struct hfe_seq q;
    size_t at = 0, r0 = 0, i;
    int rc = 0;

    hfe_seq_init(&q, g->o.tol, g->o.detect, g->o.alpha, g->o.beta);
    memset(&j->st, 0, sizeof(j->st));
    while (rc == 0 && at < g->n && q.verdict == HFE_SEQ_UNDECIDED) {
        size_t n = g->n - at < g->o.block ? g->n - at : g->o.block,
               mark = j->rec->len;

        if ((rc = run_block(j, at, n, r0, run, st)) == 0) {
            merge_stats(&j->st, st);
            rc = outcomes(g, j, &q, at, n, mark);
        }
        for (i = at; i < at + n; i++)
            r0 +=
                t->kind == HFE_TASK_CHOICE ? t->items[i].n_choices : t->samples;
        at += n;
    }
    free(st);
    *v = q.verdict;
    if (rc == 0)
        verdict(g, j, &q, json, say);
    return rc;
}
