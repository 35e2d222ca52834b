/*
 * loglik.c - log-likelihoods over HTTP: what the answers of /tokenize, of
 * a forced token (llama-server's /completion with logit_bias) and of an
 * echo (vLLM's /v1/completions with echo and logprobs) mean for a LOGLIK
 * or ROLLING request.  The methods are described at the top of http.c.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http_int.h"

/* ---- tokens: where scoring starts, and the forcing it plans ------------- */

int http_int_array(const cJSON *a, int32_t **out, uint32_t **bytes)
{
    int n = cJSON_GetArraySize(a), i = 0;
    const cJSON *v;

    *out = NULL;
    if (bytes)
        *bytes = NULL;
    if (!cJSON_IsArray(a))
        return -1;
    if (!(*out = malloc(((size_t)n + 1) * sizeof(**out))))
        return -1;
    if (bytes && !(*bytes = calloc((size_t)n + 1, sizeof(**bytes))))
        return -1;
    cJSON_ArrayForEach(v, a)
    {
        const cJSON *id =
            cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "id") : v;
        const cJSON *pc = cJSON_GetObjectItemCaseSensitive(v, "piece");

        if (!cJSON_IsNumber(id) || id->valuedouble < 0 ||
            id->valuedouble >= 2147483647.0 ||
            id->valuedouble != floor(id->valuedouble))
            return -1;
        if (bytes) /* a piece that is not UTF-8 comes as an array of bytes */
            (*bytes)[i] = cJSON_IsString(pc) ? (uint32_t)strlen(pc->valuestring)
                          : cJSON_IsArray(pc) ? (uint32_t)cJSON_GetArraySize(pc)
                                              : 0;
        (*out)[i++] = (int32_t)id->valuedouble;
    }
    return n;
}

/* Both tokenizations are in: where scoring starts. */
static void find_k(struct pump *p, struct job *j)
{
    if (j->req->kind == HFE_REQ_ROLLING) {
        j->k = j->nfull > 0 ? 1 : 0; /* every token after BOS */
        return;
    }
    for (j->k = 0;
         j->k < j->nctx && j->k < j->nfull && j->ctx[j->k] == j->full[j->k];
         j->k++)
        ;
    if (j->k == 0 && j->nfull > 0)
        http_job_fail(
            p, j, HFE_EINVAL,
            "nothing to predict the first token from: the model adds no "
            "BOS and the context is empty");
}

/* Queues one forcing request a scored token, at the front, so that a
 * job's requests run together and the server's prompt cache serves them. */
static void plan_force(struct pump *p, struct job *j)
{
    int i;

    if (j->failed)
        return;
    if (j->nfull - j->k > 0) {
        j->lp = calloc((size_t)(j->nfull - j->k), sizeof(*j->lp));
        j->greedy = calloc((size_t)(j->nfull - j->k), sizeof(*j->greedy));
        if (!j->lp || !j->greedy) {
            http_job_fail(p, j, HFE_ENOMEM, "out of memory");
            return;
        }
    }
    for (i = j->nfull - 1; i >= j->k; i--) {
        struct ex *x = http_ex_new(p, j, EX_FORCE, "/completion",
                                   http_body_force(j->full, i));

        if (!x || !x->body) {
            if (x)
                j->pending--;
            http_ex_free(x);
            http_job_fail(p, j, HFE_ENOMEM, "out of memory");
            return;
        }
        x->pos = (uint32_t)(i - j->k);
        http_push_front(p, x);
    }
}

/* The token prefix that the full texts of an item's live choices share;
 * 0 when fewer than two are alive (a lone survivor keeps its own
 * boundary). */
static int shared_prefix(const struct job *l)
{
    const struct job *c, *first = NULL;
    int K = 0, alive = 0;

    for (c = l; c; c = c->g_next) {
        int q = 0;

        if (c->failed)
            continue;
        alive++;
        if (!first) {
            first = c;
            K = c->nfull;
        }
        while (q < K && q < c->nfull && c->full[q] == first->full[q])
            q++;
        K = q;
    }
    return alive < 2 ? 0 : K;
}

/* One choice of a CHOICE_PREFIX item has its tokens (or failed).  When
 * all have, they are scored after the prefix all their texts share (as
 * the llama backend does; without a shared first token each keeps its
 * own boundary), and each lets go of the hold job_plan gave it. */
void http_group_ready(struct pump *p, struct job *j)
{
    struct job *l = j->lead, *c;
    int K;

    if (!l || j->counted)
        return;
    j->counted = true;
    if (++l->g_ready < l->g_n)
        return;
    K = shared_prefix(l);
    for (c = l; c; c = c->g_next) {
        if (!c->failed && K >= 1)
            c->k = K < c->nfull ? K : c->nfull;
        plan_force(p, c);
    }
    for (c = l; c; c = c->g_next)
        if (--c->pending == 0)
            http_settle(p, c);
}

/* /tokenize's answer for the context or the full text.  Once the tokens
 * a job needs are in (ROLLING needs the full text's alone), where scoring
 * starts is known and the forcing requests are queued; an item's choices
 * wait for one another first. */
void http_on_tokens(struct pump *p, struct ex *x, const cJSON *o)
{
    struct job *j = x->job;
    int32_t *t;
    uint32_t *pb = NULL;
    int n = http_int_array(cJSON_GetObjectItemCaseSensitive(o, "tokens"), &t,
                           j->req->kind == HFE_REQ_ROLLING ? &pb : NULL);

    if (n < 0) {
        free(t);
        free(pb);
        http_job_fail(p, j, HFE_EBACKEND,
                      "%s/tokenize: expected {\"tokens\": [ids]}", p->m->shown);
        return;
    }
    if (x->what == EX_TOK_CTX) {
        j->ctx = t;
        j->nctx = n;
    } else {
        j->full = t;
        j->nfull = n;
        j->pbytes = pb;
    }
    if (j->full && (j->ctx || j->req->kind == HFE_REQ_ROLLING)) {
        find_k(p, j);
        if (j->lead)
            http_group_ready(p, j);
        else
            plan_force(p, j);
    }
}

/* ---- forced tokens: their answers and the sum --------------------------- */

/* ROLLING: the n scored tokens' log-probabilities, j->lp[0..n), in host
 * memory. */
static void keep_logprobs(struct pump *p, struct job *j, int n)
{
    struct hfe_result *r = j->res;
    int i;

    if (n <= 0)
        return;
    r->token_logprobs = http_host->alloc((size_t)n * sizeof(float));
    if (!r->token_logprobs) {
        http_job_fail(p, j, HFE_ENOMEM, "out of memory");
        return;
    }
    for (i = 0; i < n; i++)
        r->token_logprobs[i] = (float)j->lp[i];
}

/* All of a log-likelihood job's answers are in. */
void http_sum_loglik(struct pump *p, struct job *j)
{
    struct hfe_result *r = j->res;
    int n = j->nfull - j->k, i;

    r->logprob = 0;
    r->is_greedy = 1;
    r->n_tokens = (uint32_t)(n > 0 ? n : 0);
    if (n > 0 && (!j->lp || !j->greedy)) {
        http_job_fail(p, j, HFE_EBACKEND, "not every token was scored");
        return;
    }
    for (i = 0; i < n; i++) {
        r->logprob += j->lp[i];
        r->is_greedy &= j->greedy[i];
    }
    if (j->req->kind == HFE_REQ_ROLLING) {
        /* the scored tokens' bytes, as the llama backend counts them */
        r->n_bytes = 0;
        for (i = 0; i < n && j->pbytes; i++)
            r->n_bytes += j->pbytes[j->k + i];
        keep_logprobs(p, j, n);
    }
}

void http_on_force(struct pump *p, struct ex *x, const cJSON *o)
{
    struct job *j = x->job;
    const cJSON *a = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(o, "completion_probabilities"), 0);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(a, "logprob");
    const cJSON *top = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(a, "top_logprobs"), 0);
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(top, "id");
    int want = j->full[j->k + (int)x->pos];

    if (!cJSON_IsNumber(id) || !cJSON_IsNumber(lp) || !cJSON_IsNumber(tid)) {
        http_job_fail(
            p, j, HFE_EBACKEND,
            "%s/completion: expected completion_probabilities with id, "
            "logprob and top_logprobs (llama-server with n_probs)",
            p->m->shown);
        return;
    }
    if ((int)id->valuedouble != want) {
        http_job_fail(
            p, j, HFE_EBACKEND,
            "%s/completion: the server sampled token %d where logit_bias "
            "forced %d",
            p->m->shown, (int)id->valuedouble, want);
        return;
    }
    if (lp->valuedouble < -87.3) { /* a float probability underflows */
        http_job_fail(p, j, HFE_EBACKEND,
                      "%s/completion: token %d has log-probability %g, below "
                      "what the server's float probabilities resolve (-87.3)",
                      p->m->shown, want, lp->valuedouble);
        return;
    }
    j->lp[x->pos] = lp->valuedouble;
    j->greedy[x->pos] = (int)tid->valuedouble == want;
}

/* ---- echo: one request a continuation ----------------------------------- */

/* Characters (code points) of UTF-8 text. */
static size_t cp_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Whether t is the most likely token of its top_logprobs ({token: lp}). */
static bool is_top(const cJSON *top, const char *t)
{
    const cJSON *best = NULL, *e;

    cJSON_ArrayForEach(e, top)
    {
        if (cJSON_IsNumber(e) && (!best || e->valuedouble > best->valuedouble))
            best = e;
    }
    return !(best && best->string && strcmp(best->string, t) != 0);
}

/* The echo's tokens (logprobs) that end past lc code points and start
 * before lf, into j->lp and r's sum and greediness.  Returns how many, or
 * -1 when j failed. */
static int echo_sum(struct pump *p, struct job *j, const cJSON *lps, size_t lc,
                    size_t lf)
{
    struct hfe_result *r = j->res;
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(lps, "tokens");
    const cJSON *tlp = cJSON_GetObjectItemCaseSensitive(lps, "token_logprobs");
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(lps, "top_logprobs");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(lps, "text_offset");
    int n = cJSON_GetArraySize(toks), i, used = 0;

    if (!cJSON_IsArray(toks) || !cJSON_IsArray(tlp) || !cJSON_IsArray(off) ||
        cJSON_GetArraySize(tlp) != n || cJSON_GetArraySize(off) != n) {
        http_job_fail(p, j, HFE_EBACKEND,
                      "%s/v1/completions: expected logprobs with tokens, "
                      "token_logprobs and text_offset of equal length (echo)",
                      p->m->shown);
        return -1;
    }
    if (!(j->lp = calloc((size_t)n + 1, sizeof(*j->lp)))) {
        http_job_fail(p, j, HFE_ENOMEM, "out of memory");
        return -1;
    }
    r->logprob = 0;
    r->is_greedy = 1;
    for (i = 0; i < n; i++) {
        const char *t = cJSON_GetStringValue(cJSON_GetArrayItem(toks, i));
        const cJSON *v = cJSON_GetArrayItem(tlp, i);
        double at = cJSON_GetNumberValue(cJSON_GetArrayItem(off, i));

        if (!t || !(at >= 0))
            continue;
        if ((size_t)at >= lf) /* the generated token */
            break;
        if ((size_t)at + cp_len(t) <= lc || (lc == 0 && i == 0))
            continue; /* context; or the first token, which has no lp */
        if (!cJSON_IsNumber(v)) {
            http_job_fail(p, j, HFE_EBACKEND,
                          "%s/v1/completions: token %d of the echo has no "
                          "log-probability",
                          p->m->shown, i);
            return -1;
        }
        j->lp[used++] = v->valuedouble;
        r->logprob += v->valuedouble;
        if (!is_top(cJSON_GetArrayItem(top, i), t))
            r->is_greedy = 0;
    }
    return used;
}

/* vLLM's echo: the prompt's tokens with their offsets and log-probs; the
 * continuation is every token that ends past the context (a token across
 * the boundary counts, as the llama backend's common prefix has it). */
void http_on_echo(struct pump *p, struct ex *x, const cJSON *o)
{
    struct job *j = x->job;
    const struct hfe_request *q = j->req;
    const cJSON *ch =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0);
    /* text_offset counts characters (code points), as Python does */
    const char *cont = q->kind == HFE_REQ_ROLLING
                           ? (q->context ? q->context : "")
                           : (q->continuation ? q->continuation : "");
    size_t lc =
        q->kind == HFE_REQ_ROLLING ? 0 : cp_len(q->context ? q->context : "");
    int used = echo_sum(p, j, cJSON_GetObjectItemCaseSensitive(ch, "logprobs"),
                        lc, lc + cp_len(cont));

    if (used < 0)
        return;
    j->res->n_tokens = (uint32_t)used;
    if (!used && *cont) {
        http_job_fail(p, j, HFE_EBACKEND,
                      "%s/v1/completions: the echo holds no token of the "
                      "continuation",
                      p->m->shown);
        return;
    }
    if (q->kind == HFE_REQ_ROLLING) {
        j->res->n_bytes = strlen(cont);
        keep_logprobs(p, j, used);
    }
}
