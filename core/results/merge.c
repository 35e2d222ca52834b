/*
 * merge.c - shard runs joined into one.  See merge.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json_get.h"
#include "merge.h"
#include "record.h"
#include "score.h"
#include "table.h"

/* One (model, suite, task) of the merged run and its records. */
struct group {
    const char *model, *suite, *task;
    cJSON **rec;
    size_t n, cap;
};

struct merge {
    struct group *g;
    size_t n_g;
};

static struct group *find(struct merge *mg, const char *mo, const char *su,
                          const char *ta)
{
    size_t k;

    for (k = 0; k < mg->n_g; k++)
        if (!strcmp(mg->g[k].model, mo) && !strcmp(mg->g[k].suite, su) &&
            !strcmp(mg->g[k].task, ta))
            return &mg->g[k];
    return NULL;
}

/* A sample record into its group (a new group for a new task). */
static void take(void *ud, cJSON *r)
{
    struct merge *mg = ud;
    const char *mo = hfe_json_get_str(r, "model"),
               *su = hfe_json_get_str(r, "suite"),
               *ta = hfe_json_get_str(r, "task");
    struct group *x;

    if (!mo || !su || !ta) {
        cJSON_Delete(r);
        return;
    }
    if (!(x = find(mg, mo, su, ta))) {
        mg->g = hfe_xrealloc(mg->g, (mg->n_g + 1) * sizeof(*mg->g));
        x = &mg->g[mg->n_g++];
        memset(x, 0, sizeof(*x));
        x->model = mo, x->suite = su, x->task = ta;
    }
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->rec = hfe_xrealloc(x->rec, x->cap * sizeof(cJSON *));
    }
    x->rec[x->n++] = r;
}

static int rec_doc_cmp(const void *a, const void *b)
{
    const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
    double dx = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "doc_id")),
           dy = cJSON_GetNumberValue(cJSON_GetObjectItem(y, "doc_id"));

    return (dx > dy) - (dx < dy);
}

static double metric(const cJSON *rec, const char *key)
{
    return cJSON_GetNumberValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "metrics"), key));
}

/* A rolling task's corpus figures, from the records' sums. */
static void stats_rolling(const struct group *x, struct hfe_stats *st)
{
    double lp = 0, tok = 0, by = 0;
    struct hfe_stat *p = hfe_stat_new(st, 1, "ppl_token"),
                    *b = hfe_stat_new(st, 1, "bits_per_byte");
    size_t i;

    for (i = 0; i < x->n; i++) {
        lp += metric(x->rec[i], "logprob");
        tok += metric(x->rec[i], "tokens");
        by += metric(x->rec[i], "bytes");
    }
    p->sum = tok ? exp(-lp / tok) : 0, p->n = x->n;
    b->sum = by ? -lp / (log(2) * by) : 0, b->n = x->n;
}

/* Every other task's means, a metric at a time as the records name them. */
static void stats_items(const struct group *x, const char *kind,
                        struct hfe_stats *st)
{
    const cJSON *v;
    size_t i, k;

    for (i = 0; i < x->n; i++)
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(x->rec[i], "metrics"))
        {
            struct hfe_stat *t = NULL;

            for (k = 0; k < st->n; k++)
                if (!strcmp(st->v[k].name, v->string))
                    t = &st->v[k];
            if (!t)
                t = hfe_stat_new(st, kind && !strcmp(kind, "compliance"), "%s",
                                 v->string);
            if (cJSON_IsNumber(v))
                hfe_stat_add(t, v->valuedouble);
        }
}

/* A loglikelihood task's perplexity: e to the minus its mean logprob,
 * as score.c has it, after the logprob. */
static void stats_perplexity(struct hfe_stats *st)
{
    struct hfe_stat *p;
    size_t k;

    for (k = 0; k < st->n && strcmp(st->v[k].name, "logprob"); k++)
        ;
    if (k == st->n || !(p = hfe_stat_new(st, 1, "perplexity")))
        return;
    p->sum = st->v[k].n ? exp(-st->v[k].sum / st->v[k].n) : 0;
    p->n = st->v[k].n;
}

/* A suite's groups as run.json has them (suites[].groups), for
 * hfe_stat_groups; *n of them, the strings run.json's own. */
static struct hfe_group *json_groups(const cJSON *su, size_t *n)
{
    const cJSON *gs = cJSON_GetObjectItem(su, "groups"), *g, *x;
    struct hfe_group *v =
        hfe_xcalloc((size_t)cJSON_GetArraySize(gs) + 1, sizeof(*v));

    *n = 0;
    cJSON_ArrayForEach(g, gs)
    {
        struct hfe_group *o = &v[*n];
        const cJSON *t = cJSON_GetObjectItem(g, "tasks");

        if (!hfe_json_get_str(g, "name"))
            continue;
        o->name = (char *)hfe_json_get_str(g, "name");
        o->members =
            hfe_xcalloc((size_t)cJSON_GetArraySize(t) + 1, sizeof(char *));
        cJSON_ArrayForEach(x, t) if (cJSON_IsString(x))
            o->members[o->n_members++] = x->valuestring;
        cJSON_ArrayForEach(
            x, cJSON_GetObjectItem(
                   g, "metrics")) if (hfe_json_get_str(x, "metric") &&
                                      o->n_metrics < HFE_MAX_NAMED)
        {
            o->metric[o->n_metrics] = (char *)hfe_json_get_str(x, "metric");
            o->weight_by_size[o->n_metrics++] =
                cJSON_IsTrue(cJSON_GetObjectItem(x, "weight_by_size"));
        }
        (*n)++;
    }
    return v;
}

struct merged_rows {
    struct hfe_buf *table;
    struct hfe_record_out *w;
    const char *model, *suite;
};

static void merged_row(void *ud, const char *group, const struct hfe_stat *s)
{
    struct merged_rows *m = ud;

    hfe_table_row(m->table, m->model, group, s);
    hfe_record_result(m->w, m->model, m->suite, group, s);
}

/* Task ta of suite su on model mn: its rows and records; its stats into
 * *st. */
static void merge_task(struct merge *mg, const char *mn, const char *sn,
                       const cJSON *ta, struct hfe_stats *st,
                       struct hfe_buf *table, struct hfe_record_out *w,
                       struct hfe_buf *samples)
{
    const char *tn = hfe_json_get_str(ta, "name"),
               *kind = hfe_json_get_str(ta, "kind");
    struct group *x = mn && sn && tn ? find(mg, mn, sn, tn) : NULL;
    size_t i, k;

    if (!x)
        return;
    qsort(x->rec, x->n, sizeof(cJSON *), rec_doc_cmp);
    if (kind && !strcmp(kind, "rolling"))
        stats_rolling(x, st);
    else
        stats_items(x, kind, st);
    if (kind && !strcmp(kind, "loglikelihood"))
        stats_perplexity(st);
    for (k = 0; k < st->n; k++) {
        hfe_table_row(table, mn, tn, &st->v[k]);
        hfe_record_result(w, mn, sn, tn, &st->v[k]);
    }
    for (i = 0; i < x->n; i++) {
        char *line = cJSON_PrintUnformatted(x->rec[i]);

        hfe_buf_puts(samples, line);
        hfe_buf_puts(samples, "\n");
        free(line);
    }
}

/* The groups in the unsharded run's order (models as run, suites,
 * tasks, documents, then the suite's groups): the table, the result rows
 * and the records. */
static void merge_groups(struct merge *mg, const cJSON *first,
                         struct hfe_buf *table, struct hfe_record_out *w,
                         struct hfe_buf *samples)
{
    const cJSON *m, *su, *ta;
    size_t i, k;

    cJSON_ArrayForEach(m, cJSON_GetObjectItem(first, "models"))
        cJSON_ArrayForEach(su, cJSON_GetObjectItem(first, "suites"))
    {
        const cJSON *tasks = cJSON_GetObjectItem(su, "tasks");
        size_t nt = (size_t)cJSON_GetArraySize(tasks), ng;
        struct hfe_stats **st = hfe_xcalloc(nt + 1, sizeof(*st));
        const char **names = hfe_xcalloc(nt + 1, sizeof(*names));
        struct merged_rows mr = {table, w, hfe_json_get_str(m, "name"),
                                 hfe_json_get_str(su, "name")};
        struct hfe_group *g;

        k = 0;
        cJSON_ArrayForEach(ta, tasks)
        {
            st[k] = hfe_xcalloc(1, sizeof(**st));
            names[k] = hfe_json_get_str(ta, "name")
                           ? hfe_json_get_str(ta, "name")
                           : "";
            merge_task(mg, mr.model, mr.suite, ta, st[k], table, w, samples);
            k++;
        }
        g = json_groups(su, &ng);
        if (ng && mr.model && mr.suite)
            hfe_stat_groups(g, ng, names, st, nt, merged_row, &mr);
        for (i = 0; i < ng; i++)
            free(g[i].members);
        free(g);
        for (i = 0; i < nt; i++)
            free(st[i]);
        free(st);
        free(names);
    }
}

/* OUT/samples.jsonl, OUT/items.jsonl (the shards' items, each shard's
 * documents its own), and OUT/run.json: the first shard's record with the
 * merged results, no shard, and the shards it came from. */
static int write_out(const char *out_dir, const cJSON *first,
                     cJSON *merged_from, const struct hfe_record_out *w,
                     const struct hfe_buf *samples, const struct hfe_buf *items)
{
    cJSON *rec = cJSON_Duplicate(first, 1);
    char *path = hfe_xasprintf("%s/samples.jsonl", out_dir), *json, *res;
    const char *id =
        strrchr(out_dir, '/') ? strrchr(out_dir, '/') + 1 : out_dir;
    int rc = 0;

    res = hfe_xasprintf("%s\n]", w->results.s);
    cJSON_ReplaceItemInObject(rec, "run_id", cJSON_CreateString(id));
    cJSON_ReplaceItemInObject(rec, "shard", cJSON_CreateNull());
    cJSON_ReplaceItemInObject(rec, "results", cJSON_Parse(res));
    cJSON_AddItemToObject(rec, "merged_from", merged_from);
    free(res);
    if (hfe_write_file(path, samples->s, samples->len) != 0)
        rc = HFE_EXIT_IO;
    free(path);
    path = hfe_xasprintf("%s/items.jsonl", out_dir);
    if (!rc && hfe_write_file(path, items->s, items->len) != 0)
        rc = HFE_EXIT_IO;
    free(path);
    path = hfe_xasprintf("%s/run.json", out_dir);
    json = cJSON_Print(rec);
    res = hfe_xasprintf("%s\n", json);
    if (!rc && hfe_write_file(path, res, strlen(res)) != 0)
        rc = HFE_EXIT_IO;
    if (rc)
        fprintf(stderr, "hfeval: %s: cannot write: %s\n", path,
                strerror(errno));
    free(res);
    free(json);
    free(path);
    cJSON_Delete(rec);
    return rc;
}

int hfe_merge(const char *out_dir, const char *const *runs, size_t n_runs)
{
    struct hfe_record *rec = hfe_xcalloc(n_runs + 1, sizeof(*rec));
    cJSON *merged_from = cJSON_CreateArray();
    struct hfe_buf table = {0}, samples = {0}, items = {0};
    struct hfe_record_out w;
    struct merge mg = {0};
    struct hfe_err err;
    size_t i, k;
    int rc = 0;

    hfe_record_out_init(&w);
    for (i = 0; i < n_runs && !rc; i++) {
        const char *id;

        if ((rc = hfe_record_load(runs[i], &rec[i], &err)) == 0)
            rc = hfe_record_samples(&rec[i], take, &mg, &err);
        if (rc) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
            break;
        }
        { /* a shard's items, when it wrote them (older runs did not) */
            char *ip = hfe_xasprintf("%s/items.jsonl", rec[i].dir), *text;
            size_t len;

            if (hfe_read_file(ip, &text, &len, &err) == 0) {
                hfe_buf_add(&items, text, len);
                free(text);
            }
            free(ip);
        }
        id = hfe_json_get_str(rec[i].json, "run_id");
        cJSON_AddItemToArray(merged_from,
                             cJSON_CreateString(id ? id : runs[i]));
    }
    if (!rc && hfe_mkdirs(out_dir) != 0) {
        fprintf(stderr, "hfeval: %s: cannot create it: %s\n", out_dir,
                strerror(errno));
        rc = HFE_EXIT_IO;
    }
    if (!rc) {
        const cJSON *models = cJSON_GetObjectItem(rec[0].json, "models");

        hfe_buf_add(&samples, "", 0);
        hfe_table_head(&table);
        merge_groups(&mg, rec[0].json, &table, &w, &samples);
        hfe_buf_add(&items, "", 0);
        rc = write_out(out_dir, rec[0].json, merged_from, &w, &samples, &items);
        merged_from = NULL;
        if (cJSON_GetArraySize(models) > 1)
            hfe_table_lineage_json(&table, models);
        fputs(table.s, stdout);
    }
    for (k = 0; k < mg.n_g; k++) {
        for (i = 0; i < mg.g[k].n; i++)
            cJSON_Delete(mg.g[k].rec[i]);
        free(mg.g[k].rec);
    }
    free(mg.g);
    for (i = 0; i < n_runs; i++)
        hfe_record_free(&rec[i]);
    free(rec);
    cJSON_Delete(merged_from);
    hfe_buf_free(&table);
    hfe_buf_free(&samples);
    hfe_buf_free(&items);
    hfe_record_out_free(&w);
    return rc;
}
