/*
 * history.c - run records into SQLite, and series out of it.  See
 * history.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "history.h"
#include "json.h"
#include "json_get.h"
#include "sha256.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS runs ("
    " run_id TEXT PRIMARY KEY, started TEXT, finished TEXT,"
    " hfeval TEXT, record TEXT);"
    "CREATE TABLE IF NOT EXISTS results ("
    " run_id TEXT REFERENCES runs(run_id), model TEXT, lineage TEXT,"
    " suite TEXT, task TEXT, metric TEXT, value REAL, stderr REAL, n INTEGER,"
    " suite_sha TEXT, data_sha TEXT, backend TEXT, model_sha TEXT);"
    "CREATE INDEX IF NOT EXISTS results_series ON results"
    " (model, suite, task, metric);";

const char *hfe_history_path(const char *db)
{
    const char *env = getenv("HFEVAL_DB");

    return db ? db : env && *env ? env : "results/history.db";
}

static const cJSON *by_name(const cJSON *list, const char *name)
{
    const cJSON *e;

    cJSON_ArrayForEach(
        e, list) if (hfe_json_get_str(e, "name") && name &&
                     !strcmp(hfe_json_get_str(e, "name"), name)) return e;
    return NULL;
}

/* One digest over a suite's data files, in the order they were read. */
static void data_digest(const cJSON *suite, char hex[65])
{
    struct hfe_sha256 c;
    const cJSON *d;

    hfe_sha256_init(&c);
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(suite, "data"))
    {
        const char *s = hfe_json_get_str(d, "sha256");

        if (s)
            hfe_sha256_add(&c, s, strlen(s));
    }
    hfe_sha256_hex(&c, hex);
}

static int fail(sqlite3 *db, const char *path, struct hfe_err *err)
{
    hfe_err_set(err, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
    return HFE_EXIT_IO;
}

/* One result row of the run into the prepared INSERT st, with its
 * lineage's root and the digests that say whether two rows compare.
 * Returns 0 (a row without a value is passed over) or -1. */
static int add_result(sqlite3_stmt *st, const cJSON *run, const cJSON *models,
                      const cJSON *suites, const cJSON *r)
{
    const cJSON *m = by_name(models, hfe_json_get_str(r, "model")),
                *s = by_name(suites, hfe_json_get_str(r, "suite")), *root = m,
                *be = cJSON_GetObjectItem(m, "backend");
    const cJSON *v = cJSON_GetObjectItem(r, "value"),
                *se = cJSON_GetObjectItem(r, "stderr");
    const char *bn = hfe_json_get_str(be, "name"),
               *bv = hfe_json_get_str(be, "version");
    char data[65], backend[256];
    int hops = 0;

    if (!hfe_json_get_str(r, "metric") || !cJSON_IsNumber(v))
        return 0;
    while (root && hops++ < 64) { /* up to its lineage's root */
        const cJSON *up = by_name(models, hfe_json_get_str(root, "base"));

        if (!up)
            break;
        root = up;
    }
    data_digest(s, data);
    snprintf(backend, sizeof(backend), "%s %s", bn ? bn : "?", bv ? bv : "?");
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, hfe_json_get_str(run, "run_id"), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, hfe_json_get_str(r, "model"), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, root ? hfe_json_get_str(root, "name") : NULL, -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, hfe_json_get_str(r, "suite"), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, hfe_json_get_str(r, "task"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, hfe_json_get_str(r, "metric"), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 7, v->valuedouble);
    if (cJSON_IsNumber(se))
        sqlite3_bind_double(st, 8, se->valuedouble);
    else
        sqlite3_bind_null(st, 8);
    sqlite3_bind_int64(
        st, 9,
        (sqlite3_int64)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "n")));
    sqlite3_bind_text(
        st, 10, hfe_json_get_str(cJSON_GetObjectItem(s, "file"), "sha256"), -1,
        SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, data, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 12, backend, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(
        st, 13, hfe_json_get_str(cJSON_GetObjectItem(m, "file"), "sha256"), -1,
        SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int hfe_history_add(const char *dbpath, const char *run_json,
                    struct hfe_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *text;
    size_t len;
    cJSON *run;
    const cJSON *r, *models, *suites;
    int rc = 0;

    if (hfe_read_file(run_json, &text, &len, err) != 0)
        return HFE_EXIT_IO;
    run = cJSON_Parse(text);
    if (!run) {
        free(text);
        hfe_err_set(err, "%s: not JSON", run_json);
        return HFE_EXIT_DATA;
    }
    {
        char *dir = hfe_xstrdup(dbpath), *slash = strrchr(dir, '/');

        if (slash) { /* results/ may not exist yet */
            *slash = '\0';
            mkdir(dir, 0777);
        }
        free(dir);
    }
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
        sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail(db, dbpath, err);
        goto out;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fail(db, dbpath, err);
        goto out;
    }
    sqlite3_bind_text(st, 1, hfe_json_get_str(run, "run_id"), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, hfe_json_get_str(run, "started"), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, hfe_json_get_str(run, "finished"), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(
        st, 4, hfe_json_get_str(cJSON_GetObjectItem(run, "hfeval"), "version"),
        -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, text, (int)len, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = fail(db, dbpath, err);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    sqlite3_prepare_v2(db, "DELETE FROM results WHERE run_id = ?", -1, &st,
                       NULL);
    sqlite3_bind_text(st, 1, hfe_json_get_str(run, "run_id"), -1,
                      SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO results VALUES"
                           " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fail(db, dbpath, err);
        goto out;
    }
    models = cJSON_GetObjectItem(run, "models");
    suites = cJSON_GetObjectItem(run, "suites");
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(run, "results"))
    {
        if (add_result(st, run, models, suites, r) != 0) {
            rc = fail(db, dbpath, err);
            goto out;
        }
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = fail(db, dbpath, err);
out:
    if (rc && db)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(st);
    sqlite3_close(db);
    cJSON_Delete(run);
    free(text);
    return rc;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t ? (const char *)t : "";
}

/* One row of a series: its comparability with the row before it. */
struct prev {
    char series[1024], suite[65], data[65], backend[256], model[65];
};

static void walk_row(sqlite3_stmt *st, struct prev *p,
                     struct hfe_history_row *row, char *why, size_t n_why)
{
    char series[1024];

    snprintf(series, sizeof(series), "%s\t%s\t%s\t%s", col(st, 2), col(st, 3),
             col(st, 4), col(st, 5));
    row->first = !p->series[0] || strcmp(series, p->series) != 0;
    snprintf(why, n_why, "%s%s%s%s",
             strcmp(col(st, 9), p->suite) ? "suite changed; " : "",
             strcmp(col(st, 10), p->data) ? "data changed; " : "",
             strcmp(col(st, 11), p->backend) ? "backend changed; " : "",
             strcmp(col(st, 12), p->model) ? "model file changed; " : "");
    if (row->first)
        why[0] = '\0';
    row->started = col(st, 0);
    row->run_id = col(st, 1);
    row->model = col(st, 2);
    row->suite = col(st, 3);
    row->task = col(st, 4);
    row->metric = col(st, 5);
    row->value = sqlite3_column_double(st, 6);
    row->stderr_ = sqlite3_column_type(st, 7) == SQLITE_NULL
                       ? NAN
                       : sqlite3_column_double(st, 7);
    row->n = sqlite3_column_double(st, 8);
    row->why = why;
    snprintf(p->series, sizeof(p->series), "%s", series);
    snprintf(p->suite, sizeof(p->suite), "%s", col(st, 9));
    snprintf(p->data, sizeof(p->data), "%s", col(st, 10));
    snprintf(p->backend, sizeof(p->backend), "%s", col(st, 11));
    snprintf(p->model, sizeof(p->model), "%s", col(st, 12));
}

int hfe_history_walk(const struct hfe_history_query *q,
                     void (*fn)(void *ud, const struct hfe_history_row *row),
                     void *ud, size_t *rows, struct hfe_err *err)
{
    const char *path = hfe_history_path(q->db);
    struct prev prev = {0};
    sqlite3_stmt *st = NULL;
    sqlite3 *db = NULL;

    *rows = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        hfe_err_set(err, "%s: no history here (%s)", path,
                    db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return HFE_EXIT_IO;
    }
    if (sqlite3_prepare_v2(
            db,
            "SELECT r.started, s.run_id, s.model, s.suite, s.task, s.metric,"
            " s.value, s.stderr, s.n, s.suite_sha, s.data_sha, s.backend,"
            " s.model_sha FROM results s JOIN runs r USING (run_id)"
            " WHERE (?1 IS NULL OR s.model = ?1)"
            " AND (?2 IS NULL OR s.lineage = ?2)"
            " AND (?3 IS NULL OR s.metric = ?3)"
            " ORDER BY s.model, s.suite, s.task, s.metric, r.started,"
            " s.run_id",
            -1, &st, NULL) != SQLITE_OK) {
        hfe_err_set(err, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return HFE_EXIT_IO;
    }
    sqlite3_bind_text(st, 1, q->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, q->lineage, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, q->metric, -1, SQLITE_STATIC);
    for (; sqlite3_step(st) == SQLITE_ROW; ++*rows) {
        struct hfe_history_row row;
        char why[160];

        walk_row(st, &prev, &row, why, sizeof(why));
        fn(ud, &row);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}

static void print_row(void *ud, const struct hfe_history_row *w)
{
    struct hfe_buf *out = ud;
    char task[512], se[32];

    snprintf(task, sizeof(task), "%s/%s", w->suite, w->task);
    if (isnan(w->stderr_))
        snprintf(se, sizeof(se), "-");
    else
        snprintf(se, sizeof(se), "%.4f", w->stderr_);
    hfe_buf_printf(out, "%-20s %-20s %-20s %-22s %-20s %10.4f %10s  %s\n",
                   w->started, w->model, task, w->metric, w->run_id, w->value,
                   se,
                   w->first    ? "first"
                   : w->why[0] ? w->why
                               : "yes");
}

int hfe_history_query(const struct hfe_history_query *q, struct hfe_buf *out,
                      size_t *rows, struct hfe_err *err)
{
    int rc;

    hfe_buf_printf(out, "%-20s %-20s %-20s %-22s %-20s %10s %10s  %s\n",
                   "STARTED", "MODEL", "TASK", "METRIC", "RUN", "VALUE",
                   "STDERR", "COMPARABLE");
    if ((rc = hfe_history_walk(q, print_row, out, rows, err)) != 0)
        return rc;
    if (!*rows) {
        hfe_err_set(err, "%s: no results match", hfe_history_path(q->db));
        return HFE_EXIT_FAIL;
    }
    return 0;
}
