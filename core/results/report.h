/*
 * report.h - the lineage tables of one or more run records (`hfeval
 * report RUN... [--format md|csv|json]`, cli/cmd_report.c).
 *
 * One block a lineage (a root and every model under it, base first, then
 * its derivatives depth first): a model table (base, quantization,
 * parameters, file size, compliance class) and a metric table with each
 * value, its 95% interval (± 1.96 standard errors, where the metric has
 * one), its Δ against the lineage's root and against the parent, and
 * the paired test against the root on the items both scored (McNemar's
 * exact p and the items that went down and up, or a paired bootstrap's
 * p), where the runs' samples.jsonl are at hand.
 * Runs are read in order; a later run's value for the same model, suite,
 * task and metric replaces an earlier one.
 */
#ifndef HFEVAL_REPORT_H
#define HFEVAL_REPORT_H

#include <stddef.h>

#include "hfeval.h"

enum hfe_report_format { HFE_REPORT_MD, HFE_REPORT_CSV, HFE_REPORT_JSON };

/* The tables of the runs (directories or run.json files, read in order)
 * appended to out.  Returns 0, or the exit status with err set. */
int hfe_report(const char *const *runs, size_t n_runs, enum hfe_report_format f,
               struct hfe_buf *out, struct hfe_err *err);

#endif /* HFEVAL_REPORT_H */
