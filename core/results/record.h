/*
 * record.h - the run record, written and read in one place: RUN/run.json
 * (what produced the numbers, and the numbers) and RUN/samples.jsonl (a
 * line a sample).  results/README.md documents both; this module is the
 * only one that knows their layout, as curl's hsts.c owns its file.
 *
 * Writing: a run builds its "models" and "results" arrays as it goes
 * (struct hfe_record_out), then hfe_record_write() puts them in run.json
 * with the run's facts.  Reading: hfe_record_load() takes a run directory
 * or its run.json, checks the schema, and hands back the parsed record;
 * hfe_record_samples() walks samples.jsonl.  Not thread-safe; nothing
 * here keeps global state.
 */
#ifndef HFEVAL_RECORD_H
#define HFEVAL_RECORD_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "hfeval-plugin.h"
#include "hfeval.h"

struct hfe_model_ent;
struct hfe_stat;
struct hfe_suite;
struct hfe_lua_opts;
struct hfe_select;

/* The schema id of run.json; a record with another is refused. */
#define HFE_RECORD_SCHEMA "hfeval.run/1"

/* ---- reading ------------------------------------------------------------ */

/* A run record read back; every field owned by it. */
struct hfe_record {
    char *dir;   /* the run directory                  */
    char *path;  /* its run.json                       */
    cJSON *json; /* run.json, parsed and schema-checked */
};

/* Reads RUN, a run directory or its run.json.  Returns 0, HFE_EXIT_IO
 * (cannot read it) or HFE_EXIT_DATA (not a run record), with err set and
 * rec zeroed on failure. */
int hfe_record_load(const char *run, struct hfe_record *rec,
                    struct hfe_err *err);
void hfe_record_free(struct hfe_record *rec);

/* Each line of the run's samples.jsonl that parses, in order, handed to
 * fn, which owns it (cJSON_Delete it or keep it).  Blank and unparsable
 * lines are passed over.  Returns 0, or HFE_EXIT_IO with err when the
 * file cannot be read. */
int hfe_record_samples(const struct hfe_record *rec,
                       void (*fn)(void *ud, cJSON *sample), void *ud,
                       struct hfe_err *err);

/* ---- writing ------------------------------------------------------------ */

/* The "models" and "results" arrays of a run being written. */
struct hfe_record_out {
    struct hfe_buf models, results;
};

void hfe_record_out_init(struct hfe_record_out *w);
void hfe_record_out_free(struct hfe_record_out *w);

/* A model's entry: begun with what the list says of it (its name, URI
 * less any password, parent, backend, options and file), then its
 * _compliance, then at most one of _error (it did not open) or _info
 * (what its backend says),
 * then _stats (what the backend counted), then _end.  sha256: the model
 * file's digest when the caller has it (the run's cache), else NULL and
 * it is computed. */
void hfe_record_model_begin(struct hfe_record_out *w,
                            const struct hfe_model_ent *e, const char *base,
                            const struct hfe_backend *be, const char *sha256);
void hfe_record_model_error(struct hfe_record_out *w, const char *msg);
/* Its metadata compliance, checked in every run (checks/compliance.h):
 * the class, the license and the checks that failed; or, with r NULL, why
 * it could not be checked.  After _begin, before _error or _info. */
struct hfe_cc_model;
struct hfe_cc_report;
void hfe_record_model_compliance(struct hfe_record_out *w,
                                 const struct hfe_cc_model *m,
                                 const struct hfe_cc_report *r,
                                 const char *why);
void hfe_record_model_info(struct hfe_record_out *w,
                           const struct hfe_model_info *info);
void hfe_record_model_stats(struct hfe_record_out *w,
                            const struct hfe_backend *be, struct hfe_model *m);
/* More of the model's object, as it is: ",\"key\":{...}". */
void hfe_record_model_json(struct hfe_record_out *w, const char *json);
void hfe_record_model_end(struct hfe_record_out *w);

/* A result row: a metric's mean, standard error (null for a corpus
 * metric) and count; or the error that stopped the task. */
void hfe_record_result(struct hfe_record_out *w, const char *model,
                       const char *suite, const char *task,
                       const struct hfe_stat *s);
void hfe_record_result_error(struct hfe_record_out *w, const char *model,
                             const char *suite, const char *task,
                             const char *msg);

/* What a run was, besides its models and results. */
struct hfe_record_run {
    int argc; /* the command, less "hfeval" */
    char **argv;
    const struct hfe_suite *suites;
    size_t n_suites;
    const struct hfe_lua_opts *lo; /* the --set pairs */
    const struct hfe_select *sel;  /* the shard       */
    time_t started;
};

/* The items the run asked, a line each, into out (DIR/items.jsonl): for
 * every choice and generate task's document its suite, task, doc_id, the
 * prompt as rendered (what the samples' prompt_sha256 digests) and a
 * choice task's choices; once a run, not once a model. */
void hfe_record_items(struct hfe_buf *out, const struct hfe_suite *su,
                      size_t n_suites);

/* Writes DIR/run.json.  Returns 0, or HFE_EXIT_IO with err set
 * ("PATH: cannot write the run record: REASON"). */
int hfe_record_write(const char *dir, const struct hfe_record_run *run,
                     const struct hfe_record_out *w, struct hfe_err *err);

#endif /* HFEVAL_RECORD_H */
