/*
 * stats.c - running means and standard errors of a task's metrics, kept
 * in groups.  See score.h.
 */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
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
