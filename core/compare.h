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

int hfe_compare_main(int argc, char **argv);

/* McNemar's exact two-sided p for b and c discordant pairs. */
double hfe_mcnemar_p(unsigned b, unsigned c);

#endif /* HFEVAL_COMPARE_H */
