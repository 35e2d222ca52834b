/*
 * decide.h - the decision table: one row per model, per lineage, base
 * first and each derivative under its parent, with everything the choice
 * of a member needs (`hfeval report`, `hfeval pick`; results/README.md
 * lists the fields):
 *
 *   - quantization, file size, parameters;
 *   - for each task's primary metric (the suite names it, --metric picks
 *     another): the value with its 95% interval, its change from the
 *     parent, its recovery (value / the lineage root's), the items that
 *     flipped down and up against the parent and the paired test's p
 *     (McNemar's exact test, a paired bootstrap for non-binary metrics);
 *   - quality: the mean of those metrics (those where lower is better
 *     left out), and its recovery;
 *   - fidelity against the parent: mean KLD, its 99th percentile, the
 *     same-top-token rate;
 *   - degeneration: the share of generations cut at max_tokens and of
 *     those caught in a loop;
 *   - prompt and decode tokens/s (speed.lua's one request at a time where
 *     the run has it, else the run's own batched load, and says which),
 *     time to first token, latency p90, peak memory;
 *   - license class, license and failed checks;
 *   - Pareto marks (no other member beats it on both quality and size; on
 *     both quality and decode speed) and the pick.
 *
 * With several lineages, one ranking of every model by quality follows.
 */
#ifndef HFEVAL_DECIDE_H
#define HFEVAL_DECIDE_H

#include <stddef.h>

#include "hfeval.h"

enum hfe_decide_format {
    HFE_DECIDE_TEXT, /* aligned, the lineage drawn, split to the width */
    HFE_DECIDE_MD,
    HFE_DECIDE_CSV,
    HFE_DECIDE_JSON
};

enum hfe_pick_by { HFE_PICK_SIZE, HFE_PICK_DECODE, HFE_PICK_QUALITY };

/* The member a lineage ships: the best by `by` of those that keep
 * min_recovery of the root's quality, reach min_class (0 any, 1 open
 * weights, 2 open source) and fit the budgets (<= 0: none). */
struct hfe_pick {
    double min_recovery;
    int min_class;
    double max_memory_mib, max_size_mib, min_decode_tok_s;
    enum hfe_pick_by by;
};

#define HFE_PICK_DEFAULT                                                       \
    {                                                                          \
        0.98, 1, 0, 0, 0, HFE_PICK_SIZE                                        \
    }

/* A task whose column shows another metric than its primary one. */
struct hfe_metric_sel {
    const char *task; /* "task" or "suite/task" */
    const char *metric;
};

struct hfe_decide_opts {
    enum hfe_decide_format format;
    struct hfe_pick pick;
    const struct hfe_metric_sel *metrics;
    size_t n_metrics;
    int width; /* the text format's; 0: the terminal's, or 120 */
};

/* The decision tables of the runs (directories or run.json files, read in
 * order, a later value replacing an earlier one), appended to out.
 * Returns 0, or the exit status with err set. */
int hfe_decide(const char *const *runs, size_t n_runs,
               const struct hfe_decide_opts *o, struct hfe_buf *out,
               struct hfe_err *err);

/* The pick of each lineage and why (text, or JSON with format JSON).
 * Returns 0 when every lineage has one, HFE_EXIT_FAIL when some has none,
 * or another status with err set. */
int hfe_pick(const char *const *runs, size_t n_runs,
             const struct hfe_decide_opts *o, struct hfe_buf *out,
             struct hfe_err *err);

/* One run's decision table, aligned to the terminal, on stdout (what
 * `hfeval run` shows on a terminal); an error on stderr.  Returns the
 * exit status. */
int hfe_decide_print(const char *run);

#endif /* HFEVAL_DECIDE_H */
