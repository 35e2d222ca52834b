/*
 * compare.h - the CI gate behind `hfeval compare` (cli/cmd_compare.c):
 * did the candidate regress against the baseline?
 *
 *   hfeval compare BASELINE CANDIDATE [--baseline-model NAME]
 *       [--candidate-model NAME] [--max-drop METRIC=VALUE ...]
 *       [--max-kld X] [--alpha A] [--format tap|md|junit]
 *
 * BASELINE and CANDIDATE are run directories (run.json, samples.jsonl)
 * or their run.json; the same run twice compares two of its models.
 * Every quality metric both have is compared (speed and memory only when
 * named with --max-drop): a drop beyond its tolerance (default 0) fails,
 * and with --alpha only when the paired test on the items both answered
 * says it is significant (McNemar's exact test for right/wrong metrics, a
 * paired bootstrap for the rest).  --max-kld fails a candidate whose KLD
 * from its base is above X.  Exit 0 when nothing failed, 1 when something
 * did; bad input has its own status (hfeval.h).  --format junit writes
 * JUnit XML, which CI test reporters read: one testsuite (the candidate
 * against the baseline), a testcase a metric, a failure where TAP says
 * "not ok", with the items that went from right to wrong.
 */
#ifndef HFEVAL_COMPARE_H
#define HFEVAL_COMPARE_H

#include <stddef.h>

#include "hfeval.h"

enum hfe_cmp_format { HFE_CMP_TAP, HFE_CMP_MD, HFE_CMP_JUNIT };

/* A metric's tolerated drop (--max-drop METRIC=VALUE). */
struct hfe_tol {
    const char *metric;
    double drop;
};

/* What to compare and how; the caller owns every field. */
struct hfe_compare_opts {
    const char *runs[2];   /* baseline, candidate               */
    const char *models[2]; /* NULL: the run's only model        */
    const struct hfe_tol *tol;
    size_t n_tol;
    double alpha;   /* 0: any drop past its tolerance fails */
    double max_kld; /* < 0: not checked                     */
    enum hfe_cmp_format format;
};

/* The comparison, as TAP, Markdown or JUnit XML, appended to out; *n_tests the
 * metrics compared.  Returns 0, HFE_EXIT_FAIL on a regression (or when
 * no metric is in common), or another status with err set. */
int hfe_compare(const struct hfe_compare_opts *o, struct hfe_buf *out,
                size_t *n_tests, struct hfe_err *err);

/* Is lower better for metric (perplexity, KLD, memory, degeneration);
 * is it a measurement (speed, memory, fidelity, degeneration), which the
 * gate compares only when --max-drop names it. */
int hfe_cmp_lower_better(const char *metric);
int hfe_cmp_measurement(const char *metric);

/* McNemar's exact two-sided p for b and c discordant pairs. */
double hfe_mcnemar_p(unsigned b, unsigned c);

/* One model's side of a run (run.json and its samples), for paired
 * tests; NULL with err when it cannot be read.  The report uses these. */
struct hfe_cmp_side;
struct hfe_cmp_side *hfe_cmp_open(const char *run, const char *model,
                                  struct hfe_err *err);
void hfe_cmp_close(struct hfe_cmp_side *s);

/* The side's value of metric on document doc of the task: 0 and *v set,
 * or -1 when it has none. */
int hfe_cmp_value(const struct hfe_cmp_side *s, const char *suite,
                  const char *task, double doc, const char *metric, double *v);
/* The side's model and run directory. */
const char *hfe_cmp_model(const struct hfe_cmp_side *s);
const char *hfe_cmp_dir(const struct hfe_cmp_side *s);

/* The paired test of metric between a and b on the items both scored:
 * McNemar's exact p (and the items that got worse or better) when every
 * value is 0 or 1, a paired bootstrap's p otherwise.  -1 when no item
 * pairs up. */
struct hfe_paired {
    double p;
    unsigned worse, better; /* right -> wrong, wrong -> right */
    size_t n;
    int binary;
};
int hfe_cmp_paired(const struct hfe_cmp_side *a, const struct hfe_cmp_side *b,
                   const char *suite, const char *task, const char *metric,
                   struct hfe_paired *out);

/* The items of metric, 0 or 1 in both, that went right -> wrong (down)
 * and wrong -> right (up) from a to b: at most max ids of each, joined by
 * ", " and followed by "and N more" past max, appended to down and up.
 * -1 when no item pairs up. */
int hfe_cmp_flips(const struct hfe_cmp_side *a, const struct hfe_cmp_side *b,
                  const char *suite, const char *task, const char *metric,
                  size_t max, struct hfe_buf *down, struct hfe_buf *up);

#endif /* HFEVAL_COMPARE_H */
