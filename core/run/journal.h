/*
 * journal.h - every answered request of a run, appended as it completes,
 * so that a killed run resumes where it stopped.
 *
 * RUN_DIR/journal.jsonl holds a header line, then one line per result:
 *
 *     {"journal":"hfeval/1","argv":["run","suite.lua",...]}
 *     {"m":MODEL,"s":SUITE,"t":TASK,"i":INDEX,"d":DIGEST,"r":{...}}
 *
 * INDEX is the request's place in its task, DIGEST a hash of everything
 * the request asks (texts, sampling, limits), so that a changed request is
 * asked again.  Results keep every number exactly (%.17g), so that the
 * records of a resumed run equal those of an uninterrupted one.  Results
 * with top-k log-probabilities (fidelity) are not journaled: they are
 * large, and their task runs again.
 *
 * Lines are written whole, in batches (hfe_journal_flush; every 64
 * results or second, and at the end of each task), each batch with one
 * write(2) to a file opened O_APPEND.  A run killed mid-write leaves a
 * torn last line: the reader stops there.  Any other bad line is an error
 * with FILE:LINE.  Not thread-safe.
 */
#ifndef HFEVAL_JOURNAL_H
#define HFEVAL_JOURNAL_H

#include <stddef.h>

#include "hfeval-plugin.h"
#include "hfeval.h"

struct hfe_journal;

/* Starts RUN_DIR/journal.jsonl with the command's argv (argv[0] the
 * command, "run"), or, with resume, reads the one there and appends to
 * it.  Returns 0, or an HFE_EXIT_* status with err set. */
int hfe_journal_open(const char *run_dir, int argc, char **argv, int resume,
                     struct hfe_journal **out, struct hfe_err *err);

/* The argv a journal was started with (for `hfeval run --resume DIR`):
 * *argv and its strings malloc'ed, freed with hfe_journal_argv_free. */
int hfe_journal_argv(const char *run_dir, int *argc, char ***argv,
                     struct hfe_err *err);
void hfe_journal_argv_free(int argc, char **argv);

/* The request's digest, 32 hex digits and a NUL. */
void hfe_journal_digest(const struct hfe_request *q, char out[33]);

/* A journaled result of this request, copied into *res (host memory), or
 * 0 when there is none (or its digest differs).  Returns 1 when found. */
int hfe_journal_get(struct hfe_journal *j, const char *model, const char *suite,
                    const char *task, size_t index, const char *digest,
                    struct hfe_result *res);

/* A result as the journal keeps it, a JSON object ({"lp":...}; every
 * number exact, no top-k log-probabilities), and read back from one
 * (host memory).  The run's cache keeps answers the same way. */
struct cJSON;
void hfe_journal_result_json(struct hfe_buf *b, const struct hfe_result *res);
void hfe_journal_result_read(const struct cJSON *r, struct hfe_result *res);

/* Appends a result (status OK only; others are not kept). */
void hfe_journal_add(struct hfe_journal *j, const char *model,
                     const char *suite, const char *task, size_t index,
                     const char *digest, const struct hfe_result *res);

/* Writes what is buffered.  Returns 0, or -1 with errno (a full disk). */
int hfe_journal_flush(struct hfe_journal *j);

/* Nonzero once a write failed (a full disk): the run must stop, as what
 * it computes from then on could not be kept. */
int hfe_journal_broken(const struct hfe_journal *j);

/* Results read back when resuming, and journaled in this run. */
size_t hfe_journal_n_read(const struct hfe_journal *j);
size_t hfe_journal_n_added(const struct hfe_journal *j);

/* Flushes and frees; NULL is a no-op. */
void hfe_journal_close(struct hfe_journal *j);

#endif /* HFEVAL_JOURNAL_H */
