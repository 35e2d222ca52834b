/*
 * gate.h - the sequential gate behind `hfeval run --gate BASELINE`: a
 * candidate evaluated on the baseline's items in a seeded random order,
 * a block at a time, until its verdict against the baseline is certain.
 *
 * The test, on each item's drop d = baseline - candidate (a metric
 * between 0 and 1: acc, exact_match, pass@k), is two tests by betting
 * (Waudby-Smith and Ramdas, "Estimating means of bounded random variables
 * by betting", JRSS-B 2024): the wealth
 *
 *   fail  prod (1 + l_i (d_i - tol))          against  E[d] <= tol
 *   pass  prod (1 + m_i (tol + detect - d_i)) against  E[d] >= tol + detect
 *
 * each a nonnegative supermartingale under its hypothesis whatever the
 * bets, so long as l_i and m_i depend only on the items before i (here
 * the predictable plug-in of the mean and variance so far, capped at half
 * what keeps the factor positive).  By Ville's inequality the fail wealth
 * ever reaches 1/alpha with probability at most alpha when the candidate
 * is within the tolerance, and the pass wealth reaches 1/beta with
 * probability at most beta when it is worse by tol + detect: the gate
 * may look after every item, or every block, and stop at once.  A
 * candidate between the two, or a task too short to tell, ends
 * undecided after every item, which does not fail.
 */
#ifndef HFEVAL_GATE_H
#define HFEVAL_GATE_H

#include <stddef.h>
#include <stdint.h>

enum hfe_seq_verdict { HFE_SEQ_UNDECIDED, HFE_SEQ_FAIL, HFE_SEQ_PASS };

/* The test's parameters and its state after n items. */
struct hfe_seq {
    double tol, detect, alpha, beta;
    double log_fail, log_pass; /* the two wealths, as logarithms */
    double sum, sum2;          /* of the drops so far            */
    size_t n, down, up;        /* items; drops > 0, < 0          */
    enum hfe_seq_verdict verdict;
    size_t decided_at; /* items when the verdict was reached */
};

void hfe_seq_init(struct hfe_seq *s, double tol, double detect, double alpha,
                  double beta);
/* One item's drop, in [-1, 1]; returns the verdict so far, which once
 * reached does not change. */
enum hfe_seq_verdict hfe_seq_add(struct hfe_seq *s, double d);
const char *hfe_seq_verdict_name(enum hfe_seq_verdict v);

/* A seeded permutation of 0..n-1 into v (splitmix64, Fisher-Yates): the
 * order the gate asks the items in, the same for the same seed. */
void hfe_seq_order(size_t *v, size_t n, uint64_t seed);

/* ---- the gate ----------------------------------------------------------- */

struct hfe_buf;
struct hfe_err;
struct hfe_job;
struct hfe_suite;
struct hfe_task;

/* What `run --gate` asks (cli/cmd_run.c); the caller owns every field. */
struct hfe_gate_opts {
    const char *baseline; /* a run directory or its run.json       */
    const char *model;    /* its model; NULL: the run's only one    */
    const char *task;     /* NULL: the suites' only task            */
    const char *metric;   /* NULL: the task's primary metric        */
    double tol;           /* the drop tolerated (--max-drop)        */
    double detect;        /* the drop past tol to catch (--detect)  */
    double alpha, beta;   /* false alarm; a regression let through  */
    size_t block;         /* items asked between looks              */
    uint64_t seed;        /* the items' order                       */
};

/* The gate of a run: the task it takes, the baseline's value of each of
 * its items.  hfe_gate_open reorders that task's items: those the
 * baseline scored first, in the gate's order, then the rest (never
 * asked).  Returns 0, or an exit status with err set. */
struct hfe_gate;
int hfe_gate_open(const struct hfe_gate_opts *o, struct hfe_suite *su,
                  size_t n_suites, struct hfe_gate **out, struct hfe_err *err);
void hfe_gate_close(struct hfe_gate *g);

/* Is t the task the gate takes (the others do not run). */
int hfe_gate_takes(const struct hfe_gate *g, const struct hfe_task *t);

/* Task j->t on j's model, a block of items at a time through run (the
 * runner's own task runner, on a view of the block), until the verdict:
 * the stats over the items asked in j->st, their records in j->rec, the
 * verdict in *v, as JSON (",\"gate\":{...}", run.json's) appended to
 * json and as a line for people to say.  Returns 0 or run's status. */
int hfe_gate_task(struct hfe_gate *g, struct hfe_job *j,
                  int (*run)(struct hfe_job *), enum hfe_seq_verdict *v,
                  struct hfe_buf *json, struct hfe_buf *say);

#endif /* HFEVAL_GATE_H */
