/*
 * fidelity.c - KLD, same top token and Δp of a derivative against its
 * base.  See fidelity.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fidelity.h"
#include "hfeval.h"

/* llama-perplexity's floor: log-probabilities below max - 16 are stored
 * as the floor and left out of the KLD sum. */
#define FLOOR_NATS 16.f

void hfe_fid_keep(struct hfe_fid_base *b, uint32_t n_vocab, const float *lp,
                  const float *lp_tok, size_t n)
{
    size_t i;
    uint32_t v;

    b->n_vocab = n_vocab;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->q = hfe_xrealloc(b->q, b->cap * n_vocab * sizeof(*b->q));
        b->lo = hfe_xrealloc(b->lo, b->cap * sizeof(*b->lo));
        b->step = hfe_xrealloc(b->step, b->cap * sizeof(*b->step));
        b->lp_tok = hfe_xrealloc(b->lp_tok, b->cap * sizeof(*b->lp_tok));
    }
    for (i = 0; i < n; i++) {
        const float *p = lp + i * (size_t)n_vocab;
        uint16_t *q = b->q + (b->n + i) * (size_t)n_vocab;
        float mx = p[0], mn = p[0], step;

        for (v = 1; v < n_vocab; v++) {
            mx = p[v] > mx ? p[v] : mx;
            mn = p[v] < mn ? p[v] : mn;
        }
        if (mn < mx - FLOOR_NATS)
            mn = mx - FLOOR_NATS;
        step = (mx - mn) / 65535.f;
        /* nearest step, ties to even, as llama-perplexity's nearest_int */
        for (v = 0; v < n_vocab; v++)
            q[v] = step && p[v] > mn ? (uint16_t)nearbyintf((p[v] - mn) / step)
                                     : 0;
        b->lo[b->n + i] = mn;
        b->step[b->n + i] = step;
        b->lp_tok[b->n + i] = lp_tok[i];
    }
    b->n += n;
}

void hfe_fid_compare(const struct hfe_fid_base *b, size_t at, const float *lp,
                     const float *lp_tok, size_t n, struct hfe_fid_acc *acc)
{
    uint32_t nv = b->n_vocab, v;
    size_t i;

    if (acc->n + n > acc->cap) {
        acc->cap = (acc->n + n) * 2;
        acc->each = hfe_xrealloc(acc->each, acc->cap * sizeof(*acc->each));
    }
    for (i = 0; i < n; i++) {
        const uint16_t *q = b->q + (at + i) * (size_t)nv;
        const float *pm = lp + i * (size_t)nv;
        float lo = b->lo[at + i], step = b->step[at + i], top = 0;
        uint32_t tb = 0, tm = 0;
        double s = 0, dp;

        for (v = 0; v < nv; v++) {
            float p = step * q[v] + lo;

            /* the first largest, on both sides */
            if (v == 0 || p > top) {
                top = p;
                tb = v;
            }
            if (pm[v] > pm[tm])
                tm = v;
            if (p > -FLOOR_NATS)
                s += exp(p) * ((double)p - pm[v]);
        }
        dp = exp(lp_tok[i]) - exp(b->lp_tok[at + i]);
        acc->kld += s;
        acc->kld2 += s * s;
        acc->dp += dp;
        acc->dp2 += dp * dp;
        acc->same_top += tb == tm;
        acc->each[acc->n++] = s;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double hfe_fid_quantile(struct hfe_fid_acc *acc, double q)
{
    double pos;
    size_t lo;

    if (!acc->n)
        return 0;
    qsort(acc->each, acc->n, sizeof(*acc->each), cmp_double);
    pos = q * (double)(acc->n - 1);
    lo = (size_t)pos;
    if (lo + 1 >= acc->n)
        return acc->each[acc->n - 1];
    return acc->each[lo] + (pos - lo) * (acc->each[lo + 1] - acc->each[lo]);
}

void hfe_fid_hist(const double *kld, size_t n,
                  unsigned long counts[HFE_FID_HIST_BINS])
{
    size_t i;

    memset(counts, 0, HFE_FID_HIST_BINS * sizeof(*counts));
    for (i = 0; i < n; i++) {
        double x = kld[i], k;

        if (!(x >= 1e-6)) { /* NaN cannot come, but would land here */
            counts[0]++;
            continue;
        }
        k = floor((log10(x) - HFE_FID_HIST_FROM) * HFE_FID_HIST_PER_DECADE);
        /* log10 rounds: put a value on an edge by the edge itself */
        while (k > 0 &&
               x < pow(10, HFE_FID_HIST_FROM + k / HFE_FID_HIST_PER_DECADE))
            k--;
        while (
            k + 1 < HFE_FID_HIST_BINS - 1 &&
            x >= pow(10, HFE_FID_HIST_FROM + (k + 1) / HFE_FID_HIST_PER_DECADE))
            k++;
        counts[k + 1 > HFE_FID_HIST_BINS - 1 ? HFE_FID_HIST_BINS - 1
                                             : (size_t)k + 1]++;
    }
}

void hfe_fid_pack(const struct hfe_fid_base *b, struct hfe_buf *out)
{
    uint64_t head[2] = {b->n_vocab, b->n};

    hfe_buf_add(out, (const char *)head, sizeof(head));
    hfe_buf_add(out, (const char *)b->lo, b->n * sizeof(*b->lo));
    hfe_buf_add(out, (const char *)b->step, b->n * sizeof(*b->step));
    hfe_buf_add(out, (const char *)b->lp_tok, b->n * sizeof(*b->lp_tok));
    hfe_buf_add(out, (const char *)b->q, b->n * b->n_vocab * sizeof(*b->q));
}

int hfe_fid_unpack(const char *data, size_t len, struct hfe_fid_base *b)
{
    uint64_t head[2];
    size_t n, per;

    if (len < sizeof(head))
        return -1;
    memcpy(head, data, sizeof(head));
    if (!head[0] || head[0] > UINT32_MAX || head[1] > SIZE_MAX / 4 / head[0])
        return -1;
    n = (size_t)head[1];
    per = 3 * sizeof(float) + (size_t)head[0] * sizeof(uint16_t);
    if (len != sizeof(head) + n * per)
        return -1;
    memset(b, 0, sizeof(*b));
    b->n_vocab = (uint32_t)head[0];
    b->n = b->cap = n;
    b->lo = hfe_xmalloc(n * sizeof(float) + 1);
    b->step = hfe_xmalloc(n * sizeof(float) + 1);
    b->lp_tok = hfe_xmalloc(n * sizeof(float) + 1);
    b->q = hfe_xmalloc(n * b->n_vocab * sizeof(uint16_t) + 1);
    data += sizeof(head);
    memcpy(b->lo, data, n * sizeof(float));
    memcpy(b->step, data + n * sizeof(float), n * sizeof(float));
    memcpy(b->lp_tok, data + 2 * n * sizeof(float), n * sizeof(float));
    memcpy(b->q, data + 3 * n * sizeof(float),
           n * b->n_vocab * sizeof(uint16_t));
    return 0;
}

void hfe_fid_base_free(struct hfe_fid_base *b)
{
    free(b->q);
    free(b->lo);
    free(b->step);
    free(b->lp_tok);
    memset(b, 0, sizeof(*b));
}

void hfe_fid_acc_free(struct hfe_fid_acc *acc)
{
    free(acc->each);
    memset(acc, 0, sizeof(*acc));
}
