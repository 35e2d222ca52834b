/*
 * fidelity.h - how far a derivative's next-token distributions are from
 * its base's, the way llama-perplexity --kl-divergence measures it.
 *
 * The base's log-probabilities over the whole vocabulary are kept as
 * llama-perplexity keeps them in its --kl-divergence-base file: 16-bit
 * steps over [max - 16, max] a position (n_vocab * 2 bytes each), so the
 * numbers agree with that tool's.  Positions are appended in the order the
 * task's documents are scored; a derivative is then compared position by
 * position.
 *
 * Per position: KLD(base || model) over the tokens whose stored
 * log-probability is above -16; whether the two agree on the top token;
 * Δp, the model's probability of the text's token minus the base's.
 *
 * Not thread-safe; a hfe_fid_base belongs to one caller.
 */
#ifndef HFEVAL_FIDELITY_H
#define HFEVAL_FIDELITY_H

#include <stddef.h>
#include <stdint.h>

#include "hfeval.h"

struct hfe_fid_base {
    uint32_t n_vocab;
    size_t n, cap; /* positions kept                              */
    uint16_t *q;   /* [n][n_vocab] steps                          */
    float *lo;     /* [n] the value of step 0                     */
    float *step;   /* [n] one step, in nats                       */
    float *lp_tok; /* [n] the base's log-prob of the text's token */
};

struct hfe_fid_acc {
    size_t n;
    double kld, kld2; /* sums over positions                     */
    double dp, dp2;   /* Δp, sums                                */
    size_t same_top;
    double *each; /* [n] KLD per position, for percentiles   */
    size_t cap;
};

/* Appends n positions of full-vocabulary log-probabilities ([n][n_vocab],
 * vocabulary order) and the log-prob of each position's token. */
void hfe_fid_keep(struct hfe_fid_base *b, uint32_t n_vocab, const float *lp,
                  const float *lp_tok, size_t n);

/* Compares n positions of a model, starting at the base's position `at`,
 * into acc.  The caller checks that vocabularies and positions match. */
void hfe_fid_compare(const struct hfe_fid_base *b, size_t at, const float *lp,
                     const float *lp_tok, size_t n, struct hfe_fid_acc *acc);

/* The q-quantile (0..1) of the per-position KLD; sorts acc->each. */
double hfe_fid_quantile(struct hfe_fid_acc *acc, double q);

/* The per-position KLD of kld[0..n) by order of magnitude, a quarter of a
 * decade a bin: counts[0] holds those under 1e-6 (zero among them),
 * counts[k] for k in 1..32 those in [1e-6 * 10^((k-1)/4), 1e-6 * 10^(k/4)),
 * counts[33] those of 100 nats and more.  Sums over documents add up. */
#define HFE_FID_HIST_FROM       (-6)
#define HFE_FID_HIST_PER_DECADE 4
#define HFE_FID_HIST_BINS       34
void hfe_fid_hist(const double *kld, size_t n,
                  unsigned long counts[HFE_FID_HIST_BINS]);

/* b as bytes (appended to out), for the run's cache: n_vocab, n, then
 * each position's lo, step and lp_tok (float) and its n_vocab steps
 * (uint16), little-endian as this machine writes them.  hfe_fid_unpack
 * reads them back into an empty b; -1 when data is not such bytes. */
void hfe_fid_pack(const struct hfe_fid_base *b, struct hfe_buf *out);
int hfe_fid_unpack(const char *data, size_t len, struct hfe_fid_base *b);

void hfe_fid_base_free(struct hfe_fid_base *b);
void hfe_fid_acc_free(struct hfe_fid_acc *acc);

#endif /* HFEVAL_FIDELITY_H */
