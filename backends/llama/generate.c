/*
 * generate.c - HFE_REQ_GENERATE with llama.cpp: continuous batching.
 *
 * Up to n_seq requests are decoded together, one sequence each; every
 * llama_decode carries the next token of each running sequence plus the
 * prompts of the ones just admitted, and a finished sequence's slot takes
 * the next request at once.  A request is admitted when its prompt and its
 * token limit fit the cells the running ones have left, so no sequence
 * ever runs out of cache.  A prompt too long for the window loses tokens
 * from its start (the window keeps room for max_tokens), as
 * lm-evaluation-harness truncates.
 *
 * Samples of one prompt (pass@k's n, admitted together) decode it once:
 * the first is its leader, and each prompt token the leader feeds carries
 * the others' sequence ids too, so its cells are shared (the cache is
 * unified) and every one of them samples its first token from the
 * leader's last row; after that each decodes its own tokens.  The cells
 * and the logits are those of one prefill, so the samples equal those of
 * separate prefills up to the kernels' batch-size rounding
 * (share_prompt=off decodes each prompt on its own).
 *
 * Greedy decoding takes the first largest logit, the same rule the
 * log-likelihood code uses for is_greedy; temperature > 0 samples with
 * llama.cpp's samplers (top_p, then temperature, then a seeded draw).
 * A generation ends at an end-of-generation token (not included), at the
 * earliest stop string (cut there), or at max_tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define DEFAULT_MAX_TOKENS 256

struct slot {
    bool busy;
    size_t qi;           /* index into idx[]                             */
    llama_token *prompt; /* np tokens                                    */
    int32_t np, fed;     /* prompt tokens given to the engine so far     */
    int32_t n_past;      /* tokens in the cache for this sequence        */
    llama_token next;    /* sampled, not yet decoded                      */
    int32_t row;         /* batch row whose logits it samples, or -1     */
    int32_t lead;        /* the slot that feeds its prompt, or -1        */
    uint32_t n_gen, max;
    size_t reserve; /* cells promised to it                          */
    struct llama_sampler *smpl; /* NULL: greedy */
    char *text;
    size_t len, cap;
    double t0, t_first;
};

static int32_t argmax(const float *x, int32_t n)
{
    int32_t i, best = 0;

    for (i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static bool append(struct slot *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        char *t;

        while (cap < s->len + n + 1)
            cap *= 2;
        t = realloc(s->text, cap);
        if (!t)
            return false;
        s->text = t;
        s->cap = cap;
    }
    memcpy(s->text + s->len, p, n);
    s->len += n;
    s->text[s->len] = '\0';
    return true;
}

/* Earliest stop string in text, searching only where the last `added`
 * bytes could have completed one.  Returns its offset or -1. */
static long find_stop(const struct hfe_request *r, const char *text, size_t len,
                      size_t added)
{
    long best = -1;
    uint32_t i;

    for (i = 0; i < r->n_stop; i++) {
        const char *st = r->stop[i];
        size_t sl = st ? strlen(st) : 0, from;
        const char *hit;

        if (!sl || sl > len)
            continue;
        from = len - added > sl - 1 ? len - added - (sl - 1) : 0;
        hit = strstr(text + from, st);
        if (hit && (best < 0 || hit - text < best))
            best = hit - text;
    }
    return best;
}

/* The prompt, with the chat template applied when asked.  malloc'ed. */
static char *build_prompt(struct hfe_model *m, const struct hfe_request *r,
                          struct hfe_result *res)
{
    const char *ctx = r->context ? r->context : "";
    struct llama_chat_message msg = {"user", ctx};
    const char *tmpl;
    int32_t n;
    char *buf;

    if (!(r->flags & HFE_REQF_CHAT))
        return strdup(ctx);
    tmpl = m->chat_template ? m->chat_template
                            : llama_model_chat_template(m->model, NULL);
    if (!tmpl) {
        eng_fail(res, HFE_EINVAL,
                 "chat requested, but the model has no chat template (set "
                 "chat_template= in the model list)");
        return NULL;
    }
    n = llama_chat_apply_template(tmpl, &msg, 1, true, NULL, 0);
    if (n < 0) {
        eng_fail(res, HFE_EINVAL,
                 "llama.cpp does not know this chat template (it supports a "
                 "fixed list; name one with chat_template=)");
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (!buf)
        return NULL;
    llama_chat_apply_template(tmpl, &msg, 1, true, buf, n + 1);
    buf[n] = '\0';
    return buf;
}

/* One 32-bit seed per (seed, item, sample): samples of one item differ,
 * reruns repeat.  Never LLAMA_DEFAULT_SEED, which means "random". */
static uint32_t sample_seed(const struct hfe_model *m,
                            const struct hfe_request *r)
{
    uint64_t z = (r->seed ? r->seed : m->seed) ^
                 ((uint64_t)r->doc_id * 0x9e3779b97f4a7c15ull) ^
                 ((uint64_t)r->sample * 0xbf58476d1ce4e5b9ull);
    uint32_t s;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull; /* splitmix64's finish */
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    s = (uint32_t)(z ^ (z >> 31));
    return s == LLAMA_DEFAULT_SEED ? s - 1 : s;
}

static void slot_free(struct hfe_model *m, struct slot *s, int32_t seq)
{
    llama_memory_seq_rm(llama_get_memory(m->ctx), seq, -1, -1);
    if (s->smpl)
        llama_sampler_free(s->smpl);
    free(s->prompt);
    free(s->text);
    memset(s, 0, sizeof(*s));
}

/* Prepares request r in slot s.  Returns false (result filled) when it
 * cannot run. */
static bool admit(struct hfe_model *m, struct slot *s,
                  const struct hfe_request *r, struct hfe_result *res)
{
    uint32_t max = r->max_tokens                          ? r->max_tokens
                   : DEFAULT_MAX_TOKENS < m->n_window / 2 ? DEFAULT_MAX_TOKENS
                                                          : m->n_window / 2;
    char *prompt = build_prompt(m, r, res);
    int32_t keep;
    bool chat;

    memset(s, 0, sizeof(*s));
    s->t0 = eng_now_ms();
    if (!prompt) {
        if (res->status == HFE_OK)
            eng_fail(res, HFE_ENOMEM, "out of memory");
        return false;
    }
    if (max >= m->n_window) {
        free(prompt);
        eng_fail(res, HFE_ETOOLONG,
                 "max_tokens %u leaves no room for the prompt in a window of "
                 "%u tokens",
                 max, m->n_window);
        return false;
    }
    /* a rendered chat template spells its special tokens out */
    chat = (r->flags & HFE_REQF_CHAT) != 0;
    s->np = eng_tokenize(m, prompt, true, chat, &s->prompt);
    free(prompt);
    if (chat && s->np >= 2 && s->prompt[0] == m->bos &&
        s->prompt[1] == m->bos) { /* the template wrote BOS, and so did we */
        memmove(s->prompt, s->prompt + 1,
                (size_t)(s->np - 1) * sizeof(*s->prompt));
        s->np--;
    }
    if (s->np < 0) {
        eng_fail(res, HFE_EBACKEND, "tokenization failed");
        return false;
    }
    if (s->np == 0) { /* nothing to continue from */
        llama_token pre =
            m->bos != LLAMA_TOKEN_NULL ? m->bos : llama_vocab_eos(m->vocab);

        free(s->prompt);
        s->prompt = malloc(sizeof(*s->prompt));
        if (!s->prompt)
            return false;
        s->prompt[0] = pre;
        s->np = 1;
    }
    keep = (int32_t)(m->n_window - max);
    if (s->np > keep) {
        memmove(s->prompt, s->prompt + (s->np - keep),
                (size_t)keep * sizeof(*s->prompt));
        s->np = keep;
    }
    s->max = max;
    s->reserve = (size_t)s->np + max;
    s->row = -1;
    s->lead = -1;
    if (r->temperature > 0) {
        struct llama_sampler_chain_params sp =
            llama_sampler_chain_default_params();

        s->smpl = llama_sampler_chain_init(sp);
        if (r->top_p > 0 && r->top_p < 1)
            llama_sampler_chain_add(s->smpl,
                                    llama_sampler_init_top_p(r->top_p, 1));
        llama_sampler_chain_add(s->smpl,
                                llama_sampler_init_temp(r->temperature));
        llama_sampler_chain_add(s->smpl,
                                llama_sampler_init_dist(sample_seed(m, r)));
    }
    s->busy = true;
    return true;
}

static void finish(const struct hfe_batch *b, size_t index,
                   struct hfe_result *res, struct slot *s, uint32_t why)
{
    res->text = eng_host->alloc(s->len + 1);
    if (!res->text) {
        eng_fail(res, HFE_ENOMEM, "out of memory");
    } else {
        memcpy(res->text, s->text ? s->text : "", s->len);
        res->text[s->len] = '\0';
        res->status = HFE_OK;
        res->n_gen_tokens = s->n_gen;
        res->finish = why;
        res->n_prompt_tokens = (uint32_t)s->np;
        res->t_first_token_ms = s->t_first > 0 ? s->t_first - s->t0 : 0;
        res->t_total_ms = eng_now_ms() - s->t0;
    }
    if (b->done)
        b->done(b->ud, index);
}

/* One call of eng_generate: requests idx[0..n) of b, and the slots. */
struct gen {
    struct hfe_model *m;
    const struct hfe_batch *b;
    const size_t *idx;
    size_t n;
    struct slot *sl;          /* m->n_seq of them, slot s decodes sequence s */
    size_t next;              /* the next request to admit (into idx)      */
    size_t running;           /* busy slots                                */
    size_t reserved;          /* cells the busy slots are promised         */
    int32_t *fol;             /* a leader's followers, n_seq at most        */
    uint64_t n_fed, n_shared; /* prompt tokens decoded, and shared */
};

/* A busy slot other than s with the prompt of slot s: one that has fed
 * none of it yet and follows none (*whole false: s follows it), else one
 * that holds all of it in the cache (*whole true: s copies its cells but
 * the last); -1 when none. */
static int32_t find_lead(const struct gen *g, int32_t s, bool *whole)
{
    const struct slot *x = &g->sl[s];
    int32_t t, held = -1;

    if (!g->m->share_prompt)
        return -1;
    for (t = 0; t < (int32_t)g->m->n_seq; t++) {
        const struct slot *y = &g->sl[t];

        if (t == s || !y->busy || y->np != x->np ||
            memcmp(y->prompt, x->prompt, (size_t)x->np * sizeof(*x->prompt)))
            continue;
        if (y->lead < 0 && y->fed == 0) {
            *whole = false;
            return t;
        }
        if (y->fed == y->np && y->np > 1 && held < 0)
            held = t;
    }
    *whole = true;
    return held;
}

/* Admits the next requests, in order, while they fit the cells left. */
static void admit_ready(struct gen *g)
{
    struct hfe_model *m = g->m;
    const struct hfe_batch *b = g->b;
    int32_t s, lead;
    bool whole;

    for (s = 0; s < (int32_t)m->n_seq && g->next < g->n; s++) {
        size_t q = g->idx[g->next];
        struct slot *x = &g->sl[s];

        if (x->busy)
            continue;
        if (!admit(m, x, b->req[q], b->res[q])) {
            slot_free(m, x, s);
            if (b->done)
                b->done(b->ud, q);
            g->next++;
            s--; /* try the slot again with the next request */
            continue;
        }
        lead = find_lead(g, s, &whole);
        if (lead >= 0) /* the prompt's cells are the other's */
            x->reserve = x->max + (whole ? 1 : 0);
        if (g->running &&
            g->reserved + x->reserve > m->n_cells - ENG_MIN_ROWS) {
            slot_free(m, x, s); /* wait for room */
            break;
        }
        if (lead >= 0 && !whole) {
            x->lead = lead;
        } else if (lead >= 0) { /* its last token gives the logits */
            llama_memory_seq_cp(llama_get_memory(m->ctx), lead, s, 0,
                                x->np - 1);
            x->fed = x->np - 1;
            g->n_shared += (uint64_t)(x->np - 1);
        }
        x->qi = g->next++;
        g->reserved += x->reserve;
        g->running++;
    }
}

/* Adds a token of sequence seq to the batch; returns its row. */
static int32_t batch_add(struct llama_batch *bt, llama_token t, int32_t pos,
                         int32_t seq, bool logits)
{
    int32_t k = bt->n_tokens++;

    bt->token[k] = t;
    bt->pos[k] = pos;
    bt->n_seq_id[k] = 1;
    bt->seq_id[k][0] = seq;
    bt->logits[k] = logits;
    return k;
}

/* One decode's tokens: each running sequence's next token, then as much
 * of the prompts as the batch holds, a leader's carrying its followers'
 * ids.  A slot's row is the one whose logits it samples, or -1. */
static void fill_batch(struct gen *g)
{
    struct hfe_model *m = g->m;
    struct llama_batch *bt = &m->batch;
    int32_t s, t, nf;

    bt->n_tokens = 0;
    for (s = 0; s < (int32_t)m->n_seq; s++) {
        struct slot *x = &g->sl[s];

        x->row = -1;
        if (x->busy && x->fed >= x->np)
            x->row = batch_add(bt, x->next, x->n_past++, s, true);
    }
    for (s = 0; s < (int32_t)m->n_seq; s++) {
        struct slot *x = &g->sl[s];

        if (!x->busy || x->fed >= x->np || x->lead >= 0)
            continue;
        for (nf = 0, t = 0; t < (int32_t)m->n_seq; t++)
            if (g->sl[t].busy && g->sl[t].lead == s && g->sl[t].fed < x->np)
                g->fol[nf++] = t;
        while (x->fed < x->np && bt->n_tokens < (int32_t)m->n_batch) {
            bool last = x->fed + 1 == x->np;
            int32_t k = batch_add(bt, x->prompt[x->fed], x->fed, s, last);

            for (t = 0; t < nf; t++)
                bt->seq_id[k][bt->n_seq_id[k]++] = g->fol[t];
            x->fed++;
            g->n_fed++;
            if (last) {
                x->row = k;
                x->n_past = x->np;
            }
        }
        for (t = 0; t < nf && x->fed == x->np; t++) {
            struct slot *f = &g->sl[g->fol[t]];

            f->row = x->row;
            f->fed = f->n_past = f->np;
            f->lead = -1; /* on its own now: slot s may take another */
            g->n_shared += (uint64_t)f->np;
        }
    }
}

static int decode(struct hfe_model *m)
{
    bool padded = eng_pad(m); /* see ENG_MIN_ROWS */
    int32_t drc = llama_decode(m->ctx, m->batch);

    if (padded)
        eng_unpad(m);
    return drc != 0 ? HFE_EBACKEND : HFE_OK;
}

/* Slot x's next token, from the logits of its row, appended to its text.
 * Returns false when that failed (res says why); else *why is the reason
 * x ends, or HFE_FINISH_NONE and x->next is decoded in the next round. */
static bool sample(struct hfe_model *m, struct slot *x,
                   const struct hfe_request *r, struct hfe_result *res,
                   uint32_t *why)
{
    char piece[256];
    int32_t np;
    llama_token t;
    long stop;

    *why = HFE_FINISH_NONE;
    if (x->smpl)
        t = llama_sampler_sample(x->smpl, m->ctx, x->row);
    else
        t = argmax(llama_get_logits_ith(m->ctx, x->row), m->n_vocab);
    if (x->t_first == 0)
        x->t_first = eng_now_ms();
    if (llama_vocab_is_eog(m->vocab, t)) {
        *why = HFE_FINISH_EOG;
        return true;
    }
    np = llama_token_to_piece(m->vocab, t, piece, sizeof(piece), 0, false);
    if (np < 0 || !append(x, piece, (size_t)np)) {
        eng_fail(res, HFE_EBACKEND, "cannot render token %d", t);
        return false;
    }
    x->n_gen++;
    stop = find_stop(r, x->text, x->len, (size_t)np);
    if (stop >= 0) {
        x->len = (size_t)stop;
        x->text[x->len] = '\0';
        *why = HFE_FINISH_STOP;
    } else if (x->n_gen >= x->max) {
        *why = HFE_FINISH_LENGTH;
    } else {
        x->next = t;
    }
    return true;
}

/* Samples for every sequence that got logits; a finished one's result is
 * done and its slot freed. */
static void sample_all(struct gen *g)
{
    const struct hfe_batch *b = g->b;
    int32_t s;

    for (s = 0; s < (int32_t)g->m->n_seq; s++) {
        struct slot *x = &g->sl[s];
        uint32_t why;
        size_t q;
        bool ok;

        if (!x->busy || x->row < 0)
            continue;
        q = g->idx[x->qi];
        ok = sample(g->m, x, b->req[q], b->res[q], &why);
        if (ok && why == HFE_FINISH_NONE)
            continue;
        if (ok)
            finish(b, q, b->res[q], x, why);
        else if (b->done)
            b->done(b->ud, q);
        g->reserved -= x->reserve;
        g->running--;
        slot_free(g->m, x, s);
    }
}

/* After a cancel or a failed decode (rc): the requests still running or
 * not started fail, and are done unless cancelled. */
static void abandon(struct gen *g, int rc)
{
    const struct hfe_batch *b = g->b;
    const char *why = rc == HFE_ECANCELED ? "cancelled" : "llama_decode failed";
    size_t i;

    for (i = 0; i < g->m->n_seq; i++)
        if (g->sl[i].busy) {
            size_t q = g->idx[g->sl[i].qi];

            eng_fail(b->res[q], rc, "not finished: %s", why);
            if (rc != HFE_ECANCELED && b->done)
                b->done(b->ud, q);
            slot_free(g->m, &g->sl[i], (int32_t)i);
        }
    for (; g->next < g->n; g->next++) {
        size_t q = g->idx[g->next];

        eng_fail(b->res[q], rc ? rc : HFE_ECANCELED, "not started: %s", why);
        if (rc != HFE_ECANCELED && b->done)
            b->done(b->ud, q);
    }
}

int eng_generate(struct hfe_model *m, const struct hfe_batch *b,
                 const size_t *idx, size_t n)
{
    struct gen g = {.m = m, .b = b, .idx = idx, .n = n};
    int rc = HFE_OK;
    double t_gen0;

    g.sl = calloc(m->n_seq, sizeof(*g.sl));
    g.fol = calloc(m->n_seq, sizeof(*g.fol));
    if (!g.sl || !g.fol) {
        free(g.sl);
        free(g.fol);
        return HFE_ENOMEM;
    }
    /* cells only: the data of empty cells is masked, never read */
    llama_memory_clear(llama_get_memory(m->ctx), false);
    while (g.next < n || g.running) {
        admit_ready(&g);
        if (!g.running)
            break;
        if (eng_host->cancelled && eng_host->cancelled()) {
            rc = HFE_ECANCELED;
            break;
        }
        fill_batch(&g);
        t_gen0 = eng_now_ms();
        if ((rc = decode(m)) != HFE_OK)
            break;
        sample_all(&g);
        m->n_gen += (uint64_t)m->batch.n_tokens;
        m->gen_ms += eng_now_ms() - t_gen0;
    }
    abandon(&g, rc);
    eng_host->log(HFE_LOG_DEBUG, "llama",
                  "generate: %zu requests, %llu prompt tokens decoded, %llu "
                  "shared",
                  n, (unsigned long long)g.n_fed,
                  (unsigned long long)g.n_shared);
    free(g.sl);
    free(g.fol);
    return rc == HFE_EBACKEND ? rc : HFE_OK;
}
