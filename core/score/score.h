/*
 * score.h - scoring one task's results on one model: the metrics, their
 * means and standard errors, and one JSON record a document.
 *
 * choice    acc, acc_norm (per byte of the choice), acc_tok (per token)
 * generate  exact_match[:NAME] of the first sample, maj@N[:NAME] (majority
 *           vote over the samples), pass@k (unbiased estimator), timing
 * rolling   ppl_token, bits_per_byte; with a lineage parent, kld, kld_p99,
 *           kld_max, delta_p, rms_delta_p, same_top (fidelity.h)
 * compliance  each profile's score (checks passed over applicable), the
 *           failed error-level checks, the class, and checks written in
 *           Lua (compliance.h)
 * and the task's metrics written in Lua.
 *
 * Not thread-safe: it calls into the suite's Lua state.
 */
#ifndef HFEVAL_SCORE_H
#define HFEVAL_SCORE_H

#include "hfeval-plugin.h"
#include "compliance.h"
#include "fidelity.h"
#include "gguf_meta.h"
#include "hfeval.h"
#include "suite.h"

/* Running mean and standard error of one metric; a corpus metric
 * (perplexity) is one value over n documents, with no standard error. */
struct hfe_stat {
    char name[64];
    double sum, sum2;
    size_t n;
    int corpus;
};

#define HFE_MAX_STATS (4 * HFE_MAX_NAMED + 24) /* a task's most */

/* A task's stats, in the order of its rows.  A scorer takes its stats as a
 * group (hfe_stat_group), so that one kind's stats lie side by side. */
struct hfe_stats {
    struct hfe_stat v[HFE_MAX_STATS];
    size_t n;
    /* more than HFE_MAX_STATS asked of hfe_stat_new: a bug, which takes
     * the spare and is reported as HFE_EXIT_INTERNAL by hfe_score */
    int overflow;
    struct hfe_stat spare;
};

/* Everything one task on one model needs. */
struct hfe_perf;

struct hfe_job_run; /* the runner's own (run.c) */

struct hfe_job {
    const struct hfe_backend *be;
    struct hfe_model *m; /* NULL until the runner opens it (run.c)   */
    const char *model;
    uint32_t n_vocab;
    struct hfe_suite *s;
    struct hfe_task *t;
    struct hfe_stats st;
    struct hfe_buf *rec;
    struct hfe_err *err;
    /* fidelity: what this model keeps for its children, what its parent
     * kept for it */
    struct hfe_fid_base *keep;
    const struct hfe_fid_base *base;
    const char *base_name;
    int keep_cached; /* keep came whole from the run's cache       */
    /* by item: every answer of the item came from the run's cache (its
     * record says "cached":true), or NULL */
    const unsigned char *item_cached;
    /* compliance: the model's metadata and the report of the built-in
     * checks (run.c computes them, parents first) */
    const struct hfe_cc_model *cc;
    const struct hfe_cc_report *cc_report;
    const char *cc_base;
    /* the run's journal, or NULL */
    struct hfe_journal *jr;
    /* the model's timings, each request's added (run.c), or NULL */
    struct hfe_perf *perf;
    /* the journal's index of the first request: the requests of the
     * items before these (the sequential gate asks a block at a time) */
    size_t r0;
    struct hfe_job_run *run;
};

/* The statistics (stats.c).  hfe_stat_group reserves n stats in a row,
 * zeroed, for hfe_stat_name to name; NULL when they do not fit, which is
 * a bug (asserted in Debug builds; the scorers return HFE_EXIT_INTERNAL).
 * hfe_stat_new is a group of one, named; where it does not fit it hands
 * out st->spare and sets st->overflow.  Pointers live as long as st. */
struct hfe_stat *hfe_stat_group(struct hfe_stats *st, size_t n);
void hfe_stat_name(struct hfe_stat *s, int corpus, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct hfe_stat *hfe_stat_new(struct hfe_stats *st, int corpus, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));
void hfe_stat_add(struct hfe_stat *s, double x);
double hfe_stat_mean(const struct hfe_stat *s);
double hfe_stat_stderr(const struct hfe_stat *s);

/* out (named by the caller) as lm-evaluation-harness aggregates a
 * group's members: the mean of their values, weighted by their n when
 * weight_by_size, the pooled standard error
 * sqrt(sum((n_i - 1) n_i se_i^2) / (N - k) / N) and N = sum n_i; held as
 * the sums of N values with that mean and standard error. */
void hfe_stat_pool(struct hfe_stat *out, const struct hfe_stat *const *v,
                   size_t k, int weight_by_size);

/* The rows of groups g[n_groups] (suite.h) from their tasks' stats: st[i]
 * those of the task named names[i] (NULL: not computed), each group's
 * members computed before it; row() is handed each group's metric that
 * every member has, in order.  A group missing a member has no row. */
void hfe_stat_groups(const struct hfe_group *g, size_t n_groups,
                     const char *const *names, struct hfe_stats *const *st,
                     size_t n,
                     void (*row)(void *ud, const char *group,
                                 const struct hfe_stat *s),
                     void *ud);

/* Scores j->t's results (one per request, in the order run.c builds
 * them) into j->st and appends the records to j->rec.  Returns 0, or an
 * exit status with the message in j->err. */
int hfe_score(struct hfe_job *j, const struct hfe_result *res);

#endif /* HFEVAL_SCORE_H */
