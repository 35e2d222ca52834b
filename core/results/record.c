/*
 * record.c - the run record: run.json written and read, samples.jsonl
 * read.  See record.h; results/README.md is the format's documentation.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "compliance.h"
#include "json.h"
#include "json_get.h"
#include "models.h"
#include "record.h"
#include "score.h"
#include "sha256.h"
#include "suite.h"

/* ---- the facts of a run ------------------------------------------------- */

static void iso_time(char *out, size_t n, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A result row's start, after the rows before it. */
static void result_head(struct hfe_buf *b, const char *model, const char *suite,
                        const char *task)
{
    hfe_buf_puts(b, b->len > 1 ? ",\n{\"model\":" : "\n{\"model\":");
    hfe_json_strz(b, model);
    hfe_buf_puts(b, ",\"suite\":");
    hfe_json_strz(b, suite);
    hfe_buf_puts(b, ",\"task\":");
    hfe_json_strz(b, task);
}

/* The GPUs the machine shows, as JSON strings: NVIDIA's driver names
 * its models in /proc; AMD's show in sysfs by vendor id. */
static void gpus(struct hfe_buf *b)
{
    DIR *d = opendir("/proc/driver/nvidia/gpus");
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d))) {
        char path[512], line[256];
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/driver/nvidia/gpus/%s/information",
                 e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        while (fgets(line, sizeof(line), f))
            if (!strncmp(line, "Model:", 6)) {
                char *v = line + 6;

                v += strspn(v, " \t");
                v[strcspn(v, "\n")] = '\0';
                hfe_buf_puts(b, n++ ? "," : "");
                hfe_json_strz(b, v);
                break;
            }
        fclose(f);
    }
    if (d)
        closedir(d);
    if ((d = opendir("/sys/class/drm"))) {
        while ((e = readdir(d))) {
            char path[512], v[32] = "";
            FILE *f;

            if (strncmp(e->d_name, "card", 4) || strchr(e->d_name, '-'))
                continue;
            snprintf(path, sizeof(path), "/sys/class/drm/%s/device/vendor",
                     e->d_name);
            if ((f = fopen(path, "r"))) {
                if (!fgets(v, sizeof(v), f))
                    v[0] = '\0';
                fclose(f);
            }
            if (!strncmp(v, "0x1002", 6)) {
                hfe_buf_puts(b, n++ ? "," : "");
                hfe_json_strz(b, "AMD GPU");
            }
        }
        closedir(d);
    }
}

/* The machine a number was measured on. */
static void machine(struct hfe_buf *b)
{
    char line[512], cpu[256] = "";
    struct utsname u;
    FILE *f = fopen("/proc/cpuinfo", "r");

    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    uname(&u);
    hfe_buf_puts(b, "{\"cpu\":");
    hfe_json_strz(b, cpu[0] ? cpu : NULL);
    hfe_buf_printf(b, ",\"cores\":%ld,\"os\":", sysconf(_SC_NPROCESSORS_ONLN));
    snprintf(line, sizeof(line), "%s %s %s", u.sysname, u.release, u.machine);
    hfe_json_strz(b, line);
    hfe_buf_puts(b, ",\"gpus\":[");
    gpus(b);
    hfe_buf_puts(b, "]}");
}

/* A file's size and digest (known: the caller has it), or null. */
static void file_facts(struct hfe_buf *b, const char *path, const char *known)
{
    struct stat st;
    char hex[65];

    if (known)
        snprintf(hex, sizeof(hex), "%s", known);
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        (!known && hfe_sha256_file(path, hex) != 0)) {
        hfe_buf_puts(b, "null");
        return;
    }
    hfe_buf_printf(b, "{\"path\":");
    hfe_json_strz(b, path);
    hfe_buf_printf(b, ",\"bytes\":%lld,\"sha256\":\"%s\"}",
                   (long long)st.st_size, hex);
}

/* ,"server":{...}: what a served model's backend learnt of its server
 * (its info keys "server.*"); nothing for a model read from a file. */
static void server_facts(struct hfe_buf *b, const struct hfe_model_info *in)
{
    size_t i, n = 0;

    for (i = 0; in->kv && i < in->n_kv; i++) {
        if (strncmp(in->kv[i].key, "server.", 7) != 0 || !in->kv[i].value)
            continue;
        hfe_buf_puts(b, n++ ? "," : ",\"server\":{");
        hfe_json_strz(b, in->kv[i].key + 7);
        hfe_buf_printf(b, ":%s", in->kv[i].value);
    }
    if (n)
        hfe_buf_puts(b, "}");
}

/* ,"stats":{...}: what the backend counted over the model's run (ABI
 * minor 1), such as how an http backend scored log-likelihoods and what
 * it cost. */
static void backend_stats(struct hfe_buf *b, const struct hfe_backend *be,
                          struct hfe_model *m)
{
    struct hfe_measure ms;
    size_t i;

    if (!be->measure)
        return;
    memset(&ms, 0, sizeof(ms));
    HFE_INIT(&ms);
    if (be->measure(m, &ms) != HFE_OK || !ms.n_stats || !ms.stats)
        return;
    hfe_buf_puts(b, ",\"stats\":{");
    for (i = 0; i < ms.n_stats; i++) {
        hfe_buf_puts(b, i ? "," : "");
        hfe_json_strz(b, ms.stats[i].key);
        hfe_buf_printf(b, ":%s", ms.stats[i].value);
    }
    hfe_buf_puts(b, "}");
}

/* The Hub benchmark a task is, and its shots, where the suite says. */
static void hub_facts(struct hfe_buf *b, const struct hfe_task *t)
{
    const char *v[] = {t->hub.dataset, t->hub.task_id,  t->hub.config,
                       t->hub.split,   t->hub.revision, t->hub.metric,
                       t->hub.name};
    static const char *const k[] = {"dataset",  "task_id", "config", "split",
                                    "revision", "metric",  "name"};
    size_t i;

    if (t->shots >= 0)
        hfe_buf_printf(b, ",\"shots\":%d", t->shots);
    if (!t->hub.dataset)
        return;
    hfe_buf_puts(b, ",\"hub\":{");
    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (v[i]) {
            hfe_buf_printf(b, "%s\"%s\":", i ? "," : "", k[i]);
            hfe_json_strz(b, v[i]);
        }
    hfe_buf_puts(b, "}");
}

/* ,"groups":[{"name","tasks":[...],"metrics":[{"metric",
 * "weight_by_size"}]}] (suite.h). */
static void group_facts(struct hfe_buf *b, const struct hfe_suite *s)
{
    size_t g, k;

    hfe_buf_puts(b, ",\"groups\":[");
    for (g = 0; g < s->n_groups; g++) {
        const struct hfe_group *gr = &s->groups[g];

        hfe_buf_puts(b, g ? ",{\"name\":" : "{\"name\":");
        hfe_json_strz(b, gr->name);
        hfe_buf_puts(b, ",\"tasks\":[");
        for (k = 0; k < gr->n_members; k++) {
            hfe_buf_puts(b, k ? "," : "");
            hfe_json_strz(b, gr->members[k]);
        }
        hfe_buf_puts(b, "],\"metrics\":[");
        for (k = 0; k < gr->n_metrics; k++) {
            hfe_buf_puts(b, k ? ",{\"metric\":" : "{\"metric\":");
            hfe_json_strz(b, gr->metric[k]);
            hfe_buf_printf(b, ",\"weight_by_size\":%s}",
                           gr->weight_by_size[k] ? "true" : "false");
        }
        hfe_buf_puts(b, "]}");
    }
    hfe_buf_puts(b, "]");
}

/* A suite of the run: its file and data with their digests, and what
 * each task was. */
static void suite_facts(struct hfe_buf *b, const struct hfe_suite *s, size_t i)
{
    const char *const *reads;
    size_t n = hfe_lua_reads(s->rt, &reads), k;

    hfe_buf_puts(b, i ? ",\n{\"name\":" : "\n{\"name\":");
    hfe_json_strz(b, s->name);
    hfe_buf_puts(b, ",\"version\":");
    hfe_json_strz(b, s->version);
    hfe_buf_puts(b, ",\"file\":");
    file_facts(b, s->path, NULL);
    hfe_buf_puts(b, ",\"data\":[");
    for (k = 0; k < n; k++) {
        hfe_buf_puts(b, k ? "," : "");
        file_facts(b, reads[k], NULL);
    }
    hfe_buf_printf(b, "],\"bad_lines_skipped\":%zu,\"tasks\":[",
                   hfe_lua_bad_lines(s->rt));
    for (k = 0; k < s->n_tasks; k++) {
        hfe_buf_puts(b, k ? "," : "");
        hfe_buf_puts(b, "{\"name\":");
        hfe_json_strz(b, s->tasks[k].name);
        hfe_buf_puts(b, ",\"kind\":");
        hfe_json_strz(b, hfe_task_kinds[s->tasks[k].kind]);
        if (s->tasks[k].timing)
            hfe_buf_puts(b, ",\"timing\":true");
        if (s->tasks[k].fidelity)
            hfe_buf_puts(b, ",\"fidelity\":true");
        if (s->tasks[k].primary) {
            hfe_buf_puts(b, ",\"primary\":");
            hfe_json_strz(b, s->tasks[k].primary);
        }
        hub_facts(b, &s->tasks[k]);
        hfe_buf_printf(b, ",\"documents\":%zu,\"samples\":%u,\"seed\":%llu}",
                       s->tasks[k].n, s->tasks[k].samples,
                       (unsigned long long)s->tasks[k].seed);
    }
    hfe_buf_puts(b, "]");
    if (s->n_groups)
        group_facts(b, s);
    hfe_buf_puts(b, "}");
}

/* ---- the models and results of a run ------------------------------------ */

void hfe_record_out_init(struct hfe_record_out *w)
{
    memset(w, 0, sizeof(*w));
    hfe_buf_add(&w->models, "[", 1);
    hfe_buf_add(&w->results, "[", 1);
}

void hfe_record_out_free(struct hfe_record_out *w)
{
    hfe_buf_free(&w->models);
    hfe_buf_free(&w->results);
}

void hfe_record_model_begin(struct hfe_record_out *w,
                            const struct hfe_model_ent *e, const char *base,
                            const struct hfe_backend *be, const char *sha256)
{
    struct hfe_buf *b = &w->models;
    char *shown = hfe_uri_shown(e->uri);
    size_t k;

    hfe_buf_puts(b, b->len > 1 ? ",\n" : "\n");
    hfe_buf_puts(b, "{\"name\":");
    hfe_json_strz(b, e->name);
    hfe_buf_puts(b, ",\"uri\":");
    hfe_json_strz(b, shown);
    free(shown);
    hfe_buf_puts(b, ",\"base\":");
    hfe_json_strz(b, base);
    hfe_buf_puts(b, ",\"backend\":{\"name\":");
    hfe_json_strz(b, be->name);
    hfe_buf_puts(b, ",\"version\":");
    hfe_json_strz(b, be->version);
    hfe_buf_puts(b, "},\"options\":{");
    for (k = 0; k < e->n_opt; k++) {
        hfe_buf_puts(b, k ? "," : "");
        hfe_json_strz(b, e->opt[k].key);
        hfe_buf_puts(b, ":");
        hfe_json_strz(b, e->opt[k].value);
    }
    hfe_buf_puts(b, "},\"file\":");
    /* a replay model's file is its recorded answers */
    file_facts(
        b, strncmp(e->resolved, "replay:", 7) ? e->resolved : e->resolved + 7,
        sha256);
}

void hfe_record_model_error(struct hfe_record_out *w, const char *msg)
{
    hfe_buf_puts(&w->models, ",\"error\":");
    hfe_json_strz(&w->models, msg);
}

void hfe_record_model_compliance(struct hfe_record_out *w,
                                 const struct hfe_cc_model *m,
                                 const struct hfe_cc_report *r, const char *why)
{
    struct hfe_buf *b = &w->models;
    const cJSON *lic =
        m ? cJSON_GetObjectItem(m->meta, "general.license") : NULL;
    size_t i, n = 0;

    hfe_buf_puts(b, ",\"compliance\":{");
    if (!r) {
        hfe_buf_puts(b, "\"error\":");
        hfe_json_strz(b, why);
        hfe_buf_puts(b, "}");
        return;
    }
    hfe_buf_puts(b, "\"class\":");
    hfe_json_strz(b, hfe_cc_class_names[r->class_]);
    hfe_buf_puts(b, ",\"license\":");
    if (cJSON_IsString(lic))
        hfe_json_strz(b, lic->valuestring);
    else
        hfe_buf_puts(b, "null");
    hfe_buf_puts(b, ",\"failed\":[");
    for (i = 0; i < r->n; i++)
        if (r->v[i].result == HFE_CC_FAIL) {
            hfe_buf_puts(b, n++ ? "," : "");
            hfe_json_strz(b, r->v[i].id);
        }
    hfe_buf_puts(b, "]}");
}

void hfe_record_model_info(struct hfe_record_out *w,
                           const struct hfe_model_info *info)
{
    struct hfe_buf *b = &w->models;

    hfe_buf_puts(b, ",\"info\":{\"name\":");
    hfe_json_strz(b, info->name);
    hfe_buf_puts(b, ",\"architecture\":");
    hfe_json_strz(b, info->architecture);
    hfe_buf_puts(b, ",\"quantization\":");
    hfe_json_strz(b, info->quantization);
    hfe_buf_printf(b,
                   ",\"n_params\":%llu,\"n_ctx_train\":%u,\"n_ctx\":%u,"
                   "\"n_vocab\":%u}",
                   (unsigned long long)info->n_params, info->n_ctx_train,
                   info->n_ctx, info->n_vocab);
    server_facts(b, info);
}

void hfe_record_model_stats(struct hfe_record_out *w,
                            const struct hfe_backend *be, struct hfe_model *m)
{
    backend_stats(&w->models, be, m);
}

void hfe_record_model_json(struct hfe_record_out *w, const char *json)
{
    hfe_buf_puts(&w->models, json);
}

void hfe_record_model_end(struct hfe_record_out *w)
{
    hfe_buf_puts(&w->models, "}");
}

void hfe_record_result(struct hfe_record_out *w, const char *model,
                       const char *suite, const char *task,
                       const struct hfe_stat *s)
{
    struct hfe_buf *b = &w->results;

    result_head(b, model, suite, task);
    hfe_buf_puts(b, ",\"metric\":");
    hfe_json_strz(b, s->name);
    hfe_buf_puts(b, ",\"value\":");
    hfe_json_num(b, hfe_stat_mean(s));
    hfe_buf_puts(b, ",\"stderr\":");
    if (s->corpus)
        hfe_buf_puts(b, "null");
    else
        hfe_json_num(b, hfe_stat_stderr(s));
    hfe_buf_printf(b, ",\"n\":%zu}", s->n);
}

void hfe_record_result_error(struct hfe_record_out *w, const char *model,
                             const char *suite, const char *task,
                             const char *msg)
{
    result_head(&w->results, model, suite, task);
    hfe_buf_puts(&w->results, ",\"error\":");
    hfe_json_strz(&w->results, msg);
    hfe_buf_puts(&w->results, "}");
}

/* ---- run.json ----------------------------------------------------------- */

void hfe_record_items(struct hfe_buf *out, const struct hfe_suite *su,
                      size_t n_suites)
{
    size_t i, k, d, c;

    hfe_buf_add(out, "", 0);
    for (i = 0; i < n_suites; i++)
        for (k = 0; k < su[i].n_tasks; k++) {
            const struct hfe_task *t = &su[i].tasks[k];

            if (t->kind != HFE_TASK_CHOICE && t->kind != HFE_TASK_GENERATE &&
                t->kind != HFE_TASK_LOGLIK)
                continue;
            for (d = 0; d < t->n; d++) {
                const struct hfe_item *it = &t->items[d];

                if (!it->prompt)
                    continue;
                hfe_buf_puts(out, "{\"suite\":");
                hfe_json_strz(out, su[i].name);
                hfe_buf_puts(out, ",\"task\":");
                hfe_json_strz(out, t->name);
                hfe_buf_printf(
                    out, ",\"doc_id\":%lld,\"prompt\":", (long long)it->doc_id);
                hfe_json_strz(out, it->prompt);
                if (t->kind == HFE_TASK_CHOICE) {
                    hfe_buf_puts(out, ",\"choices\":[");
                    for (c = 0; c < it->n_choices; c++) {
                        hfe_buf_puts(out, c ? "," : "");
                        hfe_json_strz(out, it->choices[c]);
                    }
                    hfe_buf_puts(out, "]");
                }
                if (t->kind == HFE_TASK_CHOICE && it->contexts) {
                    hfe_buf_puts(out, ",\"contexts\":[");
                    for (c = 0; c < it->n_choices; c++) {
                        hfe_buf_puts(out, c ? "," : "");
                        hfe_json_strz(out, it->contexts[c]);
                    }
                    hfe_buf_puts(out, "]");
                }
                if (t->kind == HFE_TASK_LOGLIK) {
                    hfe_buf_puts(out, ",\"continuation\":");
                    hfe_json_strz(out, it->target);
                }
                hfe_buf_puts(out, "}\n");
            }
        }
}

int hfe_record_write(const char *dir, const struct hfe_record_run *run,
                     const struct hfe_record_out *w, struct hfe_err *err)
{
    const struct hfe_suite *su = run->suites;
    const struct hfe_lua_opts *lo = run->lo;
    struct hfe_buf b = {0};
    char t0[32], t1[32], *path = hfe_xasprintf("%s/run.json", dir);
    const char *id = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    size_t i;
    int rc = 0;

    iso_time(t0, sizeof(t0), run->started);
    iso_time(t1, sizeof(t1), time(NULL));
    hfe_buf_printf(&b,
                   "{\"schema\":\"" HFE_RECORD_SCHEMA "\",\"hfeval\":{"
                   "\"version\":\"%s\",\"plugin_abi\":\"%d.%d\"},"
                   "\"run_id\":",
                   HFEVAL_VERSION, HFE_ABI_MAJOR, HFE_ABI_MINOR);
    hfe_json_strz(&b, id);
    hfe_buf_printf(&b, ",\"started\":\"%s\",\"finished\":\"%s\",\"command\":[",
                   t0, t1);
    hfe_json_strz(&b, "hfeval");
    for (i = 0; i < (size_t)run->argc; i++) {
        hfe_buf_puts(&b, ",");
        hfe_json_strz(&b, run->argv[i]);
    }
    hfe_buf_puts(&b, "],\"machine\":");
    machine(&b);
    if (run->sel->shards > 1)
        hfe_buf_printf(&b, ",\"shard\":{\"k\":%u,\"n\":%u}",
                       run->sel->shard + 1, run->sel->shards);
    else
        hfe_buf_puts(&b, ",\"shard\":null");
    hfe_buf_puts(&b, ",\"set\":{");
    for (i = 0; i < lo->n_set; i++) {
        hfe_buf_puts(&b, i ? "," : "");
        hfe_json_strz(&b, lo->set_keys[i]);
        hfe_buf_puts(&b, ":");
        hfe_json_strz(&b, lo->set_values[i]);
    }
    hfe_buf_puts(&b, "},\"suites\":[");
    for (i = 0; i < run->n_suites; i++)
        suite_facts(&b, &su[i], i);
    hfe_buf_puts(&b, "],\n\"models\":");
    hfe_buf_add(&b, w->models.s, w->models.len);
    hfe_buf_puts(&b, "\n],\n\"results\":");
    hfe_buf_add(&b, w->results.s, w->results.len);
    hfe_buf_puts(&b, "\n],\n\"samples\":\"samples.jsonl\","
                     "\"items\":\"items.jsonl\"}\n");
    if (hfe_write_file(path, b.s, b.len) != 0) {
        hfe_err_set(err, "%s: cannot write the run record: %s", path,
                    strerror(errno));
        rc = HFE_EXIT_IO;
    }
    free(path);
    hfe_buf_free(&b);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

int hfe_record_load(const char *run, struct hfe_record *rec,
                    struct hfe_err *err)
{
    size_t n = strlen(run), len;
    const char *schema;
    char *text;

    memset(rec, 0, sizeof(*rec));
    rec->dir = n > 9 && !strcmp(run + n - 9, "/run.json")
                   ? hfe_xstrndup(run, n - 9)
                   : hfe_xstrdup(run);
    rec->path = hfe_xasprintf("%s/run.json", rec->dir);
    if (hfe_read_file(rec->path, &text, &len, err) != 0) {
        hfe_record_free(rec);
        return HFE_EXIT_IO;
    }
    rec->json = cJSON_Parse(text);
    free(text);
    schema = hfe_json_get_str(rec->json, "schema");
    if (!schema || strcmp(schema, HFE_RECORD_SCHEMA)) {
        hfe_err_set(err, "%s: expected a run record (schema %s)", rec->path,
                    HFE_RECORD_SCHEMA);
        hfe_record_free(rec);
        return HFE_EXIT_DATA;
    }
    return 0;
}

void hfe_record_free(struct hfe_record *rec)
{
    cJSON_Delete(rec->json);
    free(rec->dir);
    free(rec->path);
    memset(rec, 0, sizeof(*rec));
}

int hfe_record_samples(const struct hfe_record *rec,
                       void (*fn)(void *ud, cJSON *sample), void *ud,
                       struct hfe_err *err)
{
    char *path = hfe_xasprintf("%s/samples.jsonl", rec->dir), *text, *line,
         *next;
    size_t len;
    cJSON *r;

    if (hfe_read_file(path, &text, &len, err) != 0) {
        free(path);
        return HFE_EXIT_IO;
    }
    free(path);
    for (line = text; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (*line && (r = cJSON_Parse(line)))
            fn(ud, r);
    }
    free(text);
    return 0;
}
