/*
 * history.c - run records into SQLite, and series out of it.  See
 * history.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "history.h"
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

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *by_name(const cJSON *list, const char *name)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, list) if (str(e, "name") && name &&
                                    !strcmp(str(e, "name"), name)) return e;
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
        const char *s = str(d, "sha256");

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
    sqlite3_bind_text(st, 1, str(run, "run_id"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, str(run, "started"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, str(run, "finished"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, str(cJSON_GetObjectItem(run, "hfeval"), "version"),
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
    sqlite3_bind_text(st, 1, str(run, "run_id"), -1, SQLITE_TRANSIENT);
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
        const cJSON *m = by_name(models, str(r, "model")),
                    *s = by_name(suites, str(r, "suite")), *root = m;
        const cJSON *v = cJSON_GetObjectItem(r, "value"),
                    *se = cJSON_GetObjectItem(r, "stderr");
        char data[65], backend[256];
        int hops = 0;

        if (!str(r, "metric") || !cJSON_IsNumber(v))
            continue;
        while (root && hops++ < 64) { /* up to its lineage's root */
            const cJSON *up = by_name(models, str(root, "base"));

            if (!up)
                break;
            root = up;
        }
        data_digest(s, data);
        snprintf(backend, sizeof(backend), "%s %s",
                 str(cJSON_GetObjectItem(m, "backend"), "name")
                     ? str(cJSON_GetObjectItem(m, "backend"), "name")
                     : "?",
                 str(cJSON_GetObjectItem(m, "backend"), "version")
                     ? str(cJSON_GetObjectItem(m, "backend"), "version")
                     : "?");
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, str(run, "run_id"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, str(r, "model"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, root ? str(root, "name") : NULL, -1,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, str(r, "suite"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, str(r, "task"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, str(r, "metric"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 7, v->valuedouble);
        if (cJSON_IsNumber(se))
            sqlite3_bind_double(st, 8, se->valuedouble);
        else
            sqlite3_bind_null(st, 8);
        sqlite3_bind_int64(
            st, 9,
            (sqlite3_int64)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "n")));
        sqlite3_bind_text(st, 10, str(cJSON_GetObjectItem(s, "file"), "sha256"),
                          -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 11, data, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 12, backend, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 13, str(cJSON_GetObjectItem(m, "file"), "sha256"),
                          -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
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

int hfe_history_main(int argc, char **argv)
{
    const char *dbarg = NULL, *model = NULL, *lineage = NULL, *metric = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char prev_series[1024] = "", prev_suite[65] = "", prev_data[65] = "",
         prev_backend[256] = "", prev_model[65] = "";
    struct hfe_buf out = {0};
    int i, rows = 0;
    const char *path;

    for (i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--db")        ? &dbarg
                            : !strcmp(argv[i], "--model")   ? &model
                            : !strcmp(argv[i], "--lineage") ? &lineage
                            : !strcmp(argv[i], "--metric")  ? &metric
                                                            : NULL;

        if (!slot || i + 1 == argc) {
            fprintf(stderr,
                    "hfeval history: unknown option or missing value: '%s'\n"
                    "usage: hfeval history [--db PATH] [--model NAME] "
                    "[--lineage NAME] [--metric METRIC]\n",
                    argv[i]);
            return HFE_EXIT_USAGE;
        }
        *slot = argv[++i];
    }
    path = hfe_history_path(dbarg);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "hfeval: %s: no history here (%s)\n", path,
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
        fprintf(stderr, "hfeval: %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return HFE_EXIT_IO;
    }
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, lineage, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    hfe_buf_printf(&out, "%-20s %-20s %-20s %-22s %-20s %10s %10s  %s\n",
                   "STARTED", "MODEL", "TASK", "METRIC", "RUN", "VALUE",
                   "STDERR", "COMPARABLE");
    while (sqlite3_step(st) == SQLITE_ROW) {
        char series[1024], task[512], why[160] = "", se[32];

        snprintf(series, sizeof(series), "%s\t%s\t%s\t%s", col(st, 2),
                 col(st, 3), col(st, 4), col(st, 5));
        if (!strcmp(series, prev_series)) { /* the same series: compare */
            snprintf(
                why, sizeof(why), "%s%s%s%s",
                strcmp(col(st, 9), prev_suite) ? "suite changed; " : "",
                strcmp(col(st, 10), prev_data) ? "data changed; " : "",
                strcmp(col(st, 11), prev_backend) ? "backend changed; " : "",
                strcmp(col(st, 12), prev_model) ? "model file changed; " : "");
        }
        snprintf(task, sizeof(task), "%s/%s", col(st, 3), col(st, 4));
        if (sqlite3_column_type(st, 7) == SQLITE_NULL)
            snprintf(se, sizeof(se), "-");
        else
            snprintf(se, sizeof(se), "%.4f", sqlite3_column_double(st, 7));
        hfe_buf_printf(&out, "%-20s %-20s %-20s %-22s %-20s %10.4f %10s  %s\n",
                       col(st, 0), col(st, 2), task, col(st, 5), col(st, 1),
                       sqlite3_column_double(st, 6), se,
                       !prev_series[0] || strcmp(series, prev_series) ? "first"
                       : why[0]                                       ? why
                                                                      : "yes");
        snprintf(prev_series, sizeof(prev_series), "%s", series);
        snprintf(prev_suite, sizeof(prev_suite), "%s", col(st, 9));
        snprintf(prev_data, sizeof(prev_data), "%s", col(st, 10));
        snprintf(prev_backend, sizeof(prev_backend), "%s", col(st, 11));
        snprintf(prev_model, sizeof(prev_model), "%s", col(st, 12));
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rows)
        fputs(out.s, stdout);
    else
        fprintf(stderr, "hfeval: %s: no results match\n", path);
    hfe_buf_free(&out);
    return rows ? 0 : HFE_EXIT_FAIL;
}
