/*
 * report.h - `hfeval report RUN... [--format md|csv|json]`: the lineage
 * tables of one or more run records.
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

int hfe_report_main(int argc, char **argv);

#endif /* HFEVAL_REPORT_H */
