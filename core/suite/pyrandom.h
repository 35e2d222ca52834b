/*
 * pyrandom.h - Python's random.Random, to the bit, for what the few-shot
 * samplers of lm-evaluation-harness draw: seeding from an integer
 * (init_by_array of its 32-bit words) and Random.sample(population, k),
 * its set-or-pool choice included, so that hfeval picks the examples
 * lm-evaluation-harness picks for the same seed and the same documents.
 */
#ifndef HFEVAL_PYRANDOM_H
#define HFEVAL_PYRANDOM_H

#include <stddef.h>
#include <stdint.h>

struct hfe_pyrandom {
    uint32_t mt[624];
    int i;
};

/* random.Random(seed), seed >= 0. */
void hfe_pyrandom_seed(struct hfe_pyrandom *r, uint64_t seed);

/* random.Random.getrandbits(32). */
uint32_t hfe_pyrandom_u32(struct hfe_pyrandom *r);

/* random.Random.sample(range(n), k) into out[k]: 0-based indices, in the
 * order Python returns them.  k <= n, n < 2^32. */
void hfe_pyrandom_sample(struct hfe_pyrandom *r, size_t n, size_t k,
                         size_t *out);

#endif /* HFEVAL_PYRANDOM_H */
