/*
 * table.h - the plain result table `hfeval run` and `hfeval merge` print
 * when stdout is not a terminal: a row a metric (model, task, metric,
 * value, standard error, count), error rows, and the lineage as a tree.
 * Scripts read it; its columns do not change.
 */
#ifndef HFEVAL_TABLE_H
#define HFEVAL_TABLE_H

#include <cjson/cJSON.h>

#include "hfeval.h"

struct hfe_model_list;
struct hfe_stat;

/* The header row. */
void hfe_table_head(struct hfe_buf *b);
/* A metric's row: four decimals, or four significant digits below 0.01;
 * "-" for the standard error of a corpus metric. */
void hfe_table_row(struct hfe_buf *b, const char *model, const char *task,
                   const struct hfe_stat *s);
/* A model or task that failed, with why. */
void hfe_table_error(struct hfe_buf *b, const char *model, const char *task,
                     const char *msg);
/* "\nLINEAGE\n" and each model under its parent, in list order: from a
 * model list, or from a run record's "models" array. */
void hfe_table_lineage(struct hfe_buf *b, const struct hfe_model_list *l);
void hfe_table_lineage_json(struct hfe_buf *b, const cJSON *models);

#endif /* HFEVAL_TABLE_H */
