/*
 * perf.c - a model's measurements over its run.  See perf.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "perf.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void hfe_perf_start(struct hfe_perf *p)
{
    memset(p, 0, sizeof(*p));
    p->t0 = now_s();
}

static void push(double **v, size_t *n, size_t *cap, double x)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *v = hfe_xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = x;
}

void hfe_perf_add(struct hfe_perf *p, const struct hfe_result *r)
{
    if (r->status != HFE_OK)
        return;
    p->generated += r->n_gen_tokens;
    if (r->t_first_token_ms > 0)
        push(&p->ttft, &p->n_ttft, &p->cap_ttft, r->t_first_token_ms);
    if (r->t_total_ms > 0)
        push(&p->lat, &p->n_lat, &p->cap_lat, r->t_total_ms);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The q-quantile of v[0..n), sorted: linear between the closest ranks
 * (numpy's default, R's type 7). */
static double quantile(const double *v, size_t n, double q)
{
    double h = q * (double)(n - 1);
    size_t i = (size_t)h;

    return i + 1 < n ? v[i] + (h - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

static void percentiles(struct hfe_buf *b, const char *key, double *v, size_t n)
{
    if (!n)
        return;
    qsort(v, n, sizeof(*v), by_value);
    hfe_buf_printf(b, ",\"%s\":{\"p50\":%.3f,\"p90\":%.3f,\"n\":%zu}", key,
                   quantile(v, n, 0.5), quantile(v, n, 0.9), n);
}

/* Memory kinds as the backend names them, and the key each gets. */
static const char *const kinds[][2] = {{"weights", "weights_mib"},
                                       {"kv", "kv_mib"},
                                       {"compute", "compute_mib"},
                                       {"rss-peak", "peak_rss_mib"},
                                       {"device-peak", "device_peak_mib"}};

const char *hfe_perf_mem_key(const char *kind)
{
    size_t x;

    for (x = 0; x < sizeof(kinds) / sizeof(kinds[0]); x++)
        if (!strcmp(kind, kinds[x][0]))
            return kinds[x][1];
    return NULL;
}

void hfe_perf_json(struct hfe_buf *b, struct hfe_perf *p,
                   const struct hfe_backend *be, struct hfe_model *m)
{
    struct hfe_measure ms;
    size_t k, x;

    hfe_buf_printf(b,
                   ",\"measure\":{\"conditions\":\"batched\",\"wall_s\":%.3f",
                   now_s() - p->t0);
    memset(&ms, 0, sizeof(ms));
    HFE_INIT(&ms);
    if (m && be->measure && be->measure(m, &ms) == HFE_OK) {
        if (ms.load_ms > 0)
            hfe_buf_printf(b, ",\"load_ms\":%.3f", ms.load_ms);
        if (ms.prompt_ms > 0 && ms.n_prompt_tokens)
            hfe_buf_printf(b, ",\"prompt_tokens\":%llu,\"prompt_tok_s\":%.3f",
                           (unsigned long long)ms.n_prompt_tokens,
                           ms.n_prompt_tokens / (ms.prompt_ms / 1e3));
        /* the tokens the completions hold over the time the backend
         * spent generating (its steps also read the prompts) */
        if (ms.decode_ms > 0 && p->generated)
            hfe_buf_printf(b,
                           ",\"generated_tokens\":%llu,\"decode_tok_s\":%.3f",
                           p->generated, p->generated / (ms.decode_ms / 1e3));
        /* by kind: the backend's total, or the sum of its devices' */
        for (x = 0; x < sizeof(kinds) / sizeof(kinds[0]); x++) {
            double tot = 0, dev = 0;
            int n_tot = 0, n_dev = 0;

            for (k = 0; k < ms.n_mem; k++) {
                const char *d = ms.mem[k].device;

                if (strcmp(ms.mem[k].kind, kinds[x][0]))
                    continue;
                if (!d || !strcmp(d, "total") || !strcmp(d, "host"))
                    tot += ms.mem[k].bytes / 1048576.0, n_tot++;
                else
                    dev += ms.mem[k].bytes / 1048576.0, n_dev++;
            }
            if (n_tot || n_dev)
                hfe_buf_printf(b, ",\"%s\":%.3f", kinds[x][1],
                               n_tot ? tot : dev);
        }
    }
    percentiles(b, "ttft_ms", p->ttft, p->n_ttft);
    percentiles(b, "latency_ms", p->lat, p->n_lat);
    hfe_buf_puts(b, "}");
}

void hfe_perf_free(struct hfe_perf *p)
{
    free(p->ttft);
    free(p->lat);
    memset(p, 0, sizeof(*p));
}
