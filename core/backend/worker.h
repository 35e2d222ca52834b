/*
 * worker.h - a model evaluated in a child process.
 *
 * hfe_worker_open() forks: the child opens the model with the backend the
 * parent has loaded, and answers batches over a socket; the parent keeps
 * the suite, the scoring, the journal and the tables.  A crash, an abort,
 * an out-of-memory kill or a hang of the child becomes a failure of that
 * model with the reason (the signal or exit status, and the last lines it
 * logged); the parent and every other model go on.
 *
 * The worker presents itself as a backend: hfe_worker_backend's submit,
 * measure, info and close take the worker (cast to struct hfe_model *),
 * so the code that drives a backend drives a worker unchanged.
 *
 * Watchdog.  A batch that makes no progress (no result) for
 * max(floor, 4 x the longest generation it holds at the decode rate
 * measured so far, + 60 s) seconds is a hang: the child is killed.  The
 * floor is hfe_worker_watchdog_s (300 s; `--watchdog S`).  Opening waits
 * for max(floor, 900 s).
 *
 * Not thread-safe: one thread drives a worker.  SIGINT in the parent
 * (hfe_plug_cancel) kills the child at once: in-flight requests are
 * abandoned with HFE_ECANCELED.
 */
#ifndef HFEVAL_WORKER_H
#define HFEVAL_WORKER_H

#include <stddef.h>

#include "hfeval-plugin.h"

struct hfe_worker;

extern double hfe_worker_watchdog_s;

/* The method table of every worker (name, caps and version are the
 * wrapped backend's: read them from that one). */
extern const struct hfe_backend hfe_worker_backend;

/* Forks a worker that opens uri with be.  Returns HFE_OK, or a status
 * with err set (the backend's message, or why the child died) and *out
 * NULL. */
int hfe_worker_open(const struct hfe_backend *be, const char *uri,
                    const struct hfe_option *opts, size_t n_opts,
                    struct hfe_worker **out, char *err, size_t err_size);

/* This worker's watchdog floor in seconds (the model list's
 * watchdog=S), instead of hfe_worker_watchdog_s. */
void hfe_worker_set_watchdog(struct hfe_worker *w, double seconds);

/* Why the worker failed ("killed by signal 6 (Aborted) ..."), or NULL
 * while it is alive. */
const char *hfe_worker_why(const struct hfe_worker *w);

#endif /* HFEVAL_WORKER_H */
