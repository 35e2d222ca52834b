/*
 * history.h - every run in an SQLite database, for the quarterly
 * re-evaluation: a metric of a model over time, and where two numbers
 * stop being comparable.
 *
 *   hfeval history [--db PATH] [--model NAME] [--lineage NAME]
 *                  [--metric METRIC]
 *
 * The database (results/history.db, or $HFEVAL_DB, or --db) holds one
 * row a run and one a result, with what decides comparability: the
 * suite file's digest, its data files' digests, the backend's version
 * (which names llama.cpp's commit) and the model file's digest.  A
 * series (model, suite, task, metric) is listed oldest first; a row whose
 * suite, data or backend differs from the row before it is marked as a
 * break, with the reason.
 *
 * Not thread-safe; SQLite's own locking keeps concurrent runs apart.
 */
#ifndef HFEVAL_HISTORY_H
#define HFEVAL_HISTORY_H

#include <stddef.h>

#include "hfeval.h"

/* The database path: --db, else $HFEVAL_DB, else results/history.db. */
const char *hfe_history_path(const char *db);

/* Adds the run record at run_json (a written run.json) to the database.
 * Returns 0, or HFE_EXIT_IO with err. */
int hfe_history_add(const char *db, const char *run_json, struct hfe_err *err);

/* What `hfeval history` asks: each field NULL for any. */
struct hfe_history_query {
    const char *db, *model, *lineage, *metric;
};

/* A result of a series, as hfe_history_walk hands it over. */
struct hfe_history_row {
    const char *started, *run_id, *model, *suite, *task, *metric;
    double value, stderr_, n; /* stderr_: NaN for none */
    int first;                /* the series' first row */
    const char *why; /* what changed since the row before ("suite changed; "
                      * ...), "" when comparable */
};

/* Each matching result, series by series (model, suite, task, metric),
 * oldest first, handed to fn.  Returns 0, or HFE_EXIT_IO (no database)
 * with err set; *rows counts them. */
int hfe_history_walk(const struct hfe_history_query *q,
                     void (*fn)(void *ud, const struct hfe_history_row *row),
                     void *ud, size_t *rows, struct hfe_err *err);

/* The matching results, a series at a time and each row marked
 * comparable or with what changed, appended to out.  Returns 0, or
 * HFE_EXIT_IO (no database) or HFE_EXIT_FAIL (no row) with err set. */
int hfe_history_query(const struct hfe_history_query *q, struct hfe_buf *out,
                      size_t *rows, struct hfe_err *err);

#endif /* HFEVAL_HISTORY_H */
