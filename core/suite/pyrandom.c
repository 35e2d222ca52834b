/*
 * pyrandom.c - CPython's Mersenne Twister and Random.sample (see
 * pyrandom.h).  The generator is Matsumoto and Nishimura's MT19937 as
 * CPython's _randommodule.c seeds it; randbelow and sample follow
 * Lib/random.py (3.x): draws of bit_length(n) bits, rejected until below
 * n; a pool when n is small next to k, a set of taken indices otherwise.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pyrandom.h"
#include "hfeval.h"

static void init_genrand(struct hfe_pyrandom *r, uint32_t s)
{
    int i;

    r->mt[0] = s;
    for (i = 1; i < 624; i++)
        r->mt[i] =
            1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->i = 624;
}

/* init_by_array(key): the seed's 32-bit words, least significant first. */
void hfe_pyrandom_seed(struct hfe_pyrandom *r, uint64_t seed)
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    int n = key[1] ? 2 : 1, i = 1, j = 0, k;

    init_genrand(r, 19650218u);
    for (k = 624 > n ? 624 : n; k; k--) {
        r->mt[i] =
            (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525u)) +
            key[j] + (uint32_t)j;
        if (++i >= 624) {
            r->mt[0] = r->mt[623];
            i = 1;
        }
        if (++j >= n)
            j = 0;
    }
    for (k = 623; k; k--) {
        r->mt[i] =
            (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941u)) -
            (uint32_t)i;
        if (++i >= 624) {
            r->mt[0] = r->mt[623];
            i = 1;
        }
    }
    r->mt[0] = 0x80000000u;
    r->i = 624;
}

uint32_t hfe_pyrandom_u32(struct hfe_pyrandom *r)
{
    uint32_t y;

    if (r->i >= 624) {
        int k;

        for (k = 0; k < 624; k++) {
            y = (r->mt[k] & 0x80000000u) | (r->mt[(k + 1) % 624] & 0x7fffffffu);
            r->mt[k] = r->mt[(k + 397) % 624] ^ (y >> 1) ^
                       ((y & 1u) ? 0x9908b0dfu : 0);
        }
        r->i = 0;
    }
    y = r->mt[r->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

/* _randbelow_with_getrandbits(n), n >= 1. */
static size_t randbelow(struct hfe_pyrandom *r, size_t n)
{
    int bits = 0;
    size_t v;

    while (bits < 32 && (n >> bits))
        bits++;
    do
        v = bits ? hfe_pyrandom_u32(r) >> (32 - bits) : 0;
    while (v >= n);
    return v;
}

void hfe_pyrandom_sample(struct hfe_pyrandom *r, size_t n, size_t k,
                         size_t *out)
{
    size_t setsize = 21, i;

    if (k > 5) /* 4 ** ceil(log(3k, 4)), as Python computes it */
        setsize += (size_t)pow(4, ceil(log((double)k * 3) / log(4)));
    if (n <= setsize) {
        size_t *pool = hfe_xcalloc(n + 1, sizeof(*pool));

        for (i = 0; i < n; i++)
            pool[i] = i;
        for (i = 0; i < k; i++) {
            size_t j = randbelow(r, n - i);

            out[i] = pool[j];
            pool[j] = pool[n - i - 1];
        }
        free(pool);
    } else {
        unsigned char *taken = hfe_xcalloc(n, 1);

        for (i = 0; i < k; i++) {
            size_t j = randbelow(r, n);

            while (taken[j])
                j = randbelow(r, n);
            taken[j] = 1;
            out[i] = j;
        }
        free(taken);
    }
}
