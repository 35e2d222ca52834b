/*
 * submit.c - a batch through the http backend: a job per request, the
 * exchanges each job asks for (job_plan), and the pump that runs them all
 * on the model's curl multi handle until every job is done.
 */
#define _GNU_SOURCE /* asprintf */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_int.h"

/* ---- the pump ----------------------------------------------------------- */

static void cancel_all(struct pump *p)
{
    struct ex *x, *nx;

    for (x = p->head; x; x = nx) {
        nx = x->next;
        http_ex_free(x);
    }
    for (x = p->delayed; x; x = nx) {
        nx = x->next;
        http_ex_free(x);
    }
    p->head = p->tail = p->delayed = NULL;
}

/* Exchanges back from their backoff go to the front of the queue.
 * Returns how long until the next of those still waiting is due, at most
 * wait. */
static double wake_delayed(struct pump *p, double now, double wait)
{
    struct ex **pp = &p->delayed, *x;

    while (*pp) {
        x = *pp;
        if (x->not_before <= now) {
            *pp = x->next;
            http_push_front(p, x);
        } else {
            if (x->not_before - now < wait)
                wait = x->not_before - now;
            pp = &x->next;
        }
    }
    return wait;
}

/* Starts ready exchanges while there is room and the model is not held. */
static void start_ready(struct pump *p, double now)
{
    struct ex *x;

    while (p->running < p->m->conc && p->head && p->hold_until <= now) {
        x = p->head;
        p->head = x->next;
        if (!p->head)
            p->tail = NULL;
        if (x->job->failed || p->fatal) {
            http_drop(p, x);
            continue;
        }
        if (http_start(p, x)) {
            http_job_fail(p, x->job, HFE_ENOMEM, "could not start a request");
            http_drop(p, x);
        }
    }
}

/* Hands every finished transfer to http_ex_done. */
static void read_done(struct pump *p)
{
    CURLMsg *msg;
    int q;

    for (msg = curl_multi_info_read(p->m->multi, &q); msg;
         msg = curl_multi_info_read(p->m->multi, &q)) {
        struct ex *done = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &done);
        http_ex_done(p, done, msg->data.result);
    }
}

/* Runs every queued exchange to its end.  Returns HFE_OK, or
 * HFE_ECANCELED when the host stopped the run. */
static int pump_run(struct pump *p)
{
    struct hfe_model *m = p->m;
    int still = 0;

    for (;;) {
        double now = http_now_ms();
        double wait = wake_delayed(p, now, 500);

        if (http_host->cancelled())
            return HFE_ECANCELED;
        if (p->hold_until > now && p->hold_until - now < wait)
            wait = p->hold_until - now;
        start_ready(p, now);
        if (!p->running && !p->head && !p->delayed)
            return HFE_OK;
        curl_multi_perform(m->multi, &still);
        read_done(p);
        if (p->head && p->running < m->conc && p->hold_until <= http_now_ms())
            continue;
        if (p->running || p->delayed || p->head)
            curl_multi_poll(m->multi, NULL, 0, wait < 1 ? 1 : (int)wait, NULL);
    }
}

/* ---- what each job asks ------------------------------------------------- */

/* LOGLIK by echo: one request for context + continuation; ROLLING: for
 * the text. */
static struct ex *plan_echo(struct pump *p, struct job *j)
{
    const struct hfe_request *r = j->req;
    struct ex *x;
    char *full;

    if (r->kind == HFE_REQ_ROLLING)
        full = strdup(r->context ? r->context : "");
    else if (asprintf(&full, "%s%s", r->context ? r->context : "",
                      r->continuation ? r->continuation : "") < 0)
        full = NULL;
    x = full ? http_ex_new(p, j, EX_ECHO, "/v1/completions",
                           http_body_echo(p->m, full))
             : NULL;
    free(full);
    return x;
}

/* By forcing tokens: first /tokenize, of the context (*y) and of context
 * + continuation (*x) for LOGLIK, of the text with its pieces (*x) for
 * ROLLING.  Returns 0, or -1 when out of memory. */
static int plan_tokenize(struct pump *p, struct job *j, struct ex **x,
                         struct ex **y)
{
    const struct hfe_request *r = j->req;
    char *full;

    j->bias = true;
    if (r->kind == HFE_REQ_ROLLING) {
        *x =
            http_ex_new(p, j, EX_TOK_FULL, "/tokenize",
                        http_body_tokenize(r->context ? r->context : "", true));
        return 0;
    }
    if (asprintf(&full, "%s%s", r->context ? r->context : "",
                 r->continuation ? r->continuation : "") < 0)
        return -1;
    *y = http_ex_new(p, j, EX_TOK_CTX, "/tokenize",
                     http_body_tokenize(r->context ? r->context : "", false));
    *x = http_ex_new(p, j, EX_TOK_FULL, "/tokenize",
                     http_body_tokenize(full, false));
    free(full);
    return 0;
}

/* Queues j's first exchanges, or fails j at once for a request this
 * backend cannot serve.  Returns 0, or -1 when out of memory. */
static int job_plan(struct pump *p, struct job *j)
{
    const struct hfe_request *r = j->req;
    const char *path = NULL;
    struct ex *x = NULL, *y = NULL;

    switch (r->kind) {
    case HFE_REQ_GENERATE: {
        char *b = http_body_gen(p->m, r, &path);

        x = http_ex_new(p, j, EX_GEN, path, b);
        break;
    }
    case HFE_REQ_LOGLIK:
    case HFE_REQ_ROLLING:
        if (r->kind == HFE_REQ_ROLLING &&
            (r->top_k || (r->flags & HFE_REQF_PPL_WINDOWS) || r->n_ctx)) {
            http_job_fail(p, j, HFE_ENOTSUP,
                          "the http backend scores a text whole: no windows "
                          "and no top-k log-probabilities");
            return 0;
        }
        if (p->m->ll == LL_ECHO)
            x = plan_echo(p, j);
        else if (plan_tokenize(p, j, &x, &y) != 0)
            return -1;
        break;
    default:
        http_job_fail(p, j, HFE_ENOTSUP, "unknown request kind %u", r->kind);
        return 0;
    }
    if (!x || !x->body || (j->bias && r->kind == HFE_REQ_LOGLIK && !y) ||
        (y && !y->body)) {
        http_ex_free(x);
        http_ex_free(y);
        return -1;
    }
    if (y)
        http_push_back(p, y);
    http_push_back(p, x);
    return 0;
}

/* ---- a batch ------------------------------------------------------------ */

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* One item, for HFE_REQF_CHOICE_PREFIX: task, doc_id and context. */
static bool same_item(const struct hfe_request *a, const struct hfe_request *b)
{
    return a->doc_id == b->doc_id && same_str(a->task, b->task) &&
           same_str(a->item_id, b->item_id) && same_str(a->context, b->context);
}

/* A job per request; with logit_bias, the choices of one CHOICE_PREFIX
 * item (in a row) form a group under its first. */
static void make_jobs(struct pump *p)
{
    const struct hfe_batch *b = p->b;
    size_t i;

    for (i = 0; i < b->n; i++) {
        struct job *j = &p->jobs[i], *prev = i ? &p->jobs[i - 1] : NULL;

        j->req = b->req[i];
        j->res = b->res[i];
        j->index = i;
        if (p->m->ll == LL_BIAS && j->req->kind == HFE_REQ_LOGLIK &&
            (j->req->flags & HFE_REQF_CHOICE_PREFIX)) {
            if (prev && prev->lead && same_item(prev->req, j->req)) {
                j->lead = prev->lead;
                prev->g_next = j;
            } else {
                j->lead = j;
            }
            j->lead->g_n++;
        }
    }
}

/* Plans every job.  Returns HFE_OK, or HFE_ENOMEM. */
static int plan_jobs(struct pump *p)
{
    size_t i;

    for (i = 0; i < p->b->n; i++) {
        struct job *j = &p->jobs[i];

        if (j->lead && j->lead->g_n < 2)
            j->lead = NULL; /* a lone choice keeps its own boundary */
        if (job_plan(p, j) != 0)
            return HFE_ENOMEM;
        if (j->lead)
            j->pending++;     /* held until the whole item is tokenized */
        else if (!j->pending) /* refused at once */
            http_job_finish(p, j);
    }
    return HFE_OK;
}

/* Whatever is still open stops here. */
static void abandon(struct pump *p)
{
    struct ex *x, *nx;

    cancel_all(p);
    for (x = p->active; x; x = nx) {
        nx = x->anext;
        curl_multi_remove_handle(p->m->multi, x->h);
        curl_easy_cleanup(x->h);
        http_ex_free(x);
    }
    p->active = NULL;
}

/* Every job not finished fails with rc's reason; the jobs' memory goes.
 * Returns the batch's status. */
static int end_jobs(struct pump *p, int rc)
{
    size_t i;

    for (i = 0; i < p->b->n; i++) {
        struct job *j = &p->jobs[i];

        if (!j->finished) {
            http_set_err(j->res,
                         rc == HFE_ECANCELED ? HFE_ECANCELED : HFE_EBACKEND,
                         rc == HFE_ECANCELED ? "cancelled" : "not run");
        }
        free(j->ctx);
        free(j->full);
        free(j->pbytes);
        free(j->lp);
        free(j->greedy);
        http_buf_free(&j->text);
    }
    if (p->fatal && rc == HFE_OK) {
        http_host->log(HFE_LOG_ERROR, "http", "%s", p->fatal_msg);
        rc = HFE_EIO;
    }
    return rc;
}

int http_submit(struct hfe_model *m, const struct hfe_batch *b)
{
    struct pump p = {.m = m, .b = b};
    int rc;

    if (!b->n)
        return HFE_OK;
    p.jobs = calloc(b->n, sizeof(*p.jobs));
    if (!p.jobs)
        return HFE_ENOMEM;
    make_jobs(&p);
    rc = plan_jobs(&p);
    if (rc == HFE_OK)
        rc = pump_run(&p);
    if (rc != HFE_OK)
        abandon(&p);
    rc = end_jobs(&p, rc);
    free(p.jobs);
    return rc;
}
