/*
 * export.h - a run's results in the formats people publish them in
 * (`hfeval export RUN --format hf|model-index|eee --out DIR`):
 *
 *   hf           DIR/MODEL/.eval_results/hfeval.yaml: the Hub's list of
 *                entries, one a task the suite maps to a Hub benchmark
 *                (hub = {dataset = ..., task_id = ...}): dataset.id,
 *                task_id, config, split, revision, the benchmark's
 *                metric's value, date, source (only with --source URL),
 *                evaluation_framework: hfeval, and in notes what the
 *                format has no field for (shots, quantization, base
 *                model, engine, digests).  Never a verifyToken.
 *   model-index  DIR/MODEL/model-index.yaml: the card's front-matter
 *                block, every metric of each mapped task, every string
 *                a string.
 *   eee          DIR/MODEL/eee/SUITE.TASK.json: Every Eval Ever 0.3.0, a
 *                file a model and task, every metric with its standard
 *                error, 95% interval and sample count; a task without a
 *                Hub dataset is a private one.  With --instances, each
 *                choice and generation item as EEE's instance-level
 *                JSONL, eee/data/SUITE.TASK/unknown/MODEL/UUID_samples.jsonl
 *                (the layout its file_path wants), named by the
 *                aggregate's detailed_evaluation_results.
 *
 * A task left out (no hub mapping, or its metric missing) is said on
 * stderr, never given an invented id.  Strings are written as YAML
 * double-quoted scalars (JSON escapes), so no value changes type.
 */
#ifndef HFEVAL_EXPORT_H
#define HFEVAL_EXPORT_H

#include "hfeval.h"

enum hfe_export_format {
    HFE_EXPORT_HF,
    HFE_EXPORT_MODEL_INDEX,
    HFE_EXPORT_EEE
};

struct hfe_export_opts {
    enum hfe_export_format format;
    const char *out;         /* the directory written into            */
    const char *source_url;  /* where the logs are published, or NULL */
    const char *source_name; /* its display name, or NULL             */
    int instances;           /* eee: each item too (--instances)      */
};

/* Exports the run at dir (a run directory or its run.json).  Returns 0,
 * or an exit status with err set (HFE_EXIT_DATA: not a run record;
 * HFE_EXIT_IO: a file not written). */
int hfe_export(const char *dir, const struct hfe_export_opts *o,
               struct hfe_err *err);

#endif /* HFEVAL_EXPORT_H */
