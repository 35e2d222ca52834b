/*
 * score.c - log-likelihoods with llama.cpp: HFE_REQ_LOGLIK (a continuation
 * given a context) and HFE_REQ_ROLLING (a whole text, windowed).
 *
 * Everything goes through one mechanism, the plan: a list of tokens, each
 * with its position and the sequences it belongs to, some of them marked
 * as outputs, and a list of targets (an output row and the token it should
 * predict).  A plan is made to fit the KV cache (every token one cell; the
 * cache is unified, so a token shared by several sequences takes one cell)
 * and is decoded n_batch tokens at a time.  Only the target tokens'
 * log-probabilities are kept: nothing holds vocabulary x context logits.
 *
 * LOGLIK tokenization.  The full text (context + continuation) is
 * tokenized once, with the model's BOS; so is the context.  The scored
 * tokens are those after the longest common token prefix of the two (the
 * context's own length when it is a prefix, which it is unless a token
 * straddles the boundary, and then that token is scored).  An empty
 * context on a model without BOS gets BOS or EOS as its first token, as
 * lm-evaluation-harness does.  A text longer than the window loses tokens
 * from its start.  With HFE_REQF_CHOICE_PREFIX the requests of one item
 * (same task, doc_id and context) are scored after the token prefix that
 * all their full texts share, which is how llama-perplexity --hellaswag
 * scores.  Requests with the same context share its evaluation: the
 * prefix common to them is decoded once, on all their sequences.
 *
 * ROLLING windows.  By default, lm-evaluation-harness's rolling windows
 * (context length 1): every token is scored exactly once, the first from
 * BOS, in windows of n_ctx tokens.  With HFE_REQF_PPL_WINDOWS,
 * llama-perplexity's: the text (with BOS) is cut into whole chunks of
 * n_ctx tokens, the first token of each replaced by BOS, and the second
 * half of each chunk is scored (n_ctx/2 ... n_ctx-2 predicting the next).
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* ---- the plan ----------------------------------------------------------- */

struct ptok {
    llama_token tok;
    llama_pos pos;
    int32_t seq0, nseq; /* on sequences seq0 .. seq0 + nseq - 1 */
    bool out;           /* its logits are read */
};

struct tgt {
    uint32_t at;     /* plan token whose logits predict it */
    llama_token tok; /* the token predicted */
    uint32_t req;    /* the caller's request */
    uint32_t slot;   /* its place among that request's scored tokens */
};

struct plan {
    struct ptok *t;
    size_t n, cap;
    struct tgt *g;
    size_t ng, gcap;
    int32_t n_seqs;
};

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 64;

    if (need <= *cap)
        return p;
    while (c < need)
        c *= 2;
    p = realloc(p, c * size);
    if (!p) {
        fprintf(stderr, "hfe-llama: out of memory\n");
        abort();
    }
    *cap = c;
    return p;
}

static uint32_t plan_tok(struct plan *p, llama_token tok, llama_pos pos,
                         int32_t seq0, int32_t nseq)
{
    p->t = grow(p->t, &p->cap, p->n + 1, sizeof(*p->t));
    p->t[p->n] = (struct ptok){tok, pos, seq0, nseq, false};
    return (uint32_t)p->n++;
}

static void plan_tgt(struct plan *p, uint32_t at, llama_token tok, uint32_t req,
                     uint32_t slot)
{
    p->g = grow(p->g, &p->gcap, p->ng + 1, sizeof(*p->g));
    p->g[p->ng++] = (struct tgt){at, tok, req, slot};
    p->t[at].out = true;
}

static void plan_reset(struct plan *p)
{
    p->n = p->ng = 0;
    p->n_seqs = 0;
}

static void plan_free(struct plan *p)
{
    free(p->t);
    free(p->g);
    memset(p, 0, sizeof(*p));
}

static int cmp_tgt(const void *a, const void *b)
{
    const struct tgt *x = a, *y = b;

    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->req != y->req)
        return x->req < y->req ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* What a row of logits says about one target. */
struct row {
    const float *logits;
    float max;
    double lse; /* log sum exp(logit - max) */
    int32_t argmax;
};

/*
 * exp(x) for x <= 0, in arithmetic the compiler vectorizes: 2^n * 2^f with
 * n = round(x log2 e) and a degree-6 polynomial for 2^f on [-1/2, 1/2];
 * within 2 ulp of expf, and 0 below -87 (where expf is denormal or 0).
 */
static inline float exp_neg(float x)
{
    float t = x * 1.44269504088896341f, n, f, p;
    int32_t e;
    uint32_t bits;
    float r;

    t = t < -126.0f ? -126.0f : t;
    n = __builtin_roundevenf(t);
    f = t - n;
    p = 1.535336188319500e-4f;
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.0f;
    e = (int32_t)n;
    memcpy(&bits, &p, sizeof(bits));
    bits += (uint32_t)e << 23;
    memcpy(&r, &bits, sizeof(r));
    return x < -87.0f ? 0.0f : r;
}

/* Max, then the sum of exponentials in a fixed order (vector lanes as the
 * build lays them out, never the batch): a row's result stays the same
 * whatever else is decoded with it. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* one build for every x86-64: the loader picks the widest vectors */
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void
row_stats(struct row *r, const float *logits, int32_t n_vocab)
{
    float mx = logits[0];
    double sum = 0;
    int32_t i, am = 0;

#pragma omp simd reduction(max : mx)
    for (i = 1; i < n_vocab; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    while (am < n_vocab - 1 && logits[am] != mx) /* the first largest */
        am++;
#pragma omp simd reduction(+ : sum)
    for (i = 0; i < n_vocab; i++)
        sum += exp_neg(logits[i] - mx);
    r->logits = logits;
    r->max = mx;
    r->lse = log(sum);
    r->argmax = am;
}

static double row_logprob(const struct row *r, llama_token t)
{
    return (double)r->logits[t] - r->max - r->lse;
}

typedef void (*on_target_fn)(void *ud, const struct tgt *g,
                             const struct row *r);

/* Row statistics of one decode's outputs, shared among threads: the
 * exponentials are most of the work past the model itself.  Each row is
 * computed whole by one thread, so the results do not depend on how many
 * there are. */
struct rowjob {
    struct row *rows;
    size_t n;
    int32_t n_vocab;
    int stride, first;
};

static void *row_worker(void *arg)
{
    struct rowjob *j = arg;
    size_t i;

    for (i = (size_t)j->first; i < j->n; i += (size_t)j->stride)
        row_stats(&j->rows[i], j->rows[i].logits, j->n_vocab);
    return NULL;
}

static void rows_compute(struct row *rows, size_t n, int32_t n_vocab,
                         int threads)
{
    pthread_t tid[64];
    struct rowjob job[64];
    int t, started = 0;

    if (threads > 64)
        threads = 64;
    if (threads > (int)n)
        threads = (int)n;
    for (t = 0; t < threads; t++)
        job[t] = (struct rowjob){rows, n, n_vocab, threads, t};
    for (t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, row_worker, &job[t]) != 0)
            break;
        started = t;
    }
    if (started + 1 < threads) { /* could not start them all: do the rest */
        for (t = started + 1; t < threads; t++)
            row_worker(&job[t]);
    }
    if (threads > 0)
        row_worker(&job[0]);
    for (t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
}

/*
 * Decodes a plan and calls on_target for each target, in plan order.
 * Returns 0, or a negative status with the reason in err.
 */
static int plan_run(struct hfe_model *m, struct plan *p, on_target_fn fn,
                    void *ud, char *err, size_t err_size)
{
    struct llama_batch *b = &m->batch;
    struct row *rows = malloc(m->n_batch * sizeof(*rows));
    size_t start, gi = 0;
    double t0 = eng_now_ms();

    if (!rows) {
        snprintf(err, err_size, "out of memory");
        return HFE_ENOMEM;
    }
    qsort(p->g, p->ng, sizeof(*p->g), cmp_tgt);
    /* cells only: the data of empty cells is masked, never read */
    llama_memory_clear(llama_get_memory(m->ctx), false);
    for (start = 0; start < p->n;) {
        size_t end = start + m->n_batch < p->n ? start + m->n_batch : p->n;
        size_t i, nr = 0, ri = 0;
        bool padded;
        int32_t rc;

        /* no short last chunk: see ENG_MIN_ROWS */
        if (end < p->n && p->n - end < ENG_MIN_ROWS)
            end = p->n - ENG_MIN_ROWS;

        b->n_tokens = 0;
        for (i = start; i < end; i++) {
            const struct ptok *t = &p->t[i];
            int32_t k = b->n_tokens++, s;

            b->token[k] = t->tok;
            b->pos[k] = t->pos;
            b->n_seq_id[k] = t->nseq;
            for (s = 0; s < t->nseq; s++)
                b->seq_id[k][s] = t->seq0 + s;
            b->logits[k] = t->out;
        }
        padded = eng_pad(m);
        rc = llama_decode(m->ctx, *b);
        if (padded)
            eng_unpad(m);
        if (rc != 0) {
            snprintf(err, err_size,
                     "llama_decode failed (%d) on %d tokens of %d sequences",
                     (int)rc, b->n_tokens, p->n_seqs);
            free(rows);
            return rc == 2 ? HFE_ECANCELED : HFE_EBACKEND;
        }
        for (i = start; i < end; i++)
            if (p->t[i].out)
                rows[nr++].logits =
                    llama_get_logits_ith(m->ctx, (int32_t)(i - start));
        rows_compute(rows, nr, m->n_vocab, m->n_threads);
        for (i = start; i < end; i++) {
            if (!p->t[i].out)
                continue;
            while (gi < p->ng && p->g[gi].at < i)
                gi++;
            for (; gi < p->ng && p->g[gi].at == i; gi++)
                fn(ud, &p->g[gi], &rows[ri]);
            ri++;
        }
        start = end;
    }
    free(rows);
    m->n_scored += p->n;
    m->score_ms += eng_now_ms() - t0;
    return 0;
}

static bool cancelled(void)
{
    return eng_host->cancelled && eng_host->cancelled();
}

/* ---- LOGLIK ------------------------------------------------------------- */

struct lreq {
    const struct hfe_request *req;
    struct hfe_result *res;
    size_t index;   /* in the host's batch */
    llama_token *w; /* full text */
    int32_t nw;
    int32_t k; /* first scored token */
    double lp;
    bool greedy;
    bool done;
    double t0;
};

static int32_t common_prefix(const llama_token *a, int32_t na,
                             const llama_token *b, int32_t nb)
{
    int32_t i = 0;

    while (i < na && i < nb && a[i] == b[i])
        i++;
    return i;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Same item for HFE_REQF_CHOICE_PREFIX: task, doc_id and context. */
static bool same_item(const struct hfe_request *a, const struct hfe_request *b)
{
    return a->doc_id == b->doc_id && same_str(a->task, b->task) &&
           same_str(a->item_id, b->item_id) && same_str(a->context, b->context);
}

static void finish(const struct hfe_batch *b, struct lreq *q)
{
    if (q->done)
        return;
    q->done = true;
    if (b->done)
        b->done(b->ud, q->index);
}

/* Tokenizes one request and finds its boundary.  Returns false (result
 * filled) when it cannot be scored or needs no decoding. */
static bool prepare(struct hfe_model *m, struct lreq *q)
{
    const struct hfe_request *r = q->req;
    llama_token *c = NULL;
    int32_t nc;
    char *full;
    size_t lc = strlen(r->context ? r->context : "");
    size_t lk = strlen(r->continuation ? r->continuation : "");

    full = malloc(lc + lk + 1);
    if (!full) {
        eng_fail(q->res, HFE_ENOMEM, "out of memory");
        return false;
    }
    memcpy(full, r->context ? r->context : "", lc);
    memcpy(full + lc, r->continuation ? r->continuation : "", lk + 1);
    q->nw = eng_tokenize(m, full, true, false, &q->w);
    nc = eng_tokenize(m, r->context ? r->context : "", true, false, &c);
    free(full);
    if (q->nw < 0 || nc < 0) {
        free(c);
        eng_fail(q->res, HFE_EBACKEND, "tokenization failed");
        return false;
    }
    q->k = common_prefix(c, nc, q->w, q->nw);
    free(c);
    if (q->k == 0) { /* nothing to predict the first token from */
        llama_token pre =
            m->bos != LLAMA_TOKEN_NULL ? m->bos : llama_vocab_eos(m->vocab);
        llama_token *w = realloc(q->w, (size_t)(q->nw + 1) * sizeof(*w));

        if (!w) {
            eng_fail(q->res, HFE_ENOMEM, "out of memory");
            return false;
        }
        memmove(w + 1, w, (size_t)q->nw * sizeof(*w));
        w[0] = pre;
        q->w = w;
        q->nw++;
        q->k = 1;
    }
    q->lp = 0;
    q->greedy = true;
    return true;
}

/* A text longer than the window keeps its end.  Returns false (result
 * filled) when the scored tokens alone do not fit. */
static bool fit_window(struct hfe_model *m, struct lreq *q)
{
    int32_t d = q->nw - (int32_t)m->n_window;

    if (d <= 0)
        return true;
    if (q->k - d < 1) {
        eng_fail(q->res, HFE_ETOOLONG,
                 "the continuation (%d tokens) does not fit the window of %u "
                 "tokens",
                 q->nw - q->k, m->n_window);
        return false;
    }
    memmove(q->w, q->w + d, (size_t)(q->nw - d) * sizeof(*q->w));
    q->nw -= d;
    q->k -= d;
    return true;
}

static void on_loglik(void *ud, const struct tgt *g, const struct row *r)
{
    struct lreq *q = (struct lreq *)ud + g->req;

    q->lp += row_logprob(r, g->tok);
    if (r->argmax != g->tok)
        q->greedy = false;
}

static int cmp_str0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* By context, then item (task, doc_id, item_id), then the host's order:
 * a context's requests side by side, an item's choices together. */
static int cmp_context(const void *a, const void *b)
{
    const struct hfe_request *x = (*(struct lreq *const *)a)->req;
    const struct hfe_request *y = (*(struct lreq *const *)b)->req;
    size_t xi = (*(struct lreq *const *)a)->index;
    size_t yi = (*(struct lreq *const *)b)->index;
    int c = cmp_str0(x->context, y->context);

    if (!c)
        c = cmp_str0(x->task, y->task);
    if (!c && x->doc_id != y->doc_id)
        c = x->doc_id < y->doc_id ? -1 : 1;
    if (!c)
        c = cmp_str0(x->item_id, y->item_id);
    if (!c)
        c = xi < yi ? -1 : xi > yi;
    return c;
}

/* Adds requests g[0..n) (one context) to the plan, sharing their common
 * prefix on consecutive sequences. */
static void plan_group(struct plan *p, struct lreq *base, struct lreq **g,
                       size_t n)
{
    int32_t np = g[0]->nw, seq0 = p->n_seqs, j;
    size_t i;
    uint32_t pre0 = (uint32_t)p->n;

    for (i = 1; i < n; i++)
        np = common_prefix(g[0]->w, np, g[i]->w, g[i]->nw);
    for (j = 0; j < np; j++)
        plan_tok(p, g[0]->w[j], j, seq0, (int32_t)n);
    for (i = 0; i < n; i++) {
        struct lreq *q = g[i];
        uint32_t own0 = (uint32_t)p->n, req = (uint32_t)(q - base);

        /* the last token predicts nothing: it is not decoded */
        for (j = np; j < q->nw - 1; j++)
            plan_tok(p, q->w[j], j, seq0 + (int32_t)i, 1);
        for (j = q->k; j < q->nw; j++) {
            uint32_t at = j - 1 < np ? pre0 + (uint32_t)(j - 1)
                                     : own0 + (uint32_t)(j - 1 - np);

            plan_tgt(p, at, q->w[j], req, (uint32_t)(j - q->k));
        }
    }
    p->n_seqs += (int32_t)n;
}

/* Cells and the shared prefix length a group would take. */
static size_t group_cells(struct lreq **g, size_t n)
{
    int32_t np = g[0]->nw;
    size_t i, cells;

    for (i = 1; i < n; i++)
        np = common_prefix(g[0]->w, np, g[i]->w, g[i]->nw);
    cells = (size_t)np;
    for (i = 0; i < n; i++)
        if (g[i]->nw - 1 > np)
            cells += (size_t)(g[i]->nw - 1 - np);
    return cells;
}

/* Runs the plan and hands out the results of requests q[0..n). */
static int flush(struct hfe_model *m, const struct hfe_batch *b, struct plan *p,
                 struct lreq *base, struct lreq **q, size_t n)
{
    char err[256];
    double t1;
    size_t i;
    int rc;

    if (!n)
        return 0;
    rc = plan_run(m, p, on_loglik, base, err, sizeof(err));
    t1 = eng_now_ms();
    for (i = 0; i < n; i++) {
        struct hfe_result *r = q[i]->res;

        if (rc) {
            eng_fail(r, rc, "%s", err);
        } else {
            r->status = HFE_OK;
            r->logprob = q[i]->lp;
            r->is_greedy = q[i]->greedy;
            r->n_tokens = (uint32_t)(q[i]->nw - q[i]->k);
            r->n_prompt_tokens = (uint32_t)q[i]->nw;
            r->t_total_ms = t1 - q[i]->t0;
        }
        finish(b, q[i]);
    }
    plan_reset(p);
    return rc == HFE_EBACKEND ? rc : 0;
}

int eng_loglik(struct hfe_model *m, const struct hfe_batch *b,
               const size_t *idx, size_t n)
{
    struct lreq *q = calloc(n ? n : 1, sizeof(*q));
    struct lreq **ord = calloc(n ? n : 1, sizeof(*ord));
    struct lreq **inplan = calloc(n ? n : 1, sizeof(*inplan));
    struct plan p = {0};
    size_t i, j, n_ord = 0, n_in = 0, cells = 0;
    int rc = HFE_OK;

    if (!q || !ord || !inplan) {
        free(q);
        free(ord);
        free(inplan);
        return HFE_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        q[i].req = b->req[idx[i]];
        q[i].res = b->res[idx[i]];
        q[i].index = idx[i];
        q[i].t0 = eng_now_ms();
        if (!prepare(m, &q[i])) {
            finish(b, &q[i]);
            continue;
        }
        ord[n_ord++] = &q[i];
    }
    /* Requests with one context side by side, so they share its prefix;
     * one item's choices are then neighbours too. */
    qsort(ord, n_ord, sizeof(*ord), cmp_context);
    for (i = 0; i < n_ord; i = j) {
        int32_t k = ord[i]->nw;

        for (j = i + 1; j < n_ord && same_item(ord[i]->req, ord[j]->req); j++)
            k = common_prefix(ord[i]->w, k, ord[j]->w, ord[j]->nw);
        if (!(ord[i]->req->flags & HFE_REQF_CHOICE_PREFIX) || j == i + 1)
            continue;
        /* score after the prefix all the item's texts share; a choice
         * that lies inside it scores nothing; without a shared first
         * token, each keeps its own boundary */
        if (k >= 1)
            for (size_t c = i; c < j; c++)
                ord[c]->k = k < ord[c]->nw ? k : ord[c]->nw;
    }
    /* too long for the window: keep the end (after the choice prefix was
     * found on the whole texts) */
    for (i = j = 0; i < n_ord; i++) {
        if (fit_window(m, ord[i]))
            ord[j++] = ord[i];
        else
            finish(b, ord[i]);
    }
    n_ord = j;
    for (i = 0; i < n_ord && rc == HFE_OK;) {
        size_t g = 1, need;

        while (i + g < n_ord &&
               same_str(ord[i]->req->context, ord[i + g]->req->context))
            g++;
        /* A group too big for the cache or the sequences goes in parts. */
        while (g > 1 && (group_cells(ord + i, g) > m->n_cells || g > m->n_seq))
            g = (g + 1) / 2;
        need = group_cells(ord + i, g);
        if (n_in &&
            (cells + need > m->plan_cells || (size_t)p.n_seqs + g > m->n_seq)) {
            rc = flush(m, b, &p, q, inplan, n_in);
            n_in = cells = 0;
            if (rc)
                break;
        }
        if (cancelled()) {
            rc = HFE_ECANCELED;
            break;
        }
        plan_group(&p, q, ord + i, g);
        for (j = 0; j < g; j++)
            inplan[n_in++] = ord[i + j];
        cells += need;
        i += g;
    }
    if (rc == HFE_OK)
        rc = flush(m, b, &p, q, inplan, n_in);
    for (i = 0; i < n; i++) {
        if (!q[i].done) { /* cancelled or failed before its turn */
            eng_fail(q[i].res, rc == HFE_OK ? HFE_ECANCELED : rc,
                     "not scored: %s",
                     rc == HFE_ECANCELED ? "cancelled" : "the batch failed");
            if (rc != HFE_ECANCELED)
                finish(b, &q[i]);
        }
        free(q[i].w);
    }
    plan_free(&p);
    free(q);
    free(ord);
    free(inplan);
    return rc == HFE_ECANCELED ? HFE_OK : rc;
}

/* ---- ROLLING ------------------------------------------------------------ */

struct rreq {
    const struct hfe_request *req;
    struct hfe_result *res;
    size_t index;
    uint32_t n_targets; /* scored tokens                              */
    uint32_t pending;   /* windows not run yet                        */
    uint32_t k;         /* top-k per position (n_vocab: all, in order) */
    double lp;
    uint64_t n_bytes;
    bool done;
    double t0;
};

/* One window: tokens decoded on one sequence, and which of its rows
 * predict what. */
struct window {
    uint32_t req;
    const llama_token *in; /* the tokens decoded, from row `shift` on   */
    int32_t n;             /* rows                                      */
    llama_token first;     /* row 0, or LLAMA_TOKEN_NULL: in[0]         */
    int32_t shift;         /* 1: first is prepended; 0: it replaces     */
    int32_t row0;          /* rows row0 .. n-1 predict targets          */
    const llama_token *tg; /* the n - row0 tokens predicted             */
    uint32_t slot0;        /* their place among the request's targets   */
};

struct rctx {
    struct hfe_model *m;
    struct rreq *q;
};

static float *alloc_floats(size_t n)
{
    return eng_host->alloc(n ? n * sizeof(float) : 1);
}

static void on_rolling(void *ud, const struct tgt *g, const struct row *r)
{
    struct rctx *c = ud;
    struct rreq *q = c->q + g->req;
    struct hfe_result *res = q->res;
    int32_t nv = c->m->n_vocab;
    double lp = row_logprob(r, g->tok);
    uint32_t i, k = q->k;

    q->lp += lp;
    if (res->token_logprobs)
        res->token_logprobs[g->slot] = (float)lp;
    if (!k || !res->topk_logprobs)
        return;
    if (k >= (uint32_t)nv) { /* the whole distribution, in vocab order */
        float *d = res->topk_logprobs + (size_t)g->slot * (size_t)nv;
        float sub = (float)(r->max + r->lse);

        for (i = 0; i < (uint32_t)nv; i++)
            d[i] = r->logits[i] - sub;
        return;
    }
    /* the k best, best first: insertion into a sorted list of k */
    {
        int32_t *ids = res->topk_ids + (size_t)g->slot * k;
        float *lps = res->topk_logprobs + (size_t)g->slot * k;
        uint32_t have = 0;
        int32_t t;

        for (t = 0; t < nv; t++) {
            float v = r->logits[t];
            uint32_t at;

            if (have == k && v <= lps[k - 1])
                continue;
            at = have < k ? have++ : k - 1;
            while (at > 0 && lps[at - 1] < v) {
                lps[at] = lps[at - 1];
                ids[at] = ids[at - 1];
                at--;
            }
            lps[at] = v;
            ids[at] = t;
        }
        for (i = 0; i < have; i++)
            lps[i] = (float)((double)lps[i] - r->max - r->lse);
    }
}

static int64_t piece_bytes(struct hfe_model *m, llama_token t)
{
    char buf[256];
    int32_t n = llama_token_to_piece(m->vocab, t, buf, sizeof(buf), 0, false);

    return n < 0 ? -n : n;
}

/*
 * Cuts request q's tokens into windows (appended to *w).  Returns the
 * number of targets, or -1 (result filled) when the text is too short.
 */
static int64_t make_windows(struct hfe_model *m, struct rreq *q, uint32_t req,
                            const llama_token *t, int32_t nt, struct window **w,
                            size_t *nw, size_t *cap)
{
    uint32_t L = q->req->n_ctx ? q->req->n_ctx : m->n_window;
    int64_t n_tg = 0;

    if (L > m->n_window || L > m->n_cells || L < 2) {
        eng_fail(q->res, HFE_EINVAL,
                 "window of %u tokens: this model's context holds 2 to %u", L,
                 m->n_window < m->n_cells ? m->n_window : m->n_cells);
        return -1;
    }
    if (q->req->flags & HFE_REQF_PPL_WINDOWS) {
        int32_t c, n_chunk = nt / (int32_t)L, first = (int32_t)L / 2;

        if (n_chunk < 1) {
            eng_fail(q->res, HFE_ETOOLONG,
                     "the text has %d tokens, a window of %u needs at least "
                     "that many",
                     nt, L);
            return -1;
        }
        for (c = 0; c < n_chunk; c++) {
            *w = grow(*w, cap, *nw + 1, sizeof(**w));
            (*w)[(*nw)++] = (struct window){
                .req = req,
                .in = t + (size_t)c * L,
                .n = (int32_t)L - 1, /* the last token predicts nothing */
                .first = m->add_bos ? m->bos : LLAMA_TOKEN_NULL,
                .row0 = first,
                .tg = t + (size_t)c * L + first + 1,
                .slot0 = (uint32_t)n_tg,
            };
            n_tg += (int64_t)L - first - 1;
        }
        return n_tg;
    }
    /* lm-evaluation-harness's rolling windows, context length 1: every
     * token once, the first predicted from the prefix token. */
    {
        int32_t done = 0;

        while (done < nt) {
            int32_t pred = nt - done < (int32_t)L ? nt - done : (int32_t)L;
            int32_t end = done + pred;

            *w = grow(*w, cap, *nw + 1, sizeof(**w));
            if (done ==
                0) /* [prefix] + t[0 .. pred-1), predicting t[0..pred) */
                (*w)[*nw] = (struct window){
                    .req = req,
                    .in = t,
                    .n = pred,
                    .shift = 1,
                    .first = m->bos != LLAMA_TOKEN_NULL
                                 ? m->bos
                                 : llama_vocab_eos(m->vocab),
                    .row0 = 0,
                    .tg = t,
                    .slot0 = 0,
                };
            else /* the L tokens before end, predicting the last pred */
                (*w)[*nw] = (struct window){
                    .req = req,
                    .in = t + end - (int32_t)L - 1,
                    .n = (int32_t)L,
                    .first = LLAMA_TOKEN_NULL,
                    .row0 = (int32_t)L - pred,
                    .tg = t + end - pred,
                    .slot0 = (uint32_t)done,
                };
            (*nw)++;
            done = end;
        }
        return nt;
    }
}

static void plan_window(struct plan *p, const struct window *w)
{
    int32_t seq = p->n_seqs++, j;
    uint32_t at0 = (uint32_t)p->n;

    for (j = 0; j < w->n; j++)
        plan_tok(p,
                 j == 0 && w->first != LLAMA_TOKEN_NULL ? w->first
                                                        : w->in[j - w->shift],
                 j, seq, 1);
    for (j = w->row0; j < w->n; j++)
        plan_tgt(p, at0 + (uint32_t)j, w->tg[j - w->row0], w->req,
                 w->slot0 + (uint32_t)(j - w->row0));
}

static bool alloc_rolling(struct hfe_model *m, struct rreq *q)
{
    struct hfe_result *r = q->res;
    size_t n = q->n_targets;

    r->token_logprobs = alloc_floats(n);
    if (!r->token_logprobs)
        return false;
    if (!q->k)
        return true;
    if (q->k >= (uint32_t)m->n_vocab) {
        q->k = (uint32_t)m->n_vocab;
        r->topk_logprobs = alloc_floats(n * q->k);
        return r->topk_logprobs != NULL;
    }
    r->topk_logprobs = alloc_floats(n * q->k);
    r->topk_ids = eng_host->alloc(n * q->k * sizeof(int32_t) + 1);
    return r->topk_logprobs && r->topk_ids;
}

static void rolling_done(const struct hfe_batch *b, struct rreq *q, int rc,
                         const char *err)
{
    struct hfe_result *r = q->res;

    if (q->done)
        return;
    q->done = true;
    if (rc) {
        eng_fail(r, rc, "%s", err);
    } else {
        r->status = HFE_OK;
        r->logprob = q->lp;
        r->n_tokens = q->n_targets;
        r->n_bytes = q->n_bytes;
        r->top_k = q->k;
        r->is_greedy = 0;
        r->t_total_ms = eng_now_ms() - q->t0;
    }
    if (b->done)
        b->done(b->ud, q->index);
}

int eng_rolling(struct hfe_model *m, const struct hfe_batch *b,
                const size_t *idx, size_t n)
{
    struct rreq *q = calloc(n ? n : 1, sizeof(*q));
    llama_token **toks = calloc(n ? n : 1, sizeof(*toks));
    struct window *w = NULL;
    size_t nw = 0, wcap = 0, i, wi, wdone, cells = 0;
    struct rctx rc_ud = {m, q};
    struct plan p = {0};
    char err[256] = "";
    int rc = HFE_OK;

    if (!q || !toks) {
        free(q);
        free(toks);
        return HFE_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        const struct hfe_request *r = b->req[idx[i]];
        bool ppl = r->flags & HFE_REQF_PPL_WINDOWS;
        int32_t nt;
        int64_t ntg;
        size_t w0 = nw, j;

        q[i].req = r;
        q[i].res = b->res[idx[i]];
        q[i].index = idx[i];
        q[i].t0 = eng_now_ms();
        q[i].k = r->top_k;
        nt =
            eng_tokenize(m, r->context ? r->context : "", ppl, false, &toks[i]);
        if (nt < 0) {
            rolling_done(b, &q[i], HFE_EBACKEND, "tokenization failed");
            continue;
        }
        ntg = make_windows(m, &q[i], (uint32_t)i, toks[i], nt, &w, &nw, &wcap);
        if (ntg < 0) {
            q[i].done = true;
            if (b->done)
                b->done(b->ud, q[i].index);
            continue;
        }
        q[i].n_targets = (uint32_t)ntg;
        for (j = w0; j < nw; j++)
            for (int32_t t = 0; t < w[j].n - w[j].row0; t++)
                q[i].n_bytes += (uint64_t)piece_bytes(m, w[j].tg[t]);
        if (!alloc_rolling(m, &q[i])) {
            nw = w0;
            rolling_done(b, &q[i], HFE_ENOMEM, "out of memory");
        }
    }
    /* Windows in order; a request is complete once its last window has
     * run (windows of one request are consecutive). */
    for (wi = 0; wi < nw; wi++)
        q[w[wi].req].pending++;
    if (cancelled())
        rc = HFE_ECANCELED;
    for (wi = 0, wdone = 0; wi <= nw && rc == HFE_OK; wi++) {
        bool last = wi == nw;

        if (last || (p.n && (cells + (size_t)w[wi].n > m->plan_cells ||
                             (uint32_t)p.n_seqs + 1 > m->n_seq))) {
            if (p.n) {
                rc = plan_run(m, &p, on_rolling, &rc_ud, err, sizeof(err));
                plan_reset(&p);
                cells = 0;
            }
            for (; wdone < wi && rc == HFE_OK; wdone++)
                if (--q[w[wdone].req].pending == 0)
                    rolling_done(b, &q[w[wdone].req], HFE_OK, NULL);
            if (last)
                break;
            if (cancelled())
                rc = HFE_ECANCELED;
            if (rc)
                break;
        }
        plan_window(&p, &w[wi]);
        cells += (size_t)w[wi].n;
    }
    /* requests with no window (no tokens to score) */
    for (i = 0; i < n && rc == HFE_OK; i++)
        if (!q[i].done && q[i].pending == 0)
            rolling_done(b, &q[i], HFE_OK, NULL);
    for (i = 0; i < n; i++) {
        if (!q[i].done) {
            if (rc == HFE_ECANCELED) {
                eng_fail(q[i].res, rc, "not scored: cancelled");
                q[i].done = true;
            } else {
                rolling_done(b, &q[i], rc ? rc : HFE_EBACKEND,
                             err[0] ? err : "not scored");
            }
        }
        free(toks[i]);
    }
    plan_free(&p);
    free(w);
    free(q);
    free(toks);
    return rc == HFE_EBACKEND ? rc : HFE_OK;
}
