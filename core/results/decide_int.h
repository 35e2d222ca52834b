/*
 * decide_int.h - the decision table as decide.c builds it, shared with the
 * HTML report (html.c), which draws the same rows.  Not part of the
 * library's interface.
 */
#ifndef HFEVAL_DECIDE_INT_H
#define HFEVAL_DECIDE_INT_H

#include <stddef.h>

#include "decide.h"
#include "hfeval.h"
#include "report_int.h"

/* A quality column: a task's metric. */
struct col {
    const struct rep_task *t;
    const char *metric;
    char key[1100];   /* "suite/task\tmetric", as rows are keyed */
    char field[1100]; /* "suite/task:metric", the CSV and JSON name */
    int lower;        /* lower is better */
};

/* A model's cell of a column. */
struct qcell {
    const struct rep_row *v;
    double lo, hi, dp, rec; /* 95% interval, Δ parent, recovery */
    struct hfe_paired pt;   /* against the parent */
};

/* A model's row. */
struct drow {
    int m, depth, parent, root;
    char *tree; /* the text format's first column: the lineage drawn */
    struct qcell *q;
    double size_mib, params, quality, recovery;
    double kld, kld_p99, same_top, trunc, loop;
    double pp, tg, ttft, lat90, peak, load_ms;
    const char *speed; /* "speed.lua", "batched" or NULL */
    int par_size, par_dec, pick;
};

/* A lineage: rows [a, b) of the table, its pick and why. */
struct lin {
    size_t a, b;
    int pick; /* a row, or -1 */
    struct hfe_buf why;
    struct hfe_buf out;  /* the better-scoring members ruled out, "; " */
    struct hfe_buf json; /* the same, as a JSON array's items */
};

struct dec {
    struct rep r;
    int *role; /* by task: role_of() */
    const struct hfe_decide_opts *o;
    struct col *c;
    size_t n_c;
    struct drow *d;
    size_t n_d;
    struct lin *l;
    size_t n_l;
};

/* A table: one header and rows of cells, each cell with the number it
 * shows (NaN for a word), to sort by. */
struct grid {
    const char **head;
    char *right; /* aligned right: a column of numbers */
    size_t n_col, cap;
    char **cell; /* [row * cap + col] */
    double *key; /* [row * cap + col] */
    size_t n_row;
};

/* The runs read (in order, a later value replacing an earlier one) and
 * every row, lineage, mark and pick built.  Returns 0 or the exit status
 * with err set; hfe_dec_free() D either way. */
int hfe_dec_load(struct dec *D, const char *const *runs, size_t n,
                 const struct hfe_decide_opts *o, struct hfe_err *err);
void hfe_dec_free(struct dec *D);

/* A task's part in the table: 0 quality, 1 fidelity, 2 speed, 3 none. */
int hfe_dec_role(const struct dec *D, const struct rep_task *t);

/* Lineage li's rows as the table shows them (text: the first column draws
 * the lineage, else it names the model); lab holds the column labels,
 * D->n_c of them.  hfe_dec_grid_free() g. */
void hfe_dec_grid(struct dec *D, size_t li, struct grid *g, char (*lab)[160],
                  int text);
void hfe_dec_grid_free(struct grid *g);

/* What the columns and marks mean, one paragraph (it: "_" around it for
 * Markdown, else ""). */
void hfe_dec_legend(const struct dec *D, struct hfe_buf *t, const char *it);

/* Four significant digits; scientific past a million and under 0.001;
 * "-" for NaN. */
const char *hfe_dec_num(char *b, size_t n, double v);

#endif /* HFEVAL_DECIDE_INT_H */
