/*
 * cache.h - what a run computed, kept for the next: content-addressed
 * entries under a cache directory, so that a later run neither asks a
 * model the same request again nor recomputes a parent's distributions.
 * The directory: --cache DIR, else $HFEVAL_CACHE, else
 * $XDG_CACHE_HOME/hfeval, else ~/.cache/hfeval: the one scripts/llama.sh
 * keeps its builds and the fixtures in.  --no-cache or HFEVAL_NO_CACHE=1
 * turns it off.
 *
 * An entry is a file DIR/KIND/KEY[0..2]/KEY, KEY 64 hex digits of a
 * SHA-256 over everything that determines the entry (cache.c's model key,
 * then what the caller adds).  Kinds: "answers" (a task's answers on a
 * model), "fid" (a task's next-token distributions, fidelity.h's form),
 * "info" (what the model says of itself).  A file is
 *
 *     "HFECACH1"  u64 raw length  u64 stored length  u32 CRC-32 of raw
 *     the raw bytes, deflated (zlib)
 *
 * little-endian, written to a temporary name and renamed, so a reader
 * sees a whole entry or none.  One that does not read back — short,
 * corrupt, another format — is reported on stderr with its path,
 * removed, and is a miss: it is recomputed, never used.
 *
 * The entries' total is bounded (`--cache-max`, default 10 GiB): on
 * close, the least recently used go first (a hit refreshes an entry's
 * time).  Nothing else under DIR (the llama.cpp builds, fixtures) is
 * touched.  Not thread-safe; one per run.
 */
#ifndef HFEVAL_CACHE_H
#define HFEVAL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "hfeval-plugin.h"
#include "hfeval.h"

#define HFE_CACHE_MAX_DEFAULT (10ull << 30)

struct hfe_cache;

/* Opens (creating) the cache at dir, or at the default with dir NULL.
 * Returns 0, or HFE_EXIT_IO with err set (the run goes on without). */
int hfe_cache_open(const char *dir, uint64_t max_bytes, struct hfe_cache **out,
                   struct hfe_err *err);

/* The directory in use. */
const char *hfe_cache_dir(const struct hfe_cache *c);

/* A model's key: the backend (name, version and the plugin file's
 * digest), the model file's digest (also into file_sha256, for the run
 * record: the file is hashed once) and every backend option, sorted.
 * Returns 0, or -1 when the model is not a file (a server's model can
 * change behind its URL: it is not cached). */
int hfe_cache_model_key(struct hfe_cache *c, const char *backend_name,
                        const char *backend_version, const char *plugin_path,
                        const char *model_path, const struct hfe_option *opts,
                        size_t n_opts, char key[65], char file_sha256[65]);

/* The key of an entry: SHA-256 over the model key, kind, and n parts
 * (each with its length). */
void hfe_cache_key(const char model_key[65], const char *kind,
                   const char *const *parts, const size_t *lens, size_t n,
                   char key[65]);

/* The entry's bytes in *data (malloc'ed, NUL-terminated, caller frees)
 * and *len.  Returns 1 on a hit, 0 on a miss (a bad entry is one). */
int hfe_cache_get(struct hfe_cache *c, const char *kind, const char key[65],
                  char **data, size_t *len);

/* Stores len bytes as the entry.  Returns 0, or -1 (said on stderr; a
 * cache that cannot be written costs a recomputation, nothing else). */
int hfe_cache_put(struct hfe_cache *c, const char *kind, const char key[65],
                  const void *data, size_t len);

/* Evicts to the bound, then frees; NULL is a no-op. */
void hfe_cache_close(struct hfe_cache *c);

#endif /* HFEVAL_CACHE_H */
