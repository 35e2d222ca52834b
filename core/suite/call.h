/*
 * call.h - what the scorers ask of a suite: its metrics written in Lua,
 * check(doc, text), execute's program and reference, and compliance
 * checks.  The scorers (core/score/) make no lua_* call; these do it for
 * them, each through hfe_lua_run() (lua_rt.h), so that whatever the
 * suite's tables and functions do is bounded by its time limit and memory
 * cap and ends, at worst, as HFE_EXIT_SUITE with the suite's file in the
 * message.
 *
 * Each returns 0, or an exit status with the message in err (which names
 * the suite's file, the task, the document and the function).  Not
 * thread-safe: they run in the suite's one Lua state.
 */
#ifndef HFEVAL_SUITE_CALL_H
#define HFEVAL_SUITE_CALL_H

#include <stddef.h>

#include "hfeval-plugin.h"
#include "suite.h"

/* What a model answered for one document, as the `out` argument of the
 * task's metrics sees it (suites/README.md):
 *   choice    { pick = the choice taken (0-based), logprobs = { ... } }
 *   generate  { text = the first sample, texts = { every sample },
 *               answer = the first pattern's answer (only with one) }
 *   rolling   { logprob = ..., tokens = ..., bytes = ... } */
struct hfe_suite_out {
    const struct hfe_result *res; /* the document's results, n of them */
    size_t n;
    size_t pick;        /* choice */
    const char *answer; /* generate: NULL leaves `answer` out */
};

/* Runs each of t's metrics (t->lua_metric, in that order) on the item and
 * out; v[x] is what metric x returns (true 1, false 0).  v holds
 * t->n_lua values. */
int hfe_suite_call_metrics(struct hfe_suite *s, const struct hfe_task *t,
                           const struct hfe_item *it,
                           const struct hfe_suite_out *out, double *v,
                           struct hfe_err *err);

/* t.check(doc, text): *pass is what it returns (true 1, false 0). */
int hfe_suite_call_check(struct hfe_suite *s, const struct hfe_task *t,
                         const struct hfe_item *it, const char *text,
                         double *pass, struct hfe_err *err);

/* t.execute[fn](doc [, text]) (fn: "program" or "reference"; text NULL
 * leaves it out), which must return a string: *out, the caller frees. */
int hfe_suite_call_exec(struct hfe_suite *s, const struct hfe_task *t,
                        const struct hfe_item *it, const char *fn,
                        const char *text, char **out, struct hfe_err *err);

/* t.checks[id](meta, card, hub), each a JSON value or NULL (nil): *pass is
 * 1 (true), 0 (false) or -1 (nil: not applicable); the evidence, when it
 * returns a string, is copied into evidence (at most size bytes), else
 * "". */
struct cJSON;
int hfe_suite_call_cc_check(struct hfe_suite *s, const struct hfe_task *t,
                            const char *id, const struct cJSON *meta,
                            const struct cJSON *card, const struct cJSON *hub,
                            int *pass, char *evidence, size_t size,
                            struct hfe_err *err);

#endif /* HFEVAL_SUITE_CALL_H */
