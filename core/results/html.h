/*
 * html.h - the report as one HTML file (`hfeval report --format html`,
 * `hfeval run --html FILE`): the lineage as a tree, the decision table
 * (sortable, its marks and pick), quality against size and against decode
 * speed with 95% intervals and the Pareto frontier, each derivative's
 * per-token KLD against its parent, the items that flipped between a
 * derivative and its parent side by side, each metric's history with its
 * comparability breaks, and the runs' provenance.
 *
 * Self-contained: the SVG is drawn here, the script is inline, and the
 * page's Content-Security-Policy forbids every request, so it opens from
 * disk or a CI artefact and works offline.
 */
#ifndef HFEVAL_HTML_H
#define HFEVAL_HTML_H

#include <stddef.h>

#include "decide.h"
#include "hfeval.h"

struct hfe_html_opts {
    const struct hfe_decide_opts *decide; /* the table's and the pick's */
    const char *title;                    /* NULL: "hfeval report" */
    const char *db; /* the history database, or NULL for no history */
};

/* The report of the runs (directories or run.json files, in order),
 * appended to out.  Returns 0, or the exit status with err set. */
int hfe_html(const char *const *runs, size_t n_runs,
             const struct hfe_html_opts *o, struct hfe_buf *out,
             struct hfe_err *err);

/* The same written to path (replaced whole, or not at all).  Returns 0
 * or the exit status with err set. */
int hfe_html_write(const char *path, const char *const *runs, size_t n_runs,
                   const struct hfe_html_opts *o, struct hfe_err *err);

#endif /* HFEVAL_HTML_H */
