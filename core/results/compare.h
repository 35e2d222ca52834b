/*
 * compare.h - `hfeval compare`: the CI gate.  Did the candidate regress
 * against the baseline?
 *
 *   hfeval compare BASELINE CANDIDATE [--baseline-model NAME]
 *       [--candidate-model NAME] [--max-drop METRIC=VALUE ...]
 *       [--max-kld X] [--alpha A] [--format tap|md]
 *
 * BASELINE and CANDIDATE are run directories (run.json, samples.jsonl)
 * or their run.json; the same run twice compares two of its models.
 * Every quality metric both have is compared (speed and memory only when
 * named with --max-drop): a drop beyond its tolerance (default 0) fails,
 * and with --alpha only when the paired test on the items both answered
 * says it is significant (McNemar's exact test for right/wrong metrics, a
 * paired bootstrap for the rest).  --max-kld fails a candidate whose KLD
 * from its base is above X.  Exit 0 when nothing failed, 1 when something
 * did; bad input has its own status (hfeval.h).
 */
#ifndef HFEVAL_COMPARE_H
#define HFEVAL_COMPARE_H

#include <stddef.h>

#include "hfeval.h"

int hfe_compare_main(int argc, char **argv);

/* McNemar's exact two-sided p for b and c discordant pairs. */
double hfe_mcnemar_p(unsigned b, unsigned c);

/* One model's side of a run (run.json and its samples), for paired
 * tests; NULL with err when it cannot be read.  The report uses these. */
struct hfe_cmp_side;
struct hfe_cmp_side *hfe_cmp_open(const char *run, const char *model,
                                  struct hfe_err *err);
void hfe_cmp_close(struct hfe_cmp_side *s);

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

#endif /* HFEVAL_COMPARE_H */
