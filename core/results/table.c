/*
 * table.c - the plain result table and the lineage tree.  See table.h.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "json_get.h"
#include "models.h"
#include "score.h"
#include "table.h"

void hfe_table_head(struct hfe_buf *b)
{
    hfe_buf_printf(b, "%-20s %-18s %-22s %10s %10s %7s\n", "MODEL", "TASK",
                   "METRIC", "VALUE", "STDERR", "N");
}

/* Four decimals, or four significant digits below 0.01 (KLD). */
static void fmt_value(char *out, size_t n, double v)
{
    snprintf(out, n, v != 0 && fabs(v) < 0.01 ? "%.3e" : "%.4f", v);
}

void hfe_table_row(struct hfe_buf *b, const char *model, const char *task,
                   const struct hfe_stat *s)
{
    char val[32], se[32] = "-";

    fmt_value(val, sizeof(val), hfe_stat_mean(s));
    if (!s->corpus)
        fmt_value(se, sizeof(se), hfe_stat_stderr(s));
    hfe_buf_printf(b, "%-20s %-18s %-22s %10s %10s %7zu\n", model, task,
                   s->name, val, se, s->n);
}

void hfe_table_error(struct hfe_buf *b, const char *model, const char *task,
                     const char *msg)
{
    hfe_buf_printf(b, "%-20s %-18s error: %s\n", model, task, msg);
}

static void tree(struct hfe_buf *b, const struct hfe_model_list *l, long parent,
                 int depth)
{
    size_t j;

    for (j = 0; j < l->n; j++)
        if (l->v[j].base == parent) {
            hfe_buf_printf(b, "%*s%s\n", 2 * depth + 2, depth ? "- " : "",
                           l->v[j].name);
            tree(b, l, (long)j, depth + 1);
        }
}

void hfe_table_lineage(struct hfe_buf *b, const struct hfe_model_list *l)
{
    hfe_buf_puts(b, "\nLINEAGE\n");
    tree(b, l, -1, 0);
}

static void tree_json(struct hfe_buf *b, const cJSON *models,
                      const char *parent, int depth)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, models)
    {
        const char *base = hfe_json_get_str(m, "base"),
                   *name = hfe_json_get_str(m, "name");

        if (name &&
            ((!parent && !base) || (parent && base && !strcmp(base, parent)))) {
            hfe_buf_printf(b, "%*s%s\n", 2 * depth + 2, depth ? "- " : "",
                           name);
            tree_json(b, models, name, depth + 1);
        }
    }
}

void hfe_table_lineage_json(struct hfe_buf *b, const cJSON *models)
{
    hfe_buf_puts(b, "\nLINEAGE\n");
    tree_json(b, models, NULL, 0);
}
