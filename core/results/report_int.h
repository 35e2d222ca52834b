/*
 * report_int.h - the run records as report.c reads them, shared with the
 * decision table (decide.c): each model with its facts, each metric's
 * value, each task's facts.  Not part of the library's interface.
 */
#ifndef HFEVAL_REPORT_INT_H
#define HFEVAL_REPORT_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "compare.h"
#include "hfeval.h"

struct rep_model {
    char *name, *base, *quant, *klass;
    char *license, *failed;    /* compliance: failed checks, ", "-joined */
    cJSON *measure;            /* run.json's models[].measure, or NULL */
    const char *run;           /* the run it was read from, for its samples */
    struct hfe_cmp_side *side; /* opened when a test needs it */
    int side_tried;
    double params, bytes;
    int root; /* index of its lineage's root */
};

struct rep_row {
    int model;
    char *key; /* "suite/task\tmetric" */
    char *suite, *task, *metric;
    double value, se;
    int has_se;
    double n;
};

/* A task of the runs' suites. */
struct rep_task {
    char *suite, *task, *kind, *primary; /* primary: NULL if not named */
    int timing, fidelity;
    int grouped; /* a member of one of the suite's groups (kind "group"),
                  * whose row stands for it in the decision table */
};

struct rep {
    struct rep_model *m;
    size_t n_m;
    struct rep_row *r;
    size_t n_r;
    struct rep_task *t;
    size_t n_t;
};

/* Reads a run (a directory or its run.json) into r: a later run's facts
 * and values replace an earlier one's.  Returns 0 or the exit status. */
int hfe_rep_load(struct rep *r, const char *run, struct hfe_err *err);
void hfe_rep_free(struct rep *r);
/* The model called name, or -1. */
int hfe_rep_find(const struct rep *r, const char *name);
/* Model's value of key ("suite/task\tmetric"), or NULL. */
const struct rep_row *hfe_rep_value(const struct rep *r, int model,
                                    const char *key);
/* The lineages in order from parent (-1: every root): each model after
 * its parent, depth first; order[] and depth[] get *n more. */
void hfe_rep_walk(const struct rep *r, int parent, int *order, size_t *n,
                  int *depth, int d);
/* Is metric a share of right answers (kept in [0, 1]). */
int hfe_rep_proportion(const char *metric);
/* The paired test of row v (of model v->model) against the same metric of
 * model other, on the items both scored; pt->p < 0 when either has no
 * samples at hand. */
void hfe_rep_paired(struct rep *r, const struct rep_row *v, int other,
                    struct hfe_paired *pt);

#endif /* HFEVAL_REPORT_INT_H */
