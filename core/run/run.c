/*
 * run.c - the runner behind `hfeval run`: opens the inputs, runs every
 * task of every suite on each model (parents first, each model in its
 * worker), scores, and writes the records.  See run.h.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "decide.h"
#include "gate.h"
#include "history.h"
#include "html.h"
#include "journal.h"
#include "models.h"
#include "perf.h"
#include "plugin.h"
#include "record.h"
#include "reuse.h"
#include "run.h"
#include "score.h"
#include "table.h"
#include "worker.h"

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
                        p->job->t->name, p->job->r0 + r, p->digest[r],
                        &p->res[r]);
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

static int job_model(struct hfe_job *j);
static void job_reused(struct hfe_job *j, size_t hits, size_t asked);

/* Submits n requests as one batch, or one at a time for a timing task
 * (after one warm-up run of the first, not counted).  Requests whose
 * answer the journal holds (a resumed run) or the cache (u) are not
 * asked again (cached[r] set for the cache's); every new answer goes into
 * both.  The model is opened only if something is left to ask. */
static int submit(struct hfe_job *j, struct hfe_request *req,
                  struct hfe_result *res, size_t n, struct hfe_reuse *u,
                  unsigned char *cached)
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
        if (hfe_journal_get(j->jr, j->model, j->s->name, j->t->name, j->r0 + r,
                            digest[r], &res[r]))
            continue;
        if (hfe_reuse_get(u, &req[r], &res[r])) {
            cached[r] = 1;
            continue;
        }
        rp[m] = &req[r];
        sp[m] = &res[r];
        index[m++] = r;
    }
    job_reused(j, n - m, m);
    if (m && (rc = job_model(j)) != HFE_OK) { /* it did not open */
        sp[0]->status = rc;
        sp[0]->error = hfe_xstrdup(j->err->msg);
        goto out;
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
    for (r = 0; r < m; r++)
        hfe_reuse_add(u, rp[r], sp[r]);
    if (hfe_journal_flush(j->jr) != 0)
        hfe_plug_cancel = 1;
    if (prog.label) {
        fprintf(stderr, "\r\033[K");
        free((char *)prog.label);
    }
out:
    free(rp);
    free(sp);
    free(index);
    free(digest);
    return rc;
}

/* A timing task's memory figures from the backend, in MiB: totals by
 * kind, a device's share as KIND@DEVICE. */
static void memory_stats(struct hfe_job *j)
{
    struct hfe_measure ms = {0};
    size_t k;

    if (!j->be->measure || !j->m)
        return;
    HFE_INIT(&ms);
    if (j->be->measure(j->m, &ms) != HFE_OK)
        return;
    for (k = 0; k < ms.n_mem; k++) {
        const char *dev = ms.mem[k].device,
                   *key = hfe_perf_mem_key(ms.mem[k].kind);
        struct hfe_stat *s;

        if (!key)
            continue;
        if (!dev || !strcmp(dev, "total") || !strcmp(dev, "host"))
            s = hfe_stat_new(&j->st, 1, "%s", key);
        else
            s = hfe_stat_new(&j->st, 1, "%s@%s", key, dev);
        s->sum = ms.mem[k].bytes / 1048576.0;
        s->n = 1;
    }
}

/* A request a choice, a sample or a text of task j; *n of them. */
static struct hfe_request *requests(const struct hfe_job *j, size_t *n)
{
    const struct hfe_task *t = j->t;
    size_t nreq = 0, i, k, r = 0;
    struct hfe_request *req;

    for (i = 0; i < t->n; i++)
        nreq += t->kind == HFE_TASK_CHOICE     ? t->items[i].n_choices
                : t->kind == HFE_TASK_GENERATE ? t->samples
                                               : 1;
    req = hfe_xcalloc(nreq + 1, sizeof(*req));
    for (i = 0; i < t->n; i++) {
        const struct hfe_item *it = &t->items[i];
        size_t nc = t->kind == HFE_TASK_CHOICE     ? it->n_choices
                    : t->kind == HFE_TASK_GENERATE ? t->samples
                                                   : 1;

        for (k = 0; k < nc; k++, r++) {
            struct hfe_request *q = &req[r];

            HFE_INIT(q);
            q->task = t->name;
            q->doc_id = it->doc_id;
            q->item_id = it->item_id;
            q->context = it->prompt;
            if (t->kind == HFE_TASK_LOGLIK) {
                q->kind = HFE_REQ_LOGLIK;
                q->continuation = it->target;
            } else if (t->kind == HFE_TASK_CHOICE) {
                if (it->contexts) /* the choices are the contexts */
                    q->context = it->contexts[k];
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
    *n = nreq;
    return req;
}

static void job_reuse_begin(struct hfe_job *j, struct hfe_request *req,
                            size_t n, struct hfe_reuse **u);
static void job_reuse_end(struct hfe_job *j, const struct hfe_request *req,
                          size_t n, struct hfe_reuse *u);

/* By item: whether each of its requests' answers came from the cache. */
static unsigned char *items_cached(const struct hfe_task *t,
                                   const unsigned char *cached)
{
    unsigned char *v = hfe_xcalloc(t->n + 1, 1);
    size_t i, k, r = 0;

    for (i = 0; i < t->n; i++) {
        size_t nc = t->kind == HFE_TASK_CHOICE     ? t->items[i].n_choices
                    : t->kind == HFE_TASK_GENERATE ? t->samples
                                                   : 1;

        v[i] = nc > 0;
        for (k = 0; k < nc; k++, r++)
            v[i] &= cached[r];
    }
    return v;
}

/* Runs one task on one model: its requests, its scores, its records. */
static int run_task(struct hfe_job *j)
{
    const struct hfe_task *t = j->t;
    size_t nreq = 0, r = 0;
    struct hfe_request *req;
    struct hfe_result *res;
    struct hfe_reuse *u = NULL;
    unsigned char *cached, *item_cached = NULL;
    int rc = 0;

    req = requests(j, &nreq);
    res = hfe_xcalloc(nreq + 1, sizeof(*res));
    cached = hfe_xcalloc(nreq + 1, 1);
    for (r = 0; r < nreq; r++)
        HFE_INIT(&res[r]);
    if (t->kind == HFE_TASK_COMPLIANCE) { /* metadata: no requests */
        rc = hfe_score(j, res);
        goto out;
    }
    job_reuse_begin(j, req, nreq, &u);
    if (submit(j, req, res, nreq, u, cached) != HFE_OK) {
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
    if (j->perf && !t->timing) /* speed.lua's are its own */
        for (r = 0; r < nreq; r++)
            if (!cached[r])
                hfe_perf_add(j->perf, &res[r]);
    j->item_cached = item_cached = items_cached(t, cached);
    rc = hfe_score(j, res);
    j->item_cached = NULL;
    if (rc == 0 && t->timing)
        memory_stats(j);
    if (rc == 0)
        job_reuse_end(j, req, nreq, u);
out:
    hfe_reuse_close(u); /* what was answered is kept, the task failed or not */
    free_results(res, nreq);
    free(item_cached);
    free(cached);
    free(req);
    free(res);
    return rc;
}

/* Each model's metadata and built-in compliance report. */
struct cc_entry {
    struct hfe_cc_model m;
    struct hfe_cc_report r;
    int ok;
    char why[sizeof(((struct hfe_err *)0)->msg)];
};

/* Compliance of every model into cc, parents first (a child's class is
 * capped by its parent's).  A model whose metadata cannot be read says
 * why; a bug in the checks is HFE_EXIT_INTERNAL, with err. */
static int compliance_all(const struct hfe_model_list *l, const size_t *order,
                          struct cc_entry *cc, struct hfe_err *bug)
{
    size_t o;
    int rc = 0;

    for (o = 0; o < l->n && !rc; o++) {
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
                           b >= 0 ? &cc[b].r : NULL, &cc[j].r, bug) != 0)
                rc = HFE_EXIT_INTERNAL;
        }
        free(card);
        free(hub);
    }
    return rc;
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

/* The first Ctrl-C stops taking work (the worker in flight is stopped,
 * the journal kept); the second leaves at once: the journal is written a
 * whole batch at a time, so it stays readable. */
static volatile sig_atomic_t interrupts; /* Ctrl-Cs so far */

static void on_sigint(int sig)
{
    static const char msg[] =
        "\nhfeval: stopping: finishing the journal (Ctrl-C again to quit "
        "now)\n";
    ssize_t k;

    (void)sig;
    /* counted apart from hfe_plug_cancel, which a full disk sets too: the
     * first Ctrl-C after one still stops cleanly */
    if (interrupts)
        _exit(HFE_EXIT_INTERRUPTED);
    interrupts = 1;
    hfe_plug_cancel = 1;
    k = write(2, msg, sizeof(msg) - 1);
    (void)k;
}

/* ---- the run ------------------------------------------------------------ */

/* Everything one `hfeval run` holds, from open to finish. */
struct run {
    const struct hfe_run_opts *o;
    struct hfe_model_list *list;
    struct hfe_plug_set plugins;
    struct hfe_plugin **bound; /* by model                         */
    struct hfe_suite *su;
    size_t n_flat;            /* tasks of all suites               */
    size_t *order, *children; /* lineage order; children by model */
    struct hfe_fid_base *fid; /* [model][flat task]               */
    struct hfe_stats **done;  /* [flat task]: the model's, or NULL */
    struct cc_entry *cc;      /* compliance by model               */
    char *dir, *samples_path;
    struct hfe_journal *jr;
    struct sigaction old_int;
    int sig_set;
    struct hfe_buf rec, table; /* samples.jsonl; the plain table    */
    struct hfe_record_out out; /* run.json's models and results     */
    struct hfe_cache *cache;   /* NULL: --no-cache                  */
    struct hfe_gate *gate;     /* run --gate: the task it takes     */
    struct hfe_buf gate_say;   /* each model's verdict              */
    struct hfe_err err;
    time_t started;
    int failed, interrupted;
};

/* What a job's runner holds (score.h's hfe_job_run). */
struct hfe_job_run {
    struct run *r;
    struct model *mo;
};

/* The model being run. */
struct model {
    size_t j;
    const struct hfe_model_ent *e;
    const struct hfe_backend *be; /* the model's own backend     */
    struct hfe_model *m;          /* its worker; NULL till asked */
    struct hfe_model_info info;
    struct hfe_perf perf;
    struct hfe_job_run link;
    /* the cache: the model's key (keyed 0: not cached), the facts it
     * held, answers taken from it and asked, where the distributions
     * its children compare with came from */
    char key[65], file_sha256[65];
    int keyed, opened;
    struct hfe_reuse_info *info_held;
    size_t reused, asked;
    const char *dists;
};

/* The run's status once something failed with `now`: a bug outranks
 * the suite's own fault, which outranks a bad model file, which outranks
 * any other failure. */
static int worse(int failed, int now)
{
    static const int rank[] = {[HFE_EXIT_FAIL] = 1,
                               [HFE_EXIT_MODEL] = 2,
                               [HFE_EXIT_SUITE] = 3,
                               [HFE_EXIT_INTERNAL] = 4};

    assert(now == HFE_EXIT_FAIL || now == HFE_EXIT_MODEL ||
           now == HFE_EXIT_SUITE || now == HFE_EXIT_INTERNAL);
    return rank[now] > rank[failed] ? now : failed;
}

static int run_suites(struct run *r)
{
    const struct hfe_run_opts *o = r->o;
    size_t i;
    int rc;

    r->su = hfe_xcalloc(o->n_suites, sizeof(*r->su));
    for (i = 0; i < o->n_suites; i++) {
        if ((rc = hfe_suite_load(o->suites[i], &o->lo, &o->sel, &r->su[i],
                                 &r->err)) != 0) {
            fprintf(stderr, "hfeval: %s\n", r->err.msg);
            return rc;
        }
        r->n_flat += r->su[i].n_tasks;
        if (hfe_lua_bad_lines(r->su[i].rt))
            fprintf(stderr,
                    "hfeval: %s: %zu data line%s that did not parse, "
                    "skipped (--skip-bad-lines)\n",
                    r->su[i].path, hfe_lua_bad_lines(r->su[i].rt),
                    hfe_lua_bad_lines(r->su[i].rt) == 1 ? "" : "s");
    }
    return 0;
}

/* The run directory and its journal; Ctrl-C ours from here on. */
static int run_dir(struct run *r)
{
    const struct hfe_run_opts *o = r->o;
    const char *out = o->resume ? o->resume : o->out_dir;
    struct sigaction sa;
    int rc;

    r->dir = out ? hfe_xstrdup(out)
                 : hfe_xasprintf("results/runs/%ld-%d", (long)time(NULL),
                                 (int)getpid());
    if (hfe_mkdirs(r->dir) != 0) {
        fprintf(stderr, "hfeval: %s: cannot create it: %s\n", r->dir,
                strerror(errno));
        return HFE_EXIT_IO;
    }
    if ((rc = hfe_journal_open(r->dir, o->argc, o->argv, o->resume != NULL,
                               &r->jr, &r->err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", r->err.msg);
        return rc;
    }
    if (o->resume)
        fprintf(stderr, "hfeval: resuming %s: %zu answers in its journal\n",
                r->dir, hfe_journal_n_read(r->jr));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    r->sig_set = sigaction(SIGINT, &sa, &r->old_int) == 0;
    return 0;
}

/* The model list, its backends, the suites, the run directory. */
static int run_open(struct run *r)
{
    const struct hfe_run_opts *o = r->o;
    size_t j;
    int rc;

    if ((rc = hfe_models_load(o->list_file, &r->list, &r->err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", r->err.msg);
        return rc;
    }
    /* a cache that cannot be made costs recomputation, nothing else */
    if (!o->no_cache &&
        hfe_cache_open(o->cache_dir,
                       o->cache_max ? o->cache_max : HFE_CACHE_MAX_DEFAULT,
                       &r->cache, &r->err) != 0)
        fprintf(stderr, "hfeval: %s; running without the cache\n", r->err.msg);
    hfe_plug_scan(&r->plugins);
    r->bound = hfe_xcalloc(r->list->n, sizeof(*r->bound));
    if ((rc = hfe_models_bind(r->list, &r->plugins, r->bound, &r->err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", r->err.msg);
        return rc;
    }
    if ((rc = run_suites(r)) != 0)
        return rc;
    if (o->gate && (rc = hfe_gate_open(o->gate, r->su, o->n_suites, &r->gate,
                                       &r->err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", r->err.msg);
        return rc;
    }
    if ((rc = run_dir(r)) != 0)
        return rc;
    r->samples_path = hfe_xasprintf("%s/samples.jsonl", r->dir);
    hfe_buf_add(&r->rec, "", 0);
    hfe_record_out_init(&r->out);
    hfe_table_head(&r->table);
    /* parents first; a parent's fidelity data lives until its last child
     * has used it */
    r->order = lineage_order(r->list);
    /* the metadata checks cost nothing next to inference: every run
     * records each model's class, license and failed checks */
    r->cc = hfe_xcalloc(r->list->n + 1, sizeof(*r->cc));
    if (compliance_all(r->list, r->order, r->cc, &r->err) != 0) {
        fprintf(stderr, "hfeval: %s\n", r->err.msg);
        return HFE_EXIT_INTERNAL;
    }
    r->children = hfe_xcalloc(r->list->n + 1, sizeof(*r->children));
    for (j = 0; j < r->list->n; j++)
        if (r->list->v[j].base >= 0)
            r->children[r->list->v[j].base]++;
    r->fid = hfe_xcalloc(r->list->n * r->n_flat + 1, sizeof(*r->fid));
    r->done = hfe_xcalloc(r->n_flat + 1, sizeof(*r->done));
    return 0;
}

/* The backend's options of model entry e (the core's keys left out),
 * *n of them. */
static struct hfe_option *backend_opts(const struct hfe_model_ent *e, size_t *n)
{
    struct hfe_option *opts = hfe_xcalloc(e->n_opt + 1, sizeof(*opts));
    size_t k;

    *n = 0;
    for (k = 0; k < e->n_opt; k++) {
        const char *const *ck;
        int core = 0;

        for (ck = hfe_models_core_keys; *ck; ck++)
            core |= !strcmp(*ck, e->opt[k].key);
        if (!core)
            opts[(*n)++] = (struct hfe_option){e->opt[k].key, e->opt[k].value};
    }
    return opts;
}

/* Starts model mo's worker (a crash is its own).  Returns HFE_OK, or a
 * status with the message in err. */
static int model_start(struct model *mo, char *err, size_t err_size)
{
    const struct hfe_model_ent *e = mo->e;
    size_t n_opts, k;
    struct hfe_option *opts = backend_opts(e, &n_opts);
    struct hfe_worker *wk = NULL;
    int orc;

    orc =
        hfe_worker_open(mo->be, e->resolved, opts, n_opts, &wk, err, err_size);
    free(opts);
    if (orc != HFE_OK)
        return orc;
    mo->m = (struct hfe_model *)wk;
    mo->opened = 1;
    for (k = 0; k < e->n_opt; k++) /* watchdog=S: this model's own */
        if (!strcmp(e->opt[k].key, "watchdog"))
            hfe_worker_set_watchdog(wk, strtod(e->opt[k].value, NULL));
    return HFE_OK;
}

/* The job's model, started now if it was not (its facts came from the
 * cache, and now something must be asked). */
static int job_model(struct hfe_job *j)
{
    struct model *mo = j->run ? j->run->mo : NULL;
    char why[1024];
    int rc;

    if (j->m)
        return HFE_OK;
    if (!mo)
        return HFE_EBACKEND;
    if (!mo->m) {
        if ((rc = model_start(mo, why, sizeof(why))) != HFE_OK) {
            hfe_err_set(j->err, "%s", why);
            return rc;
        }
        if (hfe_log_level >= HFE_LOG_INFO)
            fprintf(stderr, "hfeval: %s: opened for what the cache lacks\n",
                    mo->e->name);
    }
    j->m = mo->m;
    return HFE_OK;
}

static void job_reused(struct hfe_job *j, size_t hits, size_t asked)
{
    if (j->run) {
        j->run->mo->reused += hits;
        j->run->mo->asked += asked;
    }
}

/* The model's key in the cache (a file model of a run with a cache),
 * and with it, maybe, its facts: then it is not opened until asked. */
static void model_key(struct run *r, struct model *mo)
{
    size_t n_opts;
    struct hfe_option *opts;

    if (!r->cache)
        return;
    opts = backend_opts(mo->e, &n_opts);
    mo->keyed =
        hfe_cache_model_key(r->cache, mo->be->name, mo->be->version,
                            r->bound[mo->j]->path, mo->e->resolved, opts,
                            n_opts, mo->key, mo->file_sha256) == 0;
    free(opts);
    if (mo->keyed)
        hfe_reuse_info_get(r->cache, mo->key, &mo->info, &mo->info_held);
}

/* A fidelity task's distributions from the cache, or, once computed,
 * into it; and the task's answers kept there.  (A timing task measures
 * the machine now: none of it comes from the cache.) */
static void job_reuse_begin(struct hfe_job *j, struct hfe_request *req,
                            size_t n, struct hfe_reuse **u)
{
    struct model *mo = j->run ? j->run->mo : NULL;
    struct run *r = j->run ? j->run->r : NULL;
    size_t k;

    *u = NULL;
    if (!mo || !mo->keyed || j->t->timing)
        return;
    if (j->keep && !j->keep->n &&
        hfe_reuse_fid_get(r->cache, mo->key, req, n, j->keep)) {
        j->keep_cached = 1;
        mo->dists = "cache";
        if (!j->base) /* a root: only its children wanted them */
            for (k = 0; k < n; k++)
                req[k].top_k = 0;
    }
    *u = hfe_reuse_open(r->cache, mo->key, j->s->name, j->t->name);
}

static void job_reuse_end(struct hfe_job *j, const struct hfe_request *req,
                          size_t n, struct hfe_reuse *u)
{
    struct model *mo = j->run ? j->run->mo : NULL;

    if (!u || !j->keep || j->keep_cached)
        return;
    hfe_reuse_fid_put(j->run->r->cache, mo->key, req, n, j->keep);
    mo->dists = "computed";
}

/* Opens model mo — from the cache, its facts only — and records what it
 * is; a model that does not open is an error row. */
static int model_open(struct run *r, struct model *mo)
{
    const struct hfe_model_ent *e = mo->e;
    const struct cc_entry *cc;
    char oerr[1024];
    int orc;

    model_key(r, mo); /* hashes the file, once, for the record too */
    hfe_record_model_begin(&r->out, e,
                           e->base >= 0 ? r->list->v[e->base].name : NULL,
                           mo->be, mo->keyed ? mo->file_sha256 : NULL);
    cc = &r->cc[mo->j];
    hfe_record_model_compliance(&r->out, cc->ok ? &cc->m : NULL,
                                cc->ok ? &cc->r : NULL, cc->why);
    if (mo->info_held) { /* opened when something must be asked */
        hfe_record_model_info(&r->out, &mo->info);
        return 0;
    }
    if ((orc = model_start(mo, oerr, sizeof(oerr))) != HFE_OK) {
        hfe_record_model_error(&r->out, oerr);
        hfe_record_model_end(&r->out);
        fprintf(stderr, "hfeval: %s:%d: model '%s': %s\n", r->list->file,
                e->line, e->name, oerr);
        hfe_table_error(&r->table, e->name, "-", oerr);
        r->failed = worse(r->failed,
                          orc == HFE_EMODEL ? HFE_EXIT_MODEL : HFE_EXIT_FAIL);
        return -1;
    }
    memset(&mo->info, 0, sizeof(mo->info));
    HFE_INIT(&mo->info);
    if (hfe_worker_backend.info(mo->m, &mo->info) != HFE_OK)
        memset(&mo->info, 0, sizeof(mo->info));
    else if (mo->keyed)
        hfe_reuse_info_put(r->cache, mo->key, &mo->info);
    hfe_record_model_info(&r->out, &mo->info);
    return 0;
}

/* Links job jb to the fidelity data and compliance of its lineage, or
 * says (in r->err) why task t cannot run on this model. */
static int job_links(struct run *r, const struct model *mo,
                     const struct hfe_task *t, size_t f, struct hfe_job *jb)
{
    const struct hfe_model_ent *e = mo->e;
    size_t j = mo->j;

    if (t->fidelity && r->children[j])
        jb->keep = &r->fid[j * r->n_flat + f];
    if (t->fidelity && e->base >= 0) {
        jb->base = &r->fid[(size_t)e->base * r->n_flat + f];
        jb->base_name = r->list->v[e->base].name;
    }
    if (t->kind == HFE_TASK_COMPLIANCE) {
        if (!r->cc[j].ok) {
            hfe_err_set(&r->err, "task '%s': %s", t->name, r->cc[j].why);
            return -1;
        }
        jb->cc = &r->cc[j].m;
        jb->cc_report = &r->cc[j].r;
        jb->cc_base = e->base >= 0 ? r->list->v[e->base].name : NULL;
    }
    if ((jb->keep || jb->base) &&
        (!(mo->be->caps & HFE_CAP_TOPK) || !mo->info.n_vocab)) {
        hfe_err_set(&r->err,
                    "task '%s': fidelity needs full-vocabulary "
                    "log-probabilities, which backend '%s' does not give",
                    t->name, mo->be->name);
        return -1;
    }
    if (jb->base && jb->base->n_vocab != mo->info.n_vocab) {
        hfe_err_set(&r->err,
                    "task '%s': base '%s' %s, this model has %u tokens: no "
                    "fidelity to compare",
                    t->name, jb->base_name,
                    jb->base->n_vocab ? "has another vocabulary"
                                      : "was not scored",
                    mo->info.n_vocab);
        return -1;
    }
    return 0;
}

/* A primary metric the task did not compute is the suite's mistake: the
 * rows are kept, the run ends with exit 5.  (A root computes no KLD: a
 * fidelity task's is not checked.) */
static void check_primary(struct run *r, const struct hfe_suite *s,
                          const struct hfe_task *t, const struct hfe_stats *st)
{
    size_t q;

    if (!t->primary || t->fidelity)
        return;
    for (q = 0; q < st->n && strcmp(st->v[q].name, t->primary); q++)
        ;
    if (q < st->n)
        return;
    fprintf(stderr,
            "hfeval: %s: task '%s': field 'primary' names '%s', a metric the "
            "task does not compute\n",
            s->path, t->name, t->primary);
    r->failed = worse(r->failed, HFE_EXIT_SUITE);
}

/* The gate's task on a model: a block of items at a time until the
 * verdict, which run.json and stdout get; a fail fails the run. */
static int gate_one(struct run *r, struct hfe_job *jb)
{
    struct hfe_buf json = {0};
    enum hfe_seq_verdict v;
    int rc = hfe_gate_task(r->gate, jb, run_task, &v, &json, &r->gate_say);

    if (rc == 0) {
        hfe_record_model_json(&r->out, json.s);
        if (v == HFE_SEQ_FAIL)
            r->failed = worse(r->failed, HFE_EXIT_FAIL);
    }
    hfe_buf_free(&json);
    return rc;
}

/* Task t of suite s on model mo: its rows, or its error row. */
static void run_one(struct run *r, struct model *mo, struct hfe_suite *s,
                    struct hfe_task *t, size_t f)
{
    const char *name = mo->e->name;
    struct hfe_job jb = {.be = &hfe_worker_backend,
                         .jr = r->jr,
                         .m = mo->m,
                         .model = name,
                         .n_vocab = mo->info.n_vocab,
                         .s = s,
                         .t = t,
                         .rec = &r->rec,
                         .err = &r->err,
                         .perf = &mo->perf,
                         .run = &mo->link};
    size_t q, mark = r->rec.len;
    int trc = HFE_EXIT_FAIL;

    if (hfe_plug_cancel) { /* Ctrl-C: no new work */
        r->interrupted = 1;
        return;
    }
    if (hfe_log_level >= HFE_LOG_INFO)
        fprintf(stderr, "hfeval: %s: %s/%s (%zu documents)\n", name, s->name,
                t->name, t->n);
    if (job_links(r, mo, t, f, &jb) == 0) {
        if ((trc = r->gate ? gate_one(r, &jb) : run_task(&jb)) == 0) {
            for (q = 0; q < jb.st.n; q++) {
                hfe_table_row(&r->table, name, t->name, &jb.st.v[q]);
                hfe_record_result(&r->out, name, s->name, t->name, &jb.st.v[q]);
            }
            check_primary(r, s, t, &jb.st);
            if (s->n_groups) { /* for the suite's groups (run_groups) */
                if (!r->done[f])
                    r->done[f] = hfe_xmalloc(sizeof(*r->done[f]));
                *r->done[f] = jb.st;
            }
            return;
        }
        r->rec.len = mark; /* no half-written records */
        r->rec.s[mark] = '\0';
        if (jb.keep) /* a truncated base misleads its children */
            hfe_fid_base_free(jb.keep);
        if (hfe_plug_cancel) { /* stopped, not failed */
            r->interrupted = 1;
            return;
        }
    }
    fprintf(stderr, "hfeval: model '%s': %s\n", name, r->err.msg);
    hfe_table_error(&r->table, name, t->name, r->err.msg);
    hfe_record_result_error(&r->out, name, s->name, t->name, r->err.msg);
    r->failed =
        worse(r->failed, trc == HFE_EXIT_SUITE || trc == HFE_EXIT_INTERNAL
                             ? trc
                             : HFE_EXIT_FAIL);
}

struct group_rows {
    struct run *r;
    const char *model, *suite;
};

static void group_row(void *ud, const char *group, const struct hfe_stat *s)
{
    struct group_rows *g = ud;

    hfe_table_row(&g->r->table, g->model, group, s);
    hfe_record_result(&g->r->out, g->model, g->suite, group, s);
}

/* Suite s's group rows on the model, once its tasks are done (flat tasks
 * from f0); then those tasks' stats are let go. */
static void run_groups(struct run *r, const char *model, struct hfe_suite *s,
                       size_t f0)
{
    const char **names = hfe_xcalloc(s->n_tasks + 1, sizeof(*names));
    struct group_rows g = {r, model, s->name};
    size_t k;

    for (k = 0; k < s->n_tasks; k++)
        names[k] = s->tasks[k].name;
    hfe_stat_groups(s->groups, s->n_groups, names, r->done + f0, s->n_tasks,
                    group_row, &g);
    free(names);
    for (k = 0; k < s->n_tasks; k++) { /* the next model's, afresh */
        free(r->done[f0 + k]);
        r->done[f0 + k] = NULL;
    }
}

/* Every task on the model in lineage position o; then its parent's
 * fidelity data is freed once its last child is done. */
static void run_model(struct run *r, size_t o)
{
    struct model mo = {.j = r->order[o], .e = &r->list->v[r->order[o]]};
    size_t i, k, f = 0;
    long base = mo.e->base;

    mo.be = r->bound[mo.j]->be;
    mo.link = (struct hfe_job_run){r, &mo};
    hfe_perf_start(&mo.perf);
    if (model_open(r, &mo) == 0) {
        struct hfe_buf ms = {0};

        for (i = 0; i < r->o->n_suites; i++) {
            size_t f0 = f;

            for (k = 0; k < r->su[i].n_tasks; k++, f++)
                if (!r->gate || hfe_gate_takes(r->gate, &r->su[i].tasks[k]))
                    run_one(r, &mo, &r->su[i], &r->su[i].tasks[k], f);
            if (r->su[i].n_groups)
                run_groups(r, mo.e->name, &r->su[i], f0);
        }
        if (mo.m)
            hfe_record_model_stats(&r->out, &hfe_worker_backend, mo.m);
        hfe_perf_json(&ms, &mo.perf, &hfe_worker_backend, mo.m);
        if (mo.keyed) {
            hfe_buf_printf(&ms,
                           ",\"cache\":{\"key\":\"%s\",\"opened\":%s,"
                           "\"answers_cached\":%zu,\"answers_asked\":%zu",
                           mo.key, mo.opened ? "true" : "false", mo.reused,
                           mo.asked);
            if (mo.dists)
                hfe_buf_printf(&ms, ",\"distributions\":\"%s\"", mo.dists);
            hfe_buf_puts(&ms, "}");
        }
        hfe_record_model_json(&r->out, ms.s);
        hfe_buf_free(&ms);
        hfe_record_model_end(&r->out);
        if (mo.m)
            hfe_worker_backend.close(mo.m);
    }
    hfe_reuse_info_free(mo.info_held);
    hfe_perf_free(&mo.perf);
    if (base >= 0 && --r->children[base] == 0)
        for (f = 0; f < r->n_flat; f++)
            hfe_fid_base_free(&r->fid[(size_t)base * r->n_flat + f]);
}

/* A run that stopped early: what is done, and how to go on. */
static int run_stopped(struct run *r, int broken)
{
    fputs(r->table.s, stdout);
    if (broken) {
        fprintf(stderr,
                "hfeval: the journal could not be written (a full disk?); "
                "once there is room, resume with: hfeval run --resume %s\n",
                r->dir);
        return HFE_EXIT_IO;
    }
    fprintf(stderr,
            "hfeval: interrupted; every answer so far is in "
            "%s/journal.jsonl\n"
            "hfeval: resume with: hfeval run --resume %s\n",
            r->dir, r->dir);
    return HFE_EXIT_INTERRUPTED;
}

/* samples.jsonl, items.jsonl, run.json and the history. */
static int run_records(struct run *r)
{
    const struct hfe_run_opts *o = r->o;
    struct hfe_record_run facts = {o->argc, o->argv, r->su,     o->n_suites,
                                   &o->lo,  &o->sel, r->started};
    int rc = 0;

    if (hfe_write_file(r->samples_path, r->rec.s, r->rec.len) != 0) {
        fprintf(stderr, "hfeval: %s: cannot write the records: %s\n",
                r->samples_path, strerror(errno));
        rc = HFE_EXIT_IO;
    }
    {
        struct hfe_buf items = {0};
        char *ip = hfe_xasprintf("%s/items.jsonl", r->dir);

        hfe_record_items(&items, r->su, o->n_suites);
        if (hfe_write_file(ip, items.s, items.len) != 0) {
            fprintf(stderr, "hfeval: %s: cannot write the items: %s\n", ip,
                    strerror(errno));
            rc = HFE_EXIT_IO;
        }
        hfe_buf_free(&items);
        free(ip);
    }
    if (r->list->n > 1)
        hfe_table_lineage(&r->table, r->list);
    if (hfe_record_write(r->dir, &facts, &r->out, &r->err) != 0) {
        fprintf(stderr, "hfeval: %s\n", r->err.msg);
        return HFE_EXIT_IO;
    }
    {
        char *rj = hfe_xasprintf("%s/run.json", r->dir);

        if (hfe_history_add(hfe_history_path(o->db), rj, &r->err) != 0) {
            fprintf(stderr, "hfeval: the history: %s\n", r->err.msg);
            rc = HFE_EXIT_IO;
        }
        free(rj);
    }
    return rc;
}

/* The journal closed, the records written, the tables printed. */
static int run_finish(struct run *r)
{
    int broken = hfe_journal_broken(r->jr), rc;

    r->interrupted |= hfe_plug_cancel;
    hfe_journal_close(r->jr);
    r->jr = NULL;
    if (broken || r->interrupted)
        return run_stopped(r, broken);
    rc = run_records(r);
    /* on a terminal, the decision table (hfeval report); elsewhere the
     * plain table, a row a metric, for scripts */
    if (isatty(1) && rc != HFE_EXIT_IO) {
        fflush(stdout);
        hfe_decide_print(r->dir);
    } else {
        fputs(r->table.s, stdout);
    }
    if (r->gate_say.len)
        fputs(r->gate_say.s, stdout);
    fprintf(stderr,
            "hfeval: per-sample records in %s, the run in %s/run.json\n",
            r->samples_path, r->dir);
    if (!isatty(1) && rc != HFE_EXIT_IO)
        fprintf(stderr, "hfeval: the decision table: hfeval report %s\n",
                r->dir);
    if (r->o->html && rc != HFE_EXIT_IO) { /* with the history just added */
        struct hfe_decide_opts dop = {.pick = HFE_PICK_DEFAULT};
        struct hfe_html_opts ho = {&dop, NULL, hfe_history_path(r->o->db)};
        const char *dir = r->dir;

        if (hfe_html_write(r->o->html, &dir, 1, &ho, &r->err) != 0) {
            fprintf(stderr, "hfeval: %s\n", r->err.msg);
            rc = HFE_EXIT_IO;
        } else {
            fprintf(stderr, "hfeval: the report in %s\n", r->o->html);
        }
    }
    return !rc && r->failed ? r->failed : rc;
}

static void run_free(struct run *r)
{
    size_t i;

    if (r->sig_set) /* Ctrl-C is ours only while the run goes */
        sigaction(SIGINT, &r->old_int, NULL);
    hfe_journal_close(r->jr);
    hfe_cache_close(r->cache);
    hfe_gate_close(r->gate);
    hfe_buf_free(&r->gate_say);
    for (i = 0; r->su && i < r->o->n_suites; i++)
        hfe_suite_free(&r->su[i]);
    free(r->su);
    for (i = 0; r->fid && i < r->list->n * r->n_flat; i++)
        hfe_fid_base_free(&r->fid[i]);
    free(r->fid);
    for (i = 0; r->done && i < r->n_flat; i++)
        free(r->done[i]);
    free(r->done);
    free(r->order);
    free(r->children);
    for (i = 0; r->cc && i < r->list->n; i++)
        hfe_cc_model_free(&r->cc[i].m);
    free(r->cc);
    free(r->bound);
    free(r->dir);
    free(r->samples_path);
    hfe_buf_free(&r->rec);
    hfe_buf_free(&r->table);
    hfe_record_out_free(&r->out);
    hfe_plug_set_free(&r->plugins);
    hfe_models_free(r->list);
}

int hfe_run(const struct hfe_run_opts *o)
{
    struct run r = {.o = o, .started = time(NULL)};
    size_t i;
    int rc;

    assert(o->n_suites && o->list_file);
    /* a file over RLIMIT_FSIZE is a write error we report, not a death */
    signal(SIGXFSZ, SIG_IGN);
    if (o->watchdog > 0)
        hfe_worker_watchdog_s = o->watchdog;
    if ((rc = run_open(&r)) == 0) {
        for (i = 0; i < r.list->n && !hfe_plug_cancel; i++)
            run_model(&r, i);
        rc = run_finish(&r);
    }
    run_free(&r);
    return rc;
}
