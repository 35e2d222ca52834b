/*
 * merge.h - shard runs (hfeval run --shard K/N) joined into one: the
 * per-sample records in the unsharded run's order, and its tables
 * recomputed from them, equal to one unsharded run's.  Speed, memory and
 * fidelity tails need more than the records and are not merged.
 */
#ifndef HFEVAL_MERGE_H
#define HFEVAL_MERGE_H

#include <stddef.h>

/* Reads the runs (directories), writes OUT_DIR/run.json and
 * samples.jsonl, prints the plain table.  Returns the exit status. */
int hfe_merge(const char *out_dir, const char *const *runs, size_t n_runs);

#endif /* HFEVAL_MERGE_H */
