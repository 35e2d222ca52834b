/*
 * stats.c - running means and standard errors of a task's metrics, kept
 * in groups.  See score.h.
 */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"

struct hfe_stat *hfe_stat_group(struct hfe_stats *st, size_t n)
{
    struct hfe_stat *g;

    /* every task's metrics fit (HFE_MAX_STATS): more is a bug */
    assert(n <= HFE_MAX_STATS - st->n);
    if (n > HFE_MAX_STATS - st->n)
        return NULL;
    g = &st->v[st->n];
    memset(g, 0, n * sizeof(*g));
    st->n += n;
    return g;
}

static void vname(struct hfe_stat *s, int corpus, const char *fmt, va_list ap)
{
    vsnprintf(s->name, sizeof(s->name), fmt, ap);
    s->corpus = corpus;
}

void hfe_stat_name(struct hfe_stat *s, int corpus, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vname(s, corpus, fmt, ap);
    va_end(ap);
}

struct hfe_stat *hfe_stat_new(struct hfe_stats *st, int corpus, const char *fmt,
                              ...)
{
    struct hfe_stat *s = hfe_stat_group(st, 1);
    va_list ap;

    if (!s) { /* a bug; the spare keeps it off the others */
        st->overflow = 1;
        s = &st->spare;
        memset(s, 0, sizeof(*s));
    }
    va_start(ap, fmt);
    vname(s, corpus, fmt, ap);
    va_end(ap);
    return s;
}

void hfe_stat_add(struct hfe_stat *s, double x)
{
    s->sum += x;
    s->sum2 += x * x;
    s->n++;
}

double hfe_stat_mean(const struct hfe_stat *s)
{
    return s->corpus ? s->sum : s->n ? s->sum / s->n : 0;
}

double hfe_stat_stderr(const struct hfe_stat *s)
{
    double mean, var;

    if (s->n < 2 || s->corpus)
        return 0;
    mean = s->sum / s->n;
    var = (s->sum2 - s->n * mean * mean) / (s->n - 1);
    return var > 0 ? sqrt(var / s->n) : 0;
}

void hfe_stat_pool(struct hfe_stat *out, const struct hfe_stat *const *v,
                   size_t k, int weight_by_size)
{
    double sum = 0, w = 0, var = 0, mean, se2;
    size_t i, n = 0;

    for (i = 0; i < k; i++) {
        double m = hfe_stat_mean(v[i]), se = hfe_stat_stderr(v[i]);
        double wi = weight_by_size ? (double)v[i]->n : 1;

        sum += m * wi;
        w += wi;
        var += ((double)v[i]->n - 1) * (double)v[i]->n * se * se;
        n += v[i]->n;
    }
    mean = w > 0 ? sum / w : 0;
    se2 = n > k ? var / (double)(n - k) / (double)n : 0;
    out->corpus = 0;
    out->n = n;
    out->sum = mean * (double)n;
    /* hfe_stat_stderr gives back sqrt(se2): var_s = se2 n, over n - 1 */
    out->sum2 = n > 1 ? se2 * (double)n * (double)(n - 1) + n * mean * mean
                      : mean * mean * (double)n;
}

/* The stat named metric of the task or group named name: of the tasks
 * (names, st) or of the groups before g (their rows in gst). */
static const struct hfe_stat *member(const struct hfe_group *groups, size_t g,
                                     const struct hfe_stats *gst,
                                     const char *const *names,
                                     struct hfe_stats *const *st, size_t n,
                                     const char *name, const char *metric)
{
    const struct hfe_stats *x = NULL;
    size_t i;

    for (i = 0; i < n && !x; i++)
        if (!strcmp(names[i], name))
            x = st[i];
    for (i = 0; i < g && !x; i++)
        if (!strcmp(groups[i].name, name))
            x = &gst[i];
    for (i = 0; x && i < x->n; i++)
        if (!strcmp(x->v[i].name, metric))
            return &x->v[i];
    return NULL;
}

void hfe_stat_groups(const struct hfe_group *g, size_t n_groups,
                     const char *const *names, struct hfe_stats *const *st,
                     size_t n,
                     void (*row)(void *ud, const char *group,
                                 const struct hfe_stat *s),
                     void *ud)
{
    struct hfe_stats *gst = hfe_xcalloc(n_groups + 1, sizeof(*gst));
    size_t i, m, k;

    for (i = 0; i < n_groups; i++) {
        const struct hfe_stat **v = hfe_xcalloc(g[i].n_members + 1, sizeof(*v));

        for (m = 0; m < g[i].n_metrics; m++) {
            struct hfe_stat *out;

            for (k = 0; k < g[i].n_members; k++)
                if (!(v[k] = member(g, i, gst, names, st, n, g[i].members[k],
                                    g[i].metric[m])))
                    break;
            if (k < g[i].n_members || !(out = hfe_stat_group(&gst[i], 1)))
                continue;
            hfe_stat_name(out, 0, "%s", g[i].metric[m]);
            hfe_stat_pool(out, v, g[i].n_members, g[i].weight_by_size[m]);
            row(ud, g[i].name, out);
        }
        free(v);
    }
    free(gst);
}
