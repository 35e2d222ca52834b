/*
 * run.c - `hfeval run`: loads suites, turns their documents into requests,
 * runs them through each model's backend, scores and prints.  See run.h.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "history.h"
#include "models.h"
#include "plugin.h"
#include "report.h"
#include "journal.h"
#include "run.h"
#include "worker.h"
#include "score.h"
#include "sha256.h"

/* done/total, rate and time left, on a terminal only. */
struct progress {
    const char *label; /* NULL: no progress line (not a terminal) */
    size_t done, total;
    double t0, last;
    /* the journal: each answer as it comes */
    struct hfe_job *job;
    const size_t *index;      /* batch position -> request index */
    const char (*digest)[33]; /* by request index               */
    const struct hfe_result *res;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_done(void *ud, size_t i)
{
    struct progress *p = ud;
    double t = now_s(), rate;

    if (p->job && p->job->jr) {
        size_t r = p->index[i];

        hfe_journal_add(p->job->jr, p->job->model, p->job->s->name,
                        p->job->t->name, r, p->digest[r], &p->res[r]);
        if (hfe_journal_broken(p->job->jr))
            hfe_plug_cancel = 1; /* nothing more could be kept: stop */
    }
    p->done++;
    if (!p->label)
        return;
    if (t - p->last < 0.25 && p->done < p->total)
        return;
    p->last = t;
    rate = p->done / (t - p->t0 > 1e-9 ? t - p->t0 : 1e-9);
    fprintf(stderr, "\r\033[K%s: %zu/%zu requests, %.1f/s, %.0f s left",
            p->label, p->done, p->total, rate,
            rate > 0 ? (p->total - p->done) / rate : 0.0);
}

static void free_results(struct hfe_result *res, size_t n)
{
    size_t r;

    for (r = 0; r < n; r++) {
        free(res[r].error);
        free(res[r].text);
        free(res[r].token_logprobs);
        free(res[r].topk_ids);
        free(res[r].topk_logprobs);
        memset(&res[r], 0, sizeof(res[r]));
        HFE_INIT(&res[r]);
    }
}

/* Submits n requests as one batch, or one at a time for a timing task
 * (after one warm-up run of the first, not counted).  Requests whose
 * answer the journal holds (a resumed run) are not asked again; every new
 * answer goes into it. */
static int submit(struct hfe_job *j, struct hfe_request *req,
                  struct hfe_result *res, size_t n)
{
    const struct hfe_request **rp = hfe_xcalloc(n + 1, sizeof(*rp));
    struct hfe_result **sp = hfe_xcalloc(n + 1, sizeof(*sp));
    size_t *index = hfe_xcalloc(n + 1, sizeof(*index));
    char(*digest)[33] = hfe_xcalloc(n + 1, sizeof(*digest));
    struct progress prog = {0};
    struct hfe_batch b;
    size_t r, m = 0, step;
    int rc = HFE_OK;

    for (r = 0; r < n; r++) {
        hfe_journal_digest(&req[r], digest[r]);
        if (hfe_journal_get(j->jr, j->model, j->s->name, j->t->name, r,
                            digest[r], &res[r]))
            continue;
        rp[m] = &req[r];
        sp[m] = &res[r];
        index[m++] = r;
    }
    step = j->t->timing ? 1 : m;
    memset(&b, 0, sizeof(b));
    HFE_INIT(&b);
    prog = (struct progress){
        NULL, 0, m, now_s(), 0, j, index, (const char(*)[33])digest, res};
    if (isatty(2))
        prog.label = hfe_xasprintf("%s %s", j->model, j->t->name);
    b.done = on_done;
    b.ud = &prog;
    if (j->t->timing && m) { /* the warm-up: not journaled */
        b.n = 1;
        b.req = rp;
        b.res = sp;
        b.done = NULL;
        rc = j->be->submit(j->m, &b);
        free_results(sp[0], 1);
        b.done = on_done;
    }
    for (r = 0; r < m && rc == HFE_OK; r += step) {
        b.n = step;
        b.req = rp + r;
        b.res = sp + r;
        prog.index = index + r;
        rc = j->be->submit(j->m, &b);
    }
    if (hfe_journal_flush(j->jr) != 0)
        hfe_plug_cancel = 1;
    if (prog.label) {
        fprintf(stderr, "\r\033[K");
        free((char *)prog.label);
    }
    free(rp);
    free(sp);
    free(index);
    free(digest);
    return rc;
}

/* Runs one task on one model: its requests, its scores, its records. */
static int run_task(struct hfe_job *j)
{
    const struct hfe_task *t = j->t;
    size_t nreq = 0, i, k, r = 0;
    struct hfe_request *req;
    struct hfe_result *res;
    int rc = 0;

    for (i = 0; i < t->n; i++)
        nreq += t->kind == HFE_TASK_CHOICE     ? t->items[i].n_choices
                : t->kind == HFE_TASK_GENERATE ? t->samples
                                               : 1;
    req = hfe_xcalloc(nreq + 1, sizeof(*req));
    res = hfe_xcalloc(nreq + 1, sizeof(*res));
    for (i = 0; i < t->n; i++) {
        const struct hfe_item *it = &t->items[i];
        size_t nc = t->kind == HFE_TASK_CHOICE     ? it->n_choices
                    : t->kind == HFE_TASK_GENERATE ? t->samples
                                                   : 1;

        for (k = 0; k < nc; k++, r++) {
            struct hfe_request *q = &req[r];

            HFE_INIT(q);
            HFE_INIT(&res[r]);
            q->task = t->name;
            q->doc_id = it->doc_id;
            q->item_id = it->item_id;
            q->context = it->prompt;
            if (t->kind == HFE_TASK_CHOICE) {
                q->kind = HFE_REQ_LOGLIK;
                q->continuation = it->choices[k];
                q->choice = (uint32_t)k;
                q->flags = t->choice_prefix ? HFE_REQF_CHOICE_PREFIX : 0;
            } else if (t->kind == HFE_TASK_GENERATE) {
                q->kind = HFE_REQ_GENERATE;
                q->flags = t->chat ? HFE_REQF_CHAT : 0;
                q->stop = (const char *const *)t->until;
                q->n_stop = (uint32_t)t->n_until;
                q->max_tokens = t->max_tokens;
                q->temperature = (float)t->temperature;
                q->top_p = (float)t->top_p;
                q->sample = (uint32_t)k;
                /* each sample its own stream, the same on every run */
                q->seed = t->seed + (uint64_t)it->doc_id * 1000003u + k;
            } else {
                q->kind = HFE_REQ_ROLLING;
                q->flags = t->ppl_ctx ? HFE_REQF_PPL_WINDOWS : 0;
                q->n_ctx = t->ppl_ctx;
                if (j->keep || j->base)
                    q->top_k = j->n_vocab;
            }
        }
    }
    if (t->kind == HFE_TASK_COMPLIANCE) { /* metadata: no requests */
        rc = hfe_score(j, res);
        goto out;
    }
    if (submit(j, req, res, nreq) != HFE_OK) {
        const char *why = NULL;

        for (r = 0; r < nreq && !why; r++)
            why = res[r].status != HFE_OK ? res[r].error : NULL;
        hfe_err_set(j->err, "task '%s': %s", t->name,
                    why ? why : "the backend failed the batch");
        rc = HFE_EXIT_FAIL;
        goto out;
    }
    for (r = 0; r < nreq; r++)
        if (res[r].status != HFE_OK) {
            hfe_err_set(j->err, "task '%s', document %lld: %s", t->name,
                        (long long)req[r].doc_id,
                        res[r].error ? res[r].error : "failed");
            rc = HFE_EXIT_FAIL;
            goto out;
        }
    rc = hfe_score(j, res);
    if (rc == 0 && t->timing && j->be->measure) {
        struct hfe_measure ms = {0};

        HFE_INIT(&ms);
        if (j->be->measure(j->m, &ms) == HFE_OK)
            for (k = 0; k < ms.n_mem; k++) {
                /* totals by kind; a device's share as KIND@DEVICE */
                static const char *const kinds[][2] = {
                    {"weights", "weights_mib"},
                    {"kv", "kv_mib"},
                    {"rss-peak", "peak_rss_mib"},
                    {"compute", "compute_mib"},
                    {"device-peak", "device_peak_mib"}};
                const size_t nk = sizeof(kinds) / sizeof(kinds[0]);
                const char *dev = ms.mem[k].device;
                struct hfe_stat *s;
                size_t x;

                for (x = 0; x < nk && strcmp(ms.mem[k].kind, kinds[x][0]); x++)
                    ;
                if (x == nk)
                    continue;
                if (!dev || !strcmp(dev, "total") || !strcmp(dev, "host"))
                    s = hfe_stat_new(&j->st, 1, "%s", kinds[x][1]);
                else
                    s = hfe_stat_new(&j->st, 1, "%s@%s", kinds[x][1], dev);
                s->sum = ms.mem[k].bytes / 1048576.0;
                s->n = 1;
            }
    }
out:
    free_results(res, nreq);
    free(req);
    free(res);
    return rc;
}

/* ---- the command --------------------------------------------------------- */

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "hfeval run: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr,
            "\nusage: hfeval run SUITE.lua [SUITE.lua ...] --models LIST "
            "[--set key=value ...] [--limit N] [--shard K/N] [--out DIR] "
            "[--db PATH]\n");
    return HFE_EXIT_USAGE;
}

static int mkdirs(const char *path)
{
    char *p = hfe_xstrdup(path), *q;
    int rc = 0;

    for (q = p + 1; *q && !rc; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = -1;
        *q = '/';
    }
    if (!rc && mkdir(p, 0777) != 0 && errno != EEXIST)
        rc = -1;
    free(p);
    return rc;
}

/* Each model's metadata and built-in compliance report. */
struct cc_entry {
    struct hfe_cc_model m;
    struct hfe_cc_report r;
    int ok;
    char why[sizeof(((struct hfe_err *)0)->msg)];
};

/* Compliance of every model, parents first (a child's class is capped by
 * its parent's).  A model whose metadata cannot be read says why; a bug in
 * the checks ends the run with HFE_EXIT_INTERNAL. */
static struct cc_entry *compliance_all(const struct hfe_model_list *l,
                                       const size_t *order)
{
    struct cc_entry *cc = hfe_xcalloc(l->n + 1, sizeof(*cc));
    size_t o;

    for (o = 0; o < l->n; o++) {
        size_t j = order[o];
        const struct hfe_model_ent *e = &l->v[j];
        char *card = hfe_models_path(l, hfe_models_opt(e, "card")),
             *hub = hfe_models_path(l, hfe_models_opt(e, "hub"));
        const char *dot = strrchr(e->resolved, '.');
        struct hfe_err err;
        long b = e->base;

        if (hfe_cc_model_load(&cc[j].m, e->name,
                              dot && !strcmp(dot, ".gguf") ? e->resolved : NULL,
                              card, hub, &err) != 0) {
            snprintf(cc[j].why, sizeof(cc[j].why), "%s", err.msg);
        } else if (b >= 0 && !cc[b].ok) { /* not a root: no verdict */
            snprintf(cc[j].why, sizeof(cc[j].why),
                     "its base '%s' could not be read, so its lineage cannot "
                     "be checked",
                     l->v[b].name);
        } else {
            cc[j].ok = 1;
            if (hfe_cc_run(&cc[j].m, b >= 0 ? &cc[b].m : NULL,
                           b >= 0 ? &cc[b].r : NULL, &cc[j].r, &err) != 0) {
                /* a bug: the core's way with out of memory (util.c) */
                fprintf(stderr, "hfeval: %s\n", err.msg);
                exit(HFE_EXIT_INTERNAL);
            }
        }
        free(card);
        free(hub);
    }
    return cc;
}

/* Depth first from each root, in list order: each model after its
 * parent, and a lineage's path done before the next, so only one path's
 * fidelity data is alive at a time. */
static void dfs(const struct hfe_model_list *l, long parent, size_t *order,
                size_t *n, char *placed)
{
    size_t j;

    for (j = 0; j < l->n; j++)
        if (l->v[j].base == parent && !placed[j]) {
            placed[j] = 1;
            order[(*n)++] = j;
            dfs(l, (long)j, order, n, placed);
        }
}

static size_t *lineage_order(const struct hfe_model_list *l)
{
    size_t *order = hfe_xcalloc(l->n + 1, sizeof(*order));
    char *placed = hfe_xcalloc(l->n + 1, 1);
    size_t n = 0, j;

    dfs(l, -1, order, &n, placed);
    for (j = 0; j < l->n; j++) /* a cycle the list parser let through */
        if (!placed[j])
            order[n++] = j;
    free(placed);
    return order;
}

/* The lineage as a tree: each model under its parent, in list order. */
static void lineage_tree(struct hfe_buf *b, const struct hfe_model_list *l,
                         long parent, int depth)
{
    size_t j;

    for (j = 0; j < l->n; j++)
        if (l->v[j].base == parent) {
            hfe_buf_printf(b, "%*s%s\n", 2 * depth + 2, depth ? "- " : "",
                           l->v[j].name);
            lineage_tree(b, l, (long)j, depth + 1);
        }
}

/* Four decimals, or four significant digits below 0.01 (KLD). */
static void fmt_value(char *out, size_t n, double v)
{
    snprintf(out, n, v != 0 && fabs(v) < 0.01 ? "%.3e" : "%.4f", v);
}

static void table_row(struct hfe_buf *tb, const char *model, const char *task,
                      const struct hfe_stat *s)
{
    char val[32], se[32] = "-";

    fmt_value(val, sizeof(val), hfe_stat_mean(s));
    if (!s->corpus)
        fmt_value(se, sizeof(se), hfe_stat_stderr(s));
    hfe_buf_printf(tb, "%-20s %-18s %-22s %10s %10s %7zu\n", model, task,
                   s->name, val, se, s->n);
}

/* ---- the run record (results/README.md) --------------------------------- */

static void jstr(struct hfe_buf *b, const char *s)
{
    if (s)
        hfe_json_str(b, s, strlen(s));
    else
        hfe_buf_puts(b, "null");
}

static void jnum(struct hfe_buf *b, double v)
{
    if (isfinite(v))
        hfe_buf_printf(b, "%.9g", v);
    else
        hfe_buf_puts(b, "null");
}

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
    jstr(b, model);
    hfe_buf_puts(b, ",\"suite\":");
    jstr(b, suite);
    hfe_buf_puts(b, ",\"task\":");
    jstr(b, task);
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
                jstr(b, v);
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
                jstr(b, "AMD GPU");
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
    jstr(b, cpu[0] ? cpu : NULL);
    hfe_buf_printf(b, ",\"cores\":%ld,\"os\":", sysconf(_SC_NPROCESSORS_ONLN));
    snprintf(line, sizeof(line), "%s %s %s", u.sysname, u.release, u.machine);
    jstr(b, line);
    hfe_buf_puts(b, ",\"gpus\":[");
    gpus(b);
    hfe_buf_puts(b, "]}");
}

/* A file's size and digest, or null. */
static void file_facts(struct hfe_buf *b, const char *path)
{
    struct stat st;
    char hex[65];

    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        hfe_sha256_file(path, hex) != 0) {
        hfe_buf_puts(b, "null");
        return;
    }
    hfe_buf_printf(b, "{\"path\":");
    jstr(b, path);
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
        jstr(b, in->kv[i].key + 7);
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
        jstr(b, ms.stats[i].key);
        hfe_buf_printf(b, ":%s", ms.stats[i].value);
    }
    hfe_buf_puts(b, "}");
}

/* OUT/run.json: what produced the numbers, and the numbers. */
static int write_record(const char *dir, int argc, char **argv,
                        const struct hfe_suite *su, size_t n_suites,
                        const struct hfe_lua_opts *lo,
                        const struct hfe_select *sel, struct hfe_buf *models,
                        struct hfe_buf *results, time_t t_start)
{
    struct hfe_buf b = {0};
    char t0[32], t1[32], *path = hfe_xasprintf("%s/run.json", dir);
    const char *id = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    size_t i, k;
    int rc = 0;
    FILE *f;

    iso_time(t0, sizeof(t0), t_start);
    iso_time(t1, sizeof(t1), time(NULL));
    hfe_buf_printf(&b,
                   "{\"schema\":\"hfeval.run/1\",\"hfeval\":{\"version\":"
                   "\"%s\",\"plugin_abi\":\"%d.%d\"},\"run_id\":",
                   HFEVAL_VERSION, HFE_ABI_MAJOR, HFE_ABI_MINOR);
    jstr(&b, id);
    hfe_buf_printf(&b, ",\"started\":\"%s\",\"finished\":\"%s\",\"command\":[",
                   t0, t1);
    jstr(&b, "hfeval");
    for (i = 0; i < (size_t)argc; i++) {
        hfe_buf_puts(&b, ",");
        jstr(&b, argv[i]);
    }
    hfe_buf_puts(&b, "],\"machine\":");
    machine(&b);
    if (sel->shards > 1)
        hfe_buf_printf(&b, ",\"shard\":{\"k\":%u,\"n\":%u}", sel->shard + 1,
                       sel->shards);
    else
        hfe_buf_puts(&b, ",\"shard\":null");
    hfe_buf_puts(&b, ",\"set\":{");
    for (i = 0; i < lo->n_set; i++) {
        hfe_buf_puts(&b, i ? "," : "");
        jstr(&b, lo->set_keys[i]);
        hfe_buf_puts(&b, ":");
        jstr(&b, lo->set_values[i]);
    }
    hfe_buf_puts(&b, "},\"suites\":[");
    for (i = 0; i < n_suites; i++) {
        const char *const *reads;
        size_t n = hfe_lua_reads(su[i].rt, &reads);

        hfe_buf_puts(&b, i ? ",\n{\"name\":" : "\n{\"name\":");
        jstr(&b, su[i].name);
        hfe_buf_puts(&b, ",\"version\":");
        jstr(&b, su[i].version);
        hfe_buf_puts(&b, ",\"file\":");
        file_facts(&b, su[i].path);
        hfe_buf_puts(&b, ",\"data\":[");
        for (k = 0; k < n; k++) {
            hfe_buf_puts(&b, k ? "," : "");
            file_facts(&b, reads[k]);
        }
        hfe_buf_printf(&b, "],\"bad_lines_skipped\":%zu,\"tasks\":[",
                       hfe_lua_bad_lines(su[i].rt));
        for (k = 0; k < su[i].n_tasks; k++) {
            hfe_buf_puts(&b, k ? "," : "");
            hfe_buf_puts(&b, "{\"name\":");
            jstr(&b, su[i].tasks[k].name);
            hfe_buf_puts(&b, ",\"kind\":");
            jstr(&b, hfe_task_kinds[su[i].tasks[k].kind]);
            hfe_buf_printf(&b,
                           ",\"documents\":%zu,\"samples\":%u,\"seed\":%llu}",
                           su[i].tasks[k].n, su[i].tasks[k].samples,
                           (unsigned long long)su[i].tasks[k].seed);
        }
        hfe_buf_puts(&b, "]}");
    }
    hfe_buf_puts(&b, "],\n\"models\":");
    hfe_buf_add(&b, models->s, models->len);
    hfe_buf_puts(&b, "\n],\n\"results\":");
    hfe_buf_add(&b, results->s, results->len);
    hfe_buf_puts(&b, "\n],\n\"samples\":\"samples.jsonl\"}\n");
    if (!(f = fopen(path, "w")) ||
        (fwrite(b.s, 1, b.len, f) != b.len) + (fclose(f) != 0)) {
        fprintf(stderr, "hfeval: %s: cannot write the run record: %s\n", path,
                strerror(errno));
        rc = -1;
    }
    free(path);
    hfe_buf_free(&b);
    return rc;
}

/* The first Ctrl-C stops taking work (the worker in flight is stopped,
 * the journal kept); the second leaves at once: the journal is written a
 * whole batch at a time, so it stays readable. */
static void on_sigint(int sig)
{
    static const char msg[] =
        "\nhfeval: stopping: finishing the journal (Ctrl-C again to quit "
        "now)\n";
    ssize_t k;

    (void)sig;
    if (hfe_plug_cancel)
        _exit(HFE_EXIT_INTERRUPTED);
    hfe_plug_cancel = 1;
    k = write(2, msg, sizeof(msg) - 1);
    (void)k;
}

int hfe_run_main(int argc, char **argv)
{
    const char **suites = hfe_xcalloc((size_t)argc, sizeof(char *));
    const char **keys = hfe_xcalloc((size_t)argc, sizeof(char *));
    const char **vals = hfe_xcalloc((size_t)argc, sizeof(char *));
    char **setbuf = hfe_xcalloc((size_t)argc, sizeof(char *));
    const char *list_file = NULL, *out_dir = NULL, *db = NULL;
    struct hfe_plugin **bound = NULL;
    struct hfe_model_list *list = NULL;
    struct hfe_suite *su = NULL;
    struct hfe_plug_set plugins = {0};
    struct hfe_lua_opts lo = {0};
    struct hfe_buf rec = {0}, table = {0};
    struct hfe_fid_base *fid = NULL; /* [model][flat task] */
    size_t *order = NULL, *children = NULL, n_flat = 0;
    struct cc_entry *cc = NULL;
    struct hfe_buf models = {0}, results = {0};
    time_t t_start = time(NULL);
    struct hfe_err err;
    size_t n_suites = 0, n_set = 0, i, j, k, o;
    struct hfe_select sel = {-1, 0, 1};
    char *run_dir = NULL, *rec_path = NULL;
    const char *resume = NULL;
    struct hfe_journal *jr = NULL;
    struct sigaction old_int;
    int rc = 0, failed = 0, interrupted = 0, sig_set = 0;

    for (i = 1; i < (size_t)argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--models") && i + 1 < (size_t)argc) {
            list_file = argv[++i];
        } else if (!strcmp(a, "--out") && i + 1 < (size_t)argc) {
            out_dir = argv[++i];
        } else if (!strcmp(a, "--db") && i + 1 < (size_t)argc) {
            db = argv[++i];
        } else if (!strcmp(a, "--shard") && i + 1 < (size_t)argc) {
            unsigned k, nn;
            char tail;

            if (sscanf(argv[++i], "%u/%u%c", &k, &nn, &tail) != 2 || !nn ||
                !k || k > nn) {
                rc = usage("--shard needs K/N with 1 <= K <= N, got '%s'",
                           argv[i]);
                goto out;
            }
            sel.shard = k - 1;
            sel.shards = nn;
        } else if (!strcmp(a, "--limit") && i + 1 < (size_t)argc) {
            char *end;

            sel.limit = strtol(argv[++i], &end, 10);
            if (*end || sel.limit < 0) {
                rc = usage("--limit needs a count, got '%s'", argv[i]);
                goto out;
            }
        } else if (!strcmp(a, "--skip-bad-lines")) {
            lo.skip_bad_lines = 1;
        } else if (!strcmp(a, "--resume") && i + 1 < (size_t)argc) {
            resume = argv[++i];
        } else if (!strcmp(a, "--watchdog") && i + 1 < (size_t)argc) {
            char *end;
            double w = strtod(argv[++i], &end);

            if (*end || !(w > 0)) {
                rc = usage("--watchdog needs seconds, got '%s'", argv[i]);
                goto out;
            }
            hfe_worker_watchdog_s = w;
        } else if (!strcmp(a, "--set") && i + 1 < (size_t)argc) {
            char *eq;

            setbuf[n_set] = hfe_xstrdup(argv[++i]);
            eq = strchr(setbuf[n_set], '=');
            if (!eq || eq == setbuf[n_set]) {
                rc = usage("--set needs key=value, got '%s'", argv[i]);
                goto out;
            }
            *eq = '\0';
            keys[n_set] = setbuf[n_set];
            vals[n_set++] = eq + 1;
        } else if (a[0] == '-') {
            rc = usage("unknown option '%s' (or it needs a value)", a);
            goto out;
        } else {
            suites[n_suites++] = a;
        }
    }
    if (resume && !n_suites && !list_file) {
        /* `run --resume DIR`: the command the journal was started with */
        int jc = 0;
        char **jv = NULL;

        if ((rc = hfe_journal_argv(resume, &jc, &jv, &err)) != 0) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
            goto out;
        }
        jv = hfe_xrealloc(jv, ((size_t)jc + 3) * sizeof(*jv));
        jv[jc] = hfe_xstrdup("--resume");
        jv[jc + 1] = hfe_xstrdup(resume);
        jv[jc + 2] = NULL;
        for (i = 1; i < (size_t)jc; i++)
            if (!strcmp(jv[i], "--resume")) { /* one of its own: ours wins */
                free(jv[i]);
                jv[i] = hfe_xstrdup("--out");
            }
        rc = hfe_run_main(jc + 2, jv);
        hfe_journal_argv_free(jc + 2, jv);
        goto out;
    }
    if (resume)
        out_dir = resume;
    /* a file over RLIMIT_FSIZE is a write error we report, not a death */
    signal(SIGXFSZ, SIG_IGN);
    if (!n_suites || !list_file) {
        rc =
            usage("%s", !n_suites ? "name a suite" : "--models LIST is needed");
        goto out;
    }
    if ((rc = hfe_models_load(list_file, &list, &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        goto out;
    }
    hfe_plug_scan(&plugins);
    bound = hfe_xcalloc(list->n, sizeof(*bound));
    if ((rc = hfe_models_bind(list, &plugins, bound, &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        goto out;
    }
    lo.set_keys = keys;
    lo.set_values = vals;
    lo.n_set = n_set;
    su = hfe_xcalloc(n_suites, sizeof(*su));
    for (i = 0; i < n_suites; i++) {
        if ((rc = hfe_suite_load(suites[i], &lo, &sel, &su[i], &err)) != 0) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
            goto out;
        }
        n_flat += su[i].n_tasks;
        if (hfe_lua_bad_lines(su[i].rt))
            fprintf(stderr,
                    "hfeval: %s: %zu data line%s that did not parse, "
                    "skipped (--skip-bad-lines)\n",
                    su[i].path, hfe_lua_bad_lines(su[i].rt),
                    hfe_lua_bad_lines(su[i].rt) == 1 ? "" : "s");
    }

    /* results go to a fresh run directory */
    run_dir = out_dir ? hfe_xstrdup(out_dir)
                      : hfe_xasprintf("results/runs/%ld-%d", (long)time(NULL),
                                      (int)getpid());
    if (mkdirs(run_dir) != 0) {
        fprintf(stderr, "hfeval: %s: cannot create it: %s\n", run_dir,
                strerror(errno));
        rc = HFE_EXIT_IO;
        goto out;
    }
    if ((rc = hfe_journal_open(run_dir, argc, argv, resume != NULL, &jr,
                               &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        goto out;
    }
    if (resume)
        fprintf(stderr, "hfeval: resuming %s: %zu answers in its journal\n",
                run_dir, hfe_journal_n_read(jr));
    {
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sig_set = sigaction(SIGINT, &sa, &old_int) == 0;
    }
    rec_path = hfe_xasprintf("%s/samples.jsonl", run_dir);
    hfe_buf_add(&rec, "", 0);
    hfe_buf_add(&models, "[", 1);
    hfe_buf_add(&results, "[", 1);
    hfe_buf_printf(&table, "%-20s %-18s %-22s %10s %10s %7s\n", "MODEL", "TASK",
                   "METRIC", "VALUE", "STDERR", "N");

    /* parents first; a parent's fidelity data lives until its last child
     * has used it */
    order = lineage_order(list);
    for (i = 0; i < n_suites; i++)
        for (k = 0; k < su[i].n_tasks; k++)
            if (su[i].tasks[k].kind == HFE_TASK_COMPLIANCE && !cc)
                cc = compliance_all(list, order);
    children = hfe_xcalloc(list->n + 1, sizeof(*children));
    for (j = 0; j < list->n; j++)
        if (list->v[j].base >= 0)
            children[list->v[j].base]++;
    fid = hfe_xcalloc(list->n * n_flat + 1, sizeof(*fid));

    for (o = 0; o < list->n && !hfe_plug_cancel; o++) {
        const struct hfe_model_ent *e = &list->v[order[o]];
        const struct hfe_backend *be = bound[order[o]]->be;
        struct hfe_option *opts = hfe_xcalloc(e->n_opt + 1, sizeof(*opts));
        struct hfe_model_info info;
        size_t n_opts = 0, f = 0;
        const struct hfe_backend *wbe = &hfe_worker_backend;
        struct hfe_worker *wk = NULL;
        struct hfe_model *m = NULL;
        int orc;
        char oerr[1024];

        j = order[o];
        for (k = 0; k < e->n_opt; k++) { /* the backend's keys only */
            const char *const *ck;
            int core = 0;

            for (ck = hfe_models_core_keys; *ck; ck++)
                core |= !strcmp(*ck, e->opt[k].key);
            if (!core)
                opts[n_opts++] =
                    (struct hfe_option){e->opt[k].key, e->opt[k].value};
        }
        /* the record's entry: what the model is, and where it came from */
        hfe_buf_puts(&models, models.len > 1 ? ",\n" : "\n");
        hfe_buf_puts(&models, "{\"name\":");
        jstr(&models, e->name);
        hfe_buf_puts(&models, ",\"uri\":");
        {
            char *shown = hfe_uri_shown(e->uri);

            jstr(&models, shown);
            free(shown);
        }
        hfe_buf_puts(&models, ",\"base\":");
        jstr(&models, e->base >= 0 ? list->v[e->base].name : NULL);
        hfe_buf_puts(&models, ",\"backend\":{\"name\":");
        jstr(&models, be->name);
        hfe_buf_puts(&models, ",\"version\":");
        jstr(&models, be->version);
        hfe_buf_puts(&models, "},\"options\":{");
        for (k = 0; k < e->n_opt; k++) {
            hfe_buf_puts(&models, k ? "," : "");
            jstr(&models, e->opt[k].key);
            hfe_buf_puts(&models, ":");
            jstr(&models, e->opt[k].value);
        }
        hfe_buf_puts(&models, "},\"file\":");
        file_facts(&models, strncmp(e->resolved, "replay:", 7)
                                ? e->resolved
                                : e->resolved + 7);
        /* the model lives in a child: its crash is its own */
        if ((orc = hfe_worker_open(be, e->resolved, opts, n_opts, &wk, oerr,
                                   sizeof(oerr))) != HFE_OK) {
            hfe_buf_puts(&models, ",\"error\":");
            jstr(&models, oerr);
            hfe_buf_puts(&models, "}");
            fprintf(stderr, "hfeval: %s:%d: model '%s': %s\n", list->file,
                    e->line, e->name, oerr);
            hfe_buf_printf(&table, "%-20s %-18s error: %s\n", e->name, "-",
                           oerr);
            /* a bad model file has its own status; the suite's fault
             * outranks it */
            if (orc == HFE_EMODEL && failed != HFE_EXIT_SUITE)
                failed = HFE_EXIT_MODEL;
            else if (!failed)
                failed = HFE_EXIT_FAIL;
            free(opts);
            goto next;
        }
        m = (struct hfe_model *)wk;
        for (k = 0; k < e->n_opt; k++) /* watchdog=S: this model's own */
            if (!strcmp(e->opt[k].key, "watchdog"))
                hfe_worker_set_watchdog(wk, atof(e->opt[k].value));
        memset(&info, 0, sizeof(info));
        HFE_INIT(&info);
        if (wbe->info(m, &info) != HFE_OK)
            memset(&info, 0, sizeof(info));
        hfe_buf_puts(&models, ",\"info\":{\"name\":");
        jstr(&models, info.name);
        hfe_buf_puts(&models, ",\"architecture\":");
        jstr(&models, info.architecture);
        hfe_buf_puts(&models, ",\"quantization\":");
        jstr(&models, info.quantization);
        hfe_buf_printf(&models,
                       ",\"n_params\":%llu,\"n_ctx_train\":%u,\"n_ctx\":%u,"
                       "\"n_vocab\":%u}",
                       (unsigned long long)info.n_params, info.n_ctx_train,
                       info.n_ctx, info.n_vocab);
        server_facts(&models, &info);
        for (i = 0; i < n_suites; i++) {
            for (k = 0; k < su[i].n_tasks; k++, f++) {
                struct hfe_task *t = &su[i].tasks[k];
                struct hfe_job jb = {.be = wbe,
                                     .jr = jr,
                                     .m = m,
                                     .model = e->name,
                                     .n_vocab = info.n_vocab,
                                     .s = &su[i],
                                     .t = t,
                                     .rec = &rec,
                                     .err = &err};
                size_t q, mark = rec.len;
                int trc = HFE_EXIT_FAIL;

                if (hfe_plug_cancel) { /* Ctrl-C: no new work */
                    interrupted = 1;
                    continue;
                }
                if (hfe_log_level >= HFE_LOG_INFO)
                    fprintf(stderr, "hfeval: %s: %s/%s (%zu documents)\n",
                            e->name, su[i].name, t->name, t->n);
                if (t->fidelity && children[j])
                    jb.keep = &fid[j * n_flat + f];
                if (t->fidelity && e->base >= 0) {
                    jb.base = &fid[(size_t)e->base * n_flat + f];
                    jb.base_name = list->v[e->base].name;
                }
                if (t->kind == HFE_TASK_COMPLIANCE) {
                    if (!cc[j].ok) {
                        hfe_err_set(&err, "task '%s': %s", t->name, cc[j].why);
                        goto task_failed;
                    }
                    jb.cc = &cc[j].m;
                    jb.cc_report = &cc[j].r;
                    jb.cc_base = e->base >= 0 ? list->v[e->base].name : NULL;
                }
                if ((jb.keep || jb.base) &&
                    (!(be->caps & HFE_CAP_TOPK) || !info.n_vocab)) {
                    hfe_err_set(&err,
                                "task '%s': fidelity needs full-vocabulary "
                                "log-probabilities, which backend '%s' does "
                                "not give",
                                t->name, be->name);
                } else if (jb.base && jb.base->n_vocab != info.n_vocab) {
                    hfe_err_set(&err,
                                "task '%s': base '%s' %s, this model has %u "
                                "tokens: no fidelity to compare",
                                t->name, jb.base_name,
                                jb.base->n_vocab ? "has another vocabulary"
                                                 : "was not scored",
                                info.n_vocab);
                } else if ((trc = run_task(&jb)) == 0) {
                    for (q = 0; q < jb.st.n; q++) {
                        const struct hfe_stat *x = &jb.st.v[q];

                        table_row(&table, e->name, t->name, x);
                        result_head(&results, e->name, su[i].name, t->name);
                        hfe_buf_puts(&results, ",\"metric\":");
                        jstr(&results, x->name);
                        hfe_buf_puts(&results, ",\"value\":");
                        jnum(&results, hfe_stat_mean(x));
                        hfe_buf_puts(&results, ",\"stderr\":");
                        if (x->corpus)
                            hfe_buf_puts(&results, "null");
                        else
                            jnum(&results, hfe_stat_stderr(x));
                        hfe_buf_printf(&results, ",\"n\":%zu}", x->n);
                    }
                    continue;
                } else {
                    rec.len = mark; /* no half-written records */
                    rec.s[mark] = '\0';
                    if (jb.keep) /* a truncated base misleads its children */
                        hfe_fid_base_free(jb.keep);
                    if (hfe_plug_cancel) { /* stopped, not failed */
                        interrupted = 1;
                        continue;
                    }
                }
            task_failed:
                fprintf(stderr, "hfeval: model '%s': %s\n", e->name, err.msg);
                hfe_buf_printf(&table, "%-20s %-18s error: %s\n", e->name,
                               t->name, err.msg);
                result_head(&results, e->name, su[i].name, t->name);
                hfe_buf_puts(&results, ",\"error\":");
                jstr(&results, err.msg);
                hfe_buf_puts(&results, "}");
                /* the suite's own fault outranks a model's */
                failed = failed == HFE_EXIT_SUITE || trc == HFE_EXIT_SUITE
                             ? HFE_EXIT_SUITE
                         : failed == HFE_EXIT_MODEL ? HFE_EXIT_MODEL
                                                    : HFE_EXIT_FAIL;
            }
        }
        backend_stats(&models, wbe, m);
        hfe_buf_puts(&models, "}");
        wbe->close(m);
        free(opts);
    next:
        /* the parent's data has served this child */
        if (e->base >= 0 && --children[e->base] == 0)
            for (f = 0; f < n_flat; f++)
                hfe_fid_base_free(&fid[(size_t)e->base * n_flat + f]);
    }
    interrupted |= hfe_plug_cancel;
    if (hfe_journal_broken(jr)) {
        hfe_journal_close(jr);
        jr = NULL;
        fputs(table.s, stdout);
        fprintf(stderr,
                "hfeval: the journal could not be written (a full disk?); "
                "once there is room, resume with: hfeval run --resume %s\n",
                run_dir);
        rc = HFE_EXIT_IO;
        goto out;
    }
    hfe_journal_close(jr);
    jr = NULL;
    if (interrupted) {
        /* what is done, and how to go on; records come with the whole run */
        fputs(table.s, stdout);
        fprintf(stderr,
                "hfeval: interrupted; every answer so far is in "
                "%s/journal.jsonl\n"
                "hfeval: resume with: hfeval run --resume %s\n",
                run_dir, run_dir);
        rc = HFE_EXIT_INTERRUPTED;
        goto out;
    }
    {
        FILE *f = fopen(rec_path, "w");

        if (!f || fwrite(rec.s, 1, rec.len, f) != rec.len || fclose(f) != 0) {
            fprintf(stderr, "hfeval: %s: cannot write the records: %s\n",
                    rec_path, strerror(errno));
            rc = HFE_EXIT_IO;
        }
    }
    if (list->n > 1) {
        hfe_buf_puts(&table, "\nLINEAGE\n");
        lineage_tree(&table, list, -1, 0);
    }
    if (write_record(run_dir, argc, argv, su, n_suites, &lo, &sel, &models,
                     &results, t_start) != 0) {
        rc = HFE_EXIT_IO;
    } else {
        char *rj = hfe_xasprintf("%s/run.json", run_dir);

        if (hfe_history_add(hfe_history_path(db), rj, &err) != 0) {
            fprintf(stderr, "hfeval: the history: %s\n", err.msg);
            rc = HFE_EXIT_IO;
        }
        free(rj);
    }
    /* on a terminal, the lineage tables (hfeval report); elsewhere the
     * plain table, a row a metric, for scripts */
    if (isatty(1) && rc != HFE_EXIT_IO) {
        char *rargv[] = {"report", run_dir, NULL};

        fflush(stdout);
        hfe_report_main(2, rargv);
    } else {
        fputs(table.s, stdout);
    }
    fprintf(stderr,
            "hfeval: per-sample records in %s, the run in %s/run.json\n",
            rec_path, run_dir);
    if (!rc && failed)
        rc = failed;
out:
    if (sig_set) /* Ctrl-C is ours only while the run goes */
        sigaction(SIGINT, &old_int, NULL);
    hfe_journal_close(jr);
    for (i = 0; su && i < n_suites; i++)
        hfe_suite_free(&su[i]);
    free(su);
    for (i = 0; fid && i < list->n * n_flat; i++)
        hfe_fid_base_free(&fid[i]);
    free(fid);
    free(order);
    free(children);
    for (i = 0; cc && i < list->n; i++)
        hfe_cc_model_free(&cc[i].m);
    free(cc);
    for (i = 0; i < n_set; i++)
        free(setbuf[i]);
    free(setbuf);
    free(keys);
    free(vals);
    free(suites);
    free(bound);
    free(run_dir);
    free(rec_path);
    hfe_buf_free(&rec);
    hfe_buf_free(&table);
    hfe_buf_free(&models);
    hfe_buf_free(&results);
    hfe_plug_set_free(&plugins);
    hfe_models_free(list);
    return rc;
}

/* ---- merge ----------------------------------------------------------------
 */

/* One (model, suite, task) of the merged run and its records. */
struct group {
    const char *model, *suite, *task, *kind;
    cJSON **rec;
    size_t n, cap;
};

static int rec_doc_cmp(const void *a, const void *b)
{
    const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
    double dx = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "doc_id")),
           dy = cJSON_GetNumberValue(cJSON_GetObjectItem(y, "doc_id"));

    return (dx > dy) - (dx < dy);
}

static const char *jget(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void lineage_tree_json(struct hfe_buf *b, const cJSON *models,
                              const char *parent, int depth)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, models)
    {
        const char *base = jget(m, "base"), *name = jget(m, "name");

        if (name &&
            ((!parent && !base) || (parent && base && !strcmp(base, parent)))) {
            hfe_buf_printf(b, "%*s%s\n", 2 * depth + 2, depth ? "- " : "",
                           name);
            lineage_tree_json(b, models, name, depth + 1);
        }
    }
}

/* hfeval merge --out DIR RUN...: shard runs joined into one, its tables
 * recomputed from the per-sample records, as one unsharded run computes
 * them (speed, memory and fidelity tails, which need more than the
 * records, are not merged: shard accuracy suites). */
int hfe_merge_main(int argc, char **argv)
{
    const char *out_dir = NULL;
    cJSON *first = NULL, *merged_from = cJSON_CreateArray();
    cJSON **runs = hfe_xcalloc((size_t)argc, sizeof(cJSON *));
    struct group *g = NULL;
    struct hfe_buf table = {0}, results = {0}, samples = {0};
    size_t n_g = 0, n_runs = 0, i, k;
    int a, rc = 0;
    struct hfe_err err;

    for (a = 1; a < argc; a++) {
        char *path, *text, *line, *next;
        size_t len;
        cJSON *run;

        if (!strcmp(argv[a], "--out") && a + 1 < argc) {
            out_dir = argv[++a];
            continue;
        }
        path = hfe_xasprintf("%s/run.json", argv[a]);
        if (hfe_read_file(path, &text, &len, &err) != 0) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
            free(path);
            rc = HFE_EXIT_IO;
            goto out;
        }
        run = cJSON_Parse(text);
        free(text);
        if (!run || !jget(run, "schema") ||
            strcmp(jget(run, "schema"), "hfeval.run/1")) {
            fprintf(stderr, "hfeval: %s: expected a run record\n", path);
            cJSON_Delete(run);
            free(path);
            rc = HFE_EXIT_DATA;
            goto out;
        }
        free(path);
        runs[n_runs++] = run;
        if (!first)
            first = run;
        cJSON_AddItemToArray(merged_from,
                             cJSON_CreateString(jget(run, "run_id")
                                                    ? jget(run, "run_id")
                                                    : argv[a]));
        path = hfe_xasprintf("%s/samples.jsonl", argv[a]);
        if (hfe_read_file(path, &text, &len, &err) != 0) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
            free(path);
            rc = HFE_EXIT_IO;
            goto out;
        }
        free(path);
        for (line = text; line && *line; line = next) {
            cJSON *r;
            const char *mo, *su, *ta;

            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            if (!*line || !(r = cJSON_Parse(line)))
                continue;
            mo = jget(r, "model"), su = jget(r, "suite"), ta = jget(r, "task");
            for (k = 0; k < n_g; k++)
                if (mo && su && ta && !strcmp(g[k].model, mo) &&
                    !strcmp(g[k].suite, su) && !strcmp(g[k].task, ta))
                    break;
            if (!mo || !su || !ta) {
                cJSON_Delete(r);
                continue;
            }
            if (k == n_g) {
                g = hfe_xrealloc(g, (n_g + 1) * sizeof(*g));
                memset(&g[n_g], 0, sizeof(*g));
                g[n_g].model = cJSON_GetObjectItem(r, "model")->valuestring;
                g[n_g].suite = cJSON_GetObjectItem(r, "suite")->valuestring;
                g[n_g].task = cJSON_GetObjectItem(r, "task")->valuestring;
                n_g++;
            }
            if (g[k].n == g[k].cap) {
                g[k].cap = g[k].cap ? 2 * g[k].cap : 64;
                g[k].rec = hfe_xrealloc(g[k].rec, g[k].cap * sizeof(cJSON *));
            }
            g[k].rec[g[k].n++] = r;
        }
        free(text);
    }
    if (!n_runs || !out_dir) {
        fprintf(stderr, "usage: hfeval merge --out DIR RUN...\n");
        rc = HFE_EXIT_USAGE;
        goto out;
    }
    if (mkdirs(out_dir) != 0) {
        fprintf(stderr, "hfeval: %s: cannot create it: %s\n", out_dir,
                strerror(errno));
        rc = HFE_EXIT_IO;
        goto out;
    }
    hfe_buf_add(&table, "", 0);
    hfe_buf_add(&results, "[", 1);
    hfe_buf_add(&samples, "", 0);
    hfe_buf_printf(&table, "%-20s %-18s %-22s %10s %10s %7s\n", "MODEL", "TASK",
                   "METRIC", "VALUE", "STDERR", "N");
    /* in the unsharded run's order: models as run, suites, tasks, docs */
    {
        const cJSON *m, *su, *ta;

        cJSON_ArrayForEach(m, cJSON_GetObjectItem(first, "models"))
            cJSON_ArrayForEach(su, cJSON_GetObjectItem(first, "suites"))
                cJSON_ArrayForEach(ta, cJSON_GetObjectItem(su, "tasks"))
        {
            const char *mn = jget(m, "name"), *sn = jget(su, "name"),
                       *tn = jget(ta, "name"), *kind = jget(ta, "kind");
            struct hfe_stats st;
            struct group *x = NULL;

            for (k = 0; k < n_g; k++)
                if (mn && sn && tn && !strcmp(g[k].model, mn) &&
                    !strcmp(g[k].suite, sn) && !strcmp(g[k].task, tn))
                    x = &g[k];
            if (!x)
                continue;
            qsort(x->rec, x->n, sizeof(cJSON *), rec_doc_cmp);
            memset(&st, 0, sizeof(st));
            if (kind && !strcmp(kind, "rolling")) {
                double lp = 0, tok = 0, by = 0;
                struct hfe_stat *p = hfe_stat_new(&st, 1, "ppl_token"),
                                *b = hfe_stat_new(&st, 1, "bits_per_byte");

                for (i = 0; i < x->n; i++) {
                    const cJSON *me = cJSON_GetObjectItem(x->rec[i], "metrics");

                    lp += cJSON_GetNumberValue(
                        cJSON_GetObjectItem(me, "logprob"));
                    tok +=
                        cJSON_GetNumberValue(cJSON_GetObjectItem(me, "tokens"));
                    by +=
                        cJSON_GetNumberValue(cJSON_GetObjectItem(me, "bytes"));
                }
                p->sum = tok ? exp(-lp / tok) : 0, p->n = x->n;
                b->sum = by ? -lp / (log(2) * by) : 0, b->n = x->n;
            } else {
                const cJSON *v;

                for (i = 0; i < x->n; i++)
                    cJSON_ArrayForEach(
                        v, cJSON_GetObjectItem(x->rec[i], "metrics"))
                    {
                        struct hfe_stat *t = NULL;

                        for (k = 0; k < st.n; k++)
                            if (!strcmp(st.v[k].name, v->string))
                                t = &st.v[k];
                        if (!t)
                            t = hfe_stat_new(
                                &st, kind && !strcmp(kind, "compliance"), "%s",
                                v->string);
                        if (cJSON_IsNumber(v)) {
                            t->sum += v->valuedouble;
                            t->sum2 += v->valuedouble * v->valuedouble;
                            t->n++;
                        }
                    }
            }
            for (k = 0; k < st.n; k++) {
                table_row(&table, mn, tn, &st.v[k]);
                result_head(&results, mn, sn, tn);
                hfe_buf_puts(&results, ",\"metric\":");
                jstr(&results, st.v[k].name);
                hfe_buf_puts(&results, ",\"value\":");
                jnum(&results, hfe_stat_mean(&st.v[k]));
                hfe_buf_puts(&results, ",\"stderr\":");
                if (st.v[k].corpus)
                    hfe_buf_puts(&results, "null");
                else
                    jnum(&results, hfe_stat_stderr(&st.v[k]));
                hfe_buf_printf(&results, ",\"n\":%zu}", st.v[k].n);
            }
            for (i = 0; i < x->n; i++) {
                char *line = cJSON_PrintUnformatted(x->rec[i]);

                hfe_buf_puts(&samples, line);
                hfe_buf_puts(&samples, "\n");
                free(line);
            }
        }
    }
    hfe_buf_puts(&results, "\n]");
    {
        cJSON *rec = cJSON_Duplicate(first, 1);
        char *path = hfe_xasprintf("%s/samples.jsonl", out_dir), *json;
        const char *id =
            strrchr(out_dir, '/') ? strrchr(out_dir, '/') + 1 : out_dir;
        FILE *f;

        cJSON_ReplaceItemInObject(rec, "run_id", cJSON_CreateString(id));
        cJSON_ReplaceItemInObject(rec, "shard", cJSON_CreateNull());
        cJSON_ReplaceItemInObject(rec, "results", cJSON_Parse(results.s));
        cJSON_AddItemToObject(rec, "merged_from", merged_from);
        merged_from = NULL;
        if (!(f = fopen(path, "w")) ||
            (fwrite(samples.s, 1, samples.len, f) != samples.len) +
                (fclose(f) != 0))
            rc = HFE_EXIT_IO;
        free(path);
        path = hfe_xasprintf("%s/run.json", out_dir);
        json = cJSON_Print(rec);
        if (!rc &&
            (!(f = fopen(path, "w")) ||
             (fputs(json, f) < 0) + (fputc('\n', f) < 0) + (fclose(f) != 0)))
            rc = HFE_EXIT_IO;
        if (rc)
            fprintf(stderr, "hfeval: %s: cannot write: %s\n", path,
                    strerror(errno));
        free(json);
        free(path);
        cJSON_Delete(rec);
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItem(first, "models")) > 1) {
        hfe_buf_puts(&table, "\nLINEAGE\n");
        lineage_tree_json(&table, cJSON_GetObjectItem(first, "models"), NULL,
                          0);
    }
    fputs(table.s, stdout);
out:
    for (k = 0; k < n_g; k++) {
        for (i = 0; i < g[k].n; i++)
            cJSON_Delete(g[k].rec[i]);
        free(g[k].rec);
    }
    free(g);
    for (i = 0; i < n_runs; i++)
        cJSON_Delete(runs[i]);
    free(runs);
    cJSON_Delete(merged_from);
    hfe_buf_free(&table);
    hfe_buf_free(&results);
    hfe_buf_free(&samples);
    return rc;
}
