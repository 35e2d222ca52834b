/*
 * score_int.h - what the scorers' files share (core/score/ only): the
 * records they write, the Lua metrics, the generate scorer and the
 * sandbox runs of code tasks.  score.h is the API.
 *
 *   score.c     choice, rolling and compliance; dispatch; records
 *   generate.c  answer extraction and the generate scorer
 *   exec.c      running a code task's programs in the sandbox
 *   stats.c     means and standard errors
 */
#ifndef HFEVAL_SCORE_INT_H
#define HFEVAL_SCORE_INT_H

#include "call.h"
#include "sandbox.h"
#include "json.h"
#include "score.h"

/* A record's start: model, suite, task, doc_id, item_id, prompt_sha256. */
void hfe_score_rec_start(struct hfe_job *j, const struct hfe_item *it);
/* Appends ,"name":value to a record's metrics (*first: none yet). */
void hfe_score_rec_metric(struct hfe_job *j, int *first, const char *name,
                          double v);
/* The task's Lua metrics of one item on what the model answered (out):
 * each value into its stat (stats[x], x in t->lua_metric's order) and the
 * record. */
int hfe_score_lua(struct hfe_job *j, const struct hfe_item *it,
                  const struct hfe_suite_out *out, struct hfe_stat *stats,
                  int *first);
/* A group of n stats (hfe_stat_group), or NULL with the bug in j->err. */
struct hfe_stat *hfe_score_stats(struct hfe_job *j, size_t n);

/* The generate scorer (generate.c). */
int hfe_score_generate(struct hfe_job *j, const struct hfe_result *res);

/* Runs every sample's program in the sandbox, the references first when
 * not yet measured; (*jobs)[i * samples + k] says how each ended, for
 * hfe_score_free_jobs().  On failure *jobs is NULL (exec.c). */
int hfe_score_execute(struct hfe_job *j, const struct hfe_result *res,
                      struct hfe_sb_job **jobs);
void hfe_score_free_jobs(struct hfe_sb_job *jobs, size_t n);
/* ,"exec":{...} of document doc's ns runs. */
void hfe_score_rec_exec(struct hfe_job *j, const struct hfe_sb_job *jb,
                        size_t ns, size_t doc);

#endif /* HFEVAL_SCORE_INT_H */
