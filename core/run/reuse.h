/*
 * reuse.h - what a run takes from the cache (cache.h) instead of asking
 * the model: a task's answers, a parent's next-token distributions, the
 * model's facts.
 *
 * Answers: one entry a model and task (suite and task names), its lines
 * {"d":DIGEST,"r":RESULT} as the journal writes them (journal.h), DIGEST
 * the request's with top_k left out: an answer is kept without its
 * top-k log-probabilities, and serves only a request that does not ask
 * for them.  The model key (cache.h) holds the model file, the engine
 * build and every backend option, so a changed one is a miss.
 *
 * Distributions: one entry a model and a fidelity task's request list
 * (each request's digest, in order), the bytes of hfe_fid_pack.
 *
 * Facts: the model's hfe_model_info as JSON (name, architecture,
 * quantization, sizes, context, vocabulary), so that a model whose
 * answers all come from the cache is never opened.
 */
#ifndef HFEVAL_REUSE_H
#define HFEVAL_REUSE_H

#include <stddef.h>

#include "cache.h"
#include "fidelity.h"
#include "hfeval-plugin.h"

struct hfe_reuse;

/* A task's answers on the model (none yet: an empty table). */
struct hfe_reuse *hfe_reuse_open(struct hfe_cache *c, const char model_key[65],
                                 const char *suite, const char *task);
/* The kept answer to q, into res; 1 when found.  A request asking for
 * top-k log-probabilities never is. */
int hfe_reuse_get(struct hfe_reuse *u, const struct hfe_request *q,
                  struct hfe_result *res);
/* Keeps res (status OK) as the answer to q. */
void hfe_reuse_add(struct hfe_reuse *u, const struct hfe_request *q,
                   const struct hfe_result *res);
/* Stores what was added; frees.  NULL is a no-op. */
void hfe_reuse_close(struct hfe_reuse *u);

/* The distributions a fidelity task's n requests give on the model, into
 * an empty *b; 1 when found. */
int hfe_reuse_fid_get(struct hfe_cache *c, const char model_key[65],
                      const struct hfe_request *req, size_t n,
                      struct hfe_fid_base *b);
void hfe_reuse_fid_put(struct hfe_cache *c, const char model_key[65],
                       const struct hfe_request *req, size_t n,
                       const struct hfe_fid_base *b);

/* The model's facts into *info, its strings held by *hold (free with
 * hfe_reuse_info_free); 1 when found. */
struct hfe_reuse_info;
int hfe_reuse_info_get(struct hfe_cache *c, const char model_key[65],
                       struct hfe_model_info *info,
                       struct hfe_reuse_info **hold);
void hfe_reuse_info_put(struct hfe_cache *c, const char model_key[65],
                        const struct hfe_model_info *info);
void hfe_reuse_info_free(struct hfe_reuse_info *hold);

#endif /* HFEVAL_REUSE_H */
