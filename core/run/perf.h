/*
 * perf.h - what a model's run cost, measured on the work the run itself
 * did (its batched load, not speed.lua's one request at a time): the
 * backend's load time, prompt and decode token rates and memory, and the
 * time to first token and latency of each request, as their median and
 * 90th percentile.  run.json's models[].measure (results/README.md).
 */
#ifndef HFEVAL_PERF_H
#define HFEVAL_PERF_H

#include <stddef.h>

#include "hfeval-plugin.h"
#include "hfeval.h"

struct hfe_perf {
    double *ttft, *lat; /* ms, of each request that has one */
    size_t n_ttft, n_lat, cap_ttft, cap_lat;
    unsigned long long generated; /* tokens the completions hold */
    double t0;                    /* when the model was opened, seconds */
};

void hfe_perf_start(struct hfe_perf *p);
/* A request's timings (0: the backend did not time it). */
void hfe_perf_add(struct hfe_perf *p, const struct hfe_result *r);
/* The "measure" object, from p and the backend's own counters. */
void hfe_perf_json(struct hfe_buf *b, struct hfe_perf *p,
                   const struct hfe_backend *be, struct hfe_model *m);
void hfe_perf_free(struct hfe_perf *p);
/* The key of a backend's memory kind ("kv" -> "kv_mib"), or NULL. */
const char *hfe_perf_mem_key(const char *kind);

#endif /* HFEVAL_PERF_H */
