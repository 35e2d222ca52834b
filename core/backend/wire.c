/*
 * wire.c - the worker's wire: messages and the requests, results, model
 * information and measurements they carry.  See wire.h.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

static void wb_add(struct hfe_wb *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;

        while (c < b->n + n)
            c *= 2;
        b->s = hfe_xrealloc(b->s, c);
        b->cap = c;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
}

void hfe_wb_u32(struct hfe_wb *b, uint32_t v)
{
    wb_add(b, &v, 4);
}
static void wb_u64(struct hfe_wb *b, uint64_t v)
{
    wb_add(b, &v, 8);
}
static void wb_f64(struct hfe_wb *b, double v)
{
    wb_add(b, &v, 8);
}

void hfe_wb_str(struct hfe_wb *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    hfe_wb_u32(b, s ? (uint32_t)n : UINT32_MAX);
    if (s)
        wb_add(b, s, n);
}

static const void *rb_take(struct hfe_rb *r, size_t n)
{
    const char *p = r->p;

    assert(r->p || !r->n); /* what is left is inside the message */
    assert(r->n < MAX_MSG);
    if (r->bad || n > r->n) {
        r->bad = 1;
        return NULL;
    }
    r->p += n;
    r->n -= n;
    return p;
}

/* n bytes into v, or zeros when the message is short. */
static void rb_get(struct hfe_rb *r, void *v, size_t n)
{
    const void *p = rb_take(r, n);

    if (p)
        memcpy(v, p, n);
    else
        memset(v, 0, n);
}

uint32_t hfe_rb_u32(struct hfe_rb *r)
{
    uint32_t v;

    rb_get(r, &v, sizeof(v));
    return v;
}

uint64_t hfe_rb_u64(struct hfe_rb *r)
{
    uint64_t v;

    rb_get(r, &v, sizeof(v));
    return v;
}

double hfe_rb_f64(struct hfe_rb *r)
{
    double v;

    rb_get(r, &v, sizeof(v));
    return v;
}

/* A string in new memory (malloc), or NULL. */
char *hfe_rb_str(struct hfe_rb *r)
{
    uint32_t n = hfe_rb_u32(r);
    const char *p;

    if (n == UINT32_MAX || r->bad)
        return NULL;
    if (!(p = rb_take(r, n)))
        return NULL;
    return hfe_xstrndup(p, n);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;

    while (n) {
        /* a dead peer is an error here, not a SIGPIPE */
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

int hfe_wire_send(int fd, uint32_t type, const struct hfe_wb *b)
{
    uint32_t h[2] = {type, b ? (uint32_t)b->n : 0};

    if (write_all(fd, h, sizeof(h)))
        return -1;
    return b && b->n ? write_all(fd, b->s, b->n) : 0;
}

/* Reads one whole message, blocking.  Returns 0, or -1 at EOF or error. */
int hfe_wire_recv(int fd, uint32_t *type, struct hfe_wb *b)
{
    uint32_t h[2];
    size_t got = 0;

    for (got = 0; got < sizeof(h);) {
        ssize_t k = read(fd, (char *)h + got, sizeof(h) - got);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    if (h[1] > MAX_MSG)
        return -1;
    b->n = 0;
    if (h[1] > b->cap) {
        b->s = hfe_xrealloc(b->s, h[1]);
        b->cap = h[1];
    }
    for (got = 0; got < h[1];) {
        ssize_t k = read(fd, b->s + got, h[1] - got);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    b->n = h[1];
    *type = h[0];
    return 0;
}

/* requests, results, information, measurements */

void hfe_wire_put_req(struct hfe_wb *b, const struct hfe_request *q)
{
    uint32_t i;

    hfe_wb_u32(b, q->kind);
    hfe_wb_u32(b, q->flags);
    hfe_wb_str(b, q->item_id);
    wb_u64(b, (uint64_t)q->doc_id);
    hfe_wb_str(b, q->task);
    hfe_wb_str(b, q->context);
    hfe_wb_str(b, q->continuation);
    hfe_wb_u32(b, q->top_k);
    hfe_wb_u32(b, q->n_ctx);
    hfe_wb_u32(b, q->n_stop);
    for (i = 0; i < q->n_stop; i++)
        hfe_wb_str(b, q->stop[i]);
    hfe_wb_u32(b, q->max_tokens);
    wb_f64(b, q->temperature);
    wb_f64(b, q->top_p);
    wb_u64(b, q->seed);
    hfe_wb_u32(b, q->sample);
    hfe_wb_u32(b, q->choice);
}

/* Into q, whose strings are new memory: hfe_wire_free_req frees them. */
void hfe_wire_get_req(struct hfe_rb *r, struct hfe_request *q)
{
    uint32_t i, ns;
    char **stop;

    memset(q, 0, sizeof(*q));
    HFE_INIT(q);
    q->kind = hfe_rb_u32(r);
    q->flags = hfe_rb_u32(r);
    q->item_id = hfe_rb_str(r);
    q->doc_id = (int64_t)hfe_rb_u64(r);
    q->task = hfe_rb_str(r);
    q->context = hfe_rb_str(r);
    q->continuation = hfe_rb_str(r);
    q->top_k = hfe_rb_u32(r);
    q->n_ctx = hfe_rb_u32(r);
    ns = hfe_rb_u32(r);
    if (ns > r->n / 4)
        r->bad = 1;
    stop = hfe_xcalloc(r->bad ? 1 : ns + 1, sizeof(*stop));
    for (i = 0; !r->bad && i < ns; i++)
        stop[i] = hfe_rb_str(r);
    q->stop = (const char *const *)stop;
    q->n_stop = r->bad ? 0 : ns;
    q->max_tokens = hfe_rb_u32(r);
    q->temperature = (float)hfe_rb_f64(r);
    q->top_p = (float)hfe_rb_f64(r);
    q->seed = hfe_rb_u64(r);
    q->sample = hfe_rb_u32(r);
    q->choice = hfe_rb_u32(r);
}

void hfe_wire_free_req(struct hfe_request *q)
{
    uint32_t i;

    free((char *)q->item_id);
    free((char *)q->task);
    free((char *)q->context);
    free((char *)q->continuation);
    for (i = 0; q->stop && i < q->n_stop; i++)
        free((char *)q->stop[i]);
    free((void *)q->stop);
}

void hfe_wire_put_res(struct hfe_wb *b, const struct hfe_result *s)
{
    size_t nk = (size_t)s->n_tokens * s->top_k;

    hfe_wb_u32(b, (uint32_t)s->status);
    hfe_wb_str(b, s->error);
    wb_f64(b, s->logprob);
    hfe_wb_u32(b, (uint32_t)s->is_greedy);
    hfe_wb_u32(b, s->n_tokens);
    hfe_wb_u32(b, s->token_logprobs ? 1 : 0);
    if (s->token_logprobs)
        wb_add(b, s->token_logprobs, (size_t)s->n_tokens * sizeof(float));
    hfe_wb_u32(b, s->top_k);
    hfe_wb_u32(b, (s->topk_ids ? 1 : 0) | (s->topk_logprobs ? 2 : 0));
    if (s->topk_ids)
        wb_add(b, s->topk_ids, nk * sizeof(int32_t));
    if (s->topk_logprobs)
        wb_add(b, s->topk_logprobs, nk * sizeof(float));
    wb_u64(b, s->n_bytes);
    hfe_wb_str(b, s->text);
    hfe_wb_u32(b, s->n_gen_tokens);
    hfe_wb_u32(b, s->finish);
    hfe_wb_u32(b, s->n_prompt_tokens);
    wb_f64(b, s->t_first_token_ms);
    wb_f64(b, s->t_total_ms);
}

static void *rb_copy(struct hfe_rb *r, size_t n)
{
    const void *p = rb_take(r, n);
    void *d;

    if (!p)
        return NULL;
    d = hfe_xmalloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

/* Into s (host memory, as a backend would fill it). */
void hfe_wire_get_res(struct hfe_rb *r, struct hfe_result *s)
{
    uint32_t has;
    size_t nk;

    s->status = (int32_t)hfe_rb_u32(r);
    s->error = hfe_rb_str(r);
    s->logprob = hfe_rb_f64(r);
    s->is_greedy = (int32_t)hfe_rb_u32(r);
    s->n_tokens = hfe_rb_u32(r);
    if (hfe_rb_u32(r))
        s->token_logprobs = rb_copy(r, (size_t)s->n_tokens * sizeof(float));
    s->top_k = hfe_rb_u32(r);
    has = hfe_rb_u32(r);
    nk = (size_t)s->n_tokens * s->top_k;
    if (!r->bad && nk > r->n)
        r->bad = 1;
    if (!r->bad && (has & 1))
        s->topk_ids = rb_copy(r, nk * sizeof(int32_t));
    if (!r->bad && (has & 2))
        s->topk_logprobs = rb_copy(r, nk * sizeof(float));
    s->n_bytes = hfe_rb_u64(r);
    s->text = hfe_rb_str(r);
    s->n_gen_tokens = hfe_rb_u32(r);
    s->finish = hfe_rb_u32(r);
    s->n_prompt_tokens = hfe_rb_u32(r);
    s->t_first_token_ms = hfe_rb_f64(r);
    s->t_total_ms = hfe_rb_f64(r);
}

void hfe_wire_put_info(struct hfe_wb *b, const struct hfe_model_info *in)
{
    size_t i;

    hfe_wb_str(b, in->name);
    hfe_wb_str(b, in->architecture);
    hfe_wb_str(b, in->quantization);
    hfe_wb_str(b, in->chat_template);
    wb_u64(b, in->n_params);
    wb_u64(b, in->file_size);
    hfe_wb_u32(b, in->n_ctx_train);
    hfe_wb_u32(b, in->n_ctx);
    hfe_wb_u32(b, in->n_vocab);
    wb_u64(b, in->kv ? in->n_kv : 0);
    for (i = 0; in->kv && i < in->n_kv; i++) {
        hfe_wb_str(b, in->kv[i].key);
        hfe_wb_str(b, in->kv[i].type);
        hfe_wb_str(b, in->kv[i].value);
    }
}

void hfe_wire_put_measure(struct hfe_wb *b, const struct hfe_measure *ms)
{
    size_t i, ns = HFE_HAS_FIELD(ms, struct hfe_measure, stats) && ms->stats
                       ? ms->n_stats
                       : 0;

    wb_f64(b, ms->load_ms);
    wb_u64(b, ms->n_prompt_tokens);
    wb_f64(b, ms->prompt_ms);
    wb_u64(b, ms->n_decode_tokens);
    wb_f64(b, ms->decode_ms);
    wb_u64(b, ms->mem ? ms->n_mem : 0);
    for (i = 0; ms->mem && i < ms->n_mem; i++) {
        hfe_wb_str(b, ms->mem[i].kind);
        hfe_wb_str(b, ms->mem[i].device);
        wb_u64(b, ms->mem[i].bytes);
    }
    wb_u64(b, ns);
    for (i = 0; i < ns; i++) {
        hfe_wb_str(b, ms->stats[i].key);
        hfe_wb_str(b, ms->stats[i].type);
        hfe_wb_str(b, ms->stats[i].value);
    }
}
