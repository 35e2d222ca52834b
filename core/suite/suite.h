/*
 * suite.h - a suite as the harness holds it: its tasks, their documents
 * turned into prompts, choices and targets, and how each task is scored.
 *
 * hfe_suite_load() runs the suite file in the Lua runtime (lua_rt.h),
 * reads its declarative table (suites/README.md) and calls the prompt
 * building functions once per document.  The suite's Lua state stays open
 * until hfe_suite_free(): metrics written in Lua and check() functions run
 * when results come back.  Every error names the suite file, the task and
 * what was expected, and is HFE_EXIT_SUITE.
 *
 * Not thread-safe: one suite, one thread.
 */
#ifndef HFEVAL_SUITE_H
#define HFEVAL_SUITE_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lua_rt.h"

enum hfe_task_kind {
    HFE_TASK_CHOICE,
    HFE_TASK_GENERATE,
    HFE_TASK_ROLLING,
    HFE_TASK_COMPLIANCE, /* no requests: the model's metadata */
    HFE_TASK_LOGLIK      /* one continuation: its log-likelihood, greedy? */
};
extern const char *const hfe_task_kinds[5]; /* "choice", ... */

#define HFE_MAX_NAMED                                                          \
    32 /* named patterns, Lua metrics, pass@k values a task                    \
        */

struct hfe_item {
    int64_t doc_id; /* also the document's place in the task's list - 1 */
    char *item_id;
    char *prompt; /* rolling: the text */
    char **choices;
    size_t n_choices;
    char **contexts; /* choice: one context a choice (NULL: prompt) */
    double *lengths; /* choice: what acc_norm divides by (NULL: chars) */
    long gold;
    char *target; /* loglikelihood: the continuation */
};

/* One way to read the answer out of a completion. */
struct hfe_extractor {
    char *name;     /* "" for the unnamed pattern, else its name */
    pcre2_code *re; /* NULL: the whole completion */
    int last;       /* take the last match, not the first */
};

/* execute = { program = function(doc, text), reference = function(doc),
 *             command = {"python3"}, file = "main.py", timeout = 4,
 *             factor = 4, memory_mb = 2048 }: each sample's program runs
 * in the sandbox (sandbox.h); it passes when it exits 0.  A document's
 * timeout is max(timeout, factor x its reference solution's time), the
 * rule evalplus uses; the references run once, before the first model. */
struct hfe_execute {
    char **argv;
    size_t n_argv;
    char *file;
    double timeout, factor;
    uint64_t memory;
    int reference;     /* a reference(doc) function is given           */
    int measured;      /* the references have run                       */
    double *limit_s;   /* [n] each document's timeout                   */
    char **ref_status; /* [n] how each reference ended ("ok", ...)      */
};

/* The Hub benchmark a task is, for `hfeval export`: the dataset's id
 * (NULL: none), its task id ("default"), config, split and revision, the
 * metric the benchmark reports and a display name (NULL where not
 * given). */
struct hfe_hub {
    char *dataset, *task_id, *config, *split, *revision, *metric, *name;
};

struct hfe_task {
    char *name;
    enum hfe_task_kind kind;
    char *primary; /* the metric the decision table shows, or NULL */
    struct hfe_hub hub;
    int shots; /* few-shot examples a prompt, as the suite says; -1 */
    struct hfe_item *items;
    size_t n;
    /* generate */
    char **until;
    size_t n_until;
    uint32_t max_tokens, samples;
    double temperature, top_p;
    uint64_t seed;
    int chat, timing;
    int first, majority; /* filters: take-first, majority vote */
    uint32_t pass_at[HFE_MAX_NAMED];
    size_t n_pass_at;
    int check;                /* a check(doc, text) function decides pass@k */
    struct hfe_execute *exec; /* run the completions' programs, or NULL */
    struct hfe_extractor *ex;
    size_t n_ex;
    pcre2_code **ignore; /* removed from answer and target */
    pcre2_code *match;   /* regex_match: does the completion match it */
    size_t n_ignore;
    int ignore_case, ignore_punctuation; /* exact_match's options */
    /* choice */
    int choice_prefix;
    int builtins; /* acc, acc_norm, acc_tok (builtin_metrics = false: none) */
    /* rolling */
    uint32_t ppl_ctx; /* llama-perplexity's windows of this many tokens */
    int fidelity;     /* KLD and friends against the lineage parent */
    /* compliance: the profile shown (-1: all), checks written in Lua */
    int profile;
    char *custom[HFE_MAX_NAMED];
    size_t n_custom;
    /* metrics written in Lua: names, sorted */
    char *lua_metric[HFE_MAX_NAMED];
    size_t n_lua;
    int ref, docs_ref; /* the task's table and its documents, registry */
};

/* groups = { { name = "mmlu", tasks = { "mmlu_stem", ... },
 *              metrics = { { "acc", weight_by_size = true } } } }: a
 * group's rows aggregate its members' (tasks, or groups listed before
 * it) as lm-evaluation-harness's aggregate_metric_list does: the mean of
 * the members' values, weighted by their documents or not, with the
 * pooled standard error (hfe_stat_pool). */
struct hfe_group {
    char *name;
    char **members;
    size_t n_members;
    char *metric[HFE_MAX_NAMED];
    int weight_by_size[HFE_MAX_NAMED];
    size_t n_metrics;
};

struct hfe_suite {
    char *path, *name, *version;
    struct hfe_task *tasks;
    size_t n_tasks;
    struct hfe_group *groups;
    size_t n_groups;
    struct hfe_lua *rt; /* open while the suite runs: Lua metrics use it */
};

/* Which documents a run takes: at most `limit` a task (-1: all), then,
 * with shards > 1, those whose 0-based index is `shard` modulo shards. */
struct hfe_select {
    long limit;
    unsigned shard, shards;
};

/* Loads the suite at path.  On failure s holds what was read so far:
 * hfe_suite_free() it. */
int hfe_suite_load(const char *path, const struct hfe_lua_opts *o,
                   const struct hfe_select *sel, struct hfe_suite *s,
                   struct hfe_err *err);
void hfe_suite_free(struct hfe_suite *s);

#endif /* HFEVAL_SUITE_H */
