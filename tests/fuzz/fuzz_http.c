/*
 * fuzz_http.c - libFuzzer target for the http backend's answer parsers:
 * server-sent events and streamed chunks (llama-server's and OpenAI's),
 * forced-token answers, echoed prompt log-probabilities and /tokenize.
 * It is built with the backend's sources and calls their internal
 * functions (backends/http/http_int.h), with a host of its own.
 *
 *   tests/fuzz/run.sh http [SECONDS]
 *
 * The first byte picks what the rest is: a streamed generation (fed in
 * pieces of 1 to 8 bytes), a forced token's answer, an echo, or
 * /tokenize's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../backends/http/http_int.h"

static void fz_log(int level, const char *who, const char *fmt, ...)
{
    (void)level, (void)who, (void)fmt;
}

static int fz_cancelled(void)
{
    return 0;
}

static char *fz_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const struct hfe_host fz_host = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_host),
    .alloc = malloc,
    .realloc = realloc,
    .free = free,
    .strdup = fz_strdup,
    .log = fz_log,
    .cancelled = fz_cancelled,
};

/* A generation's stream, in pieces as a server might send it. */
static void fuzz_stream(struct pump *p, struct ex *x, const uint8_t *d,
                        size_t n)
{
    size_t off = 0, k;

    while (off < n) {
        k = 1 + (d[off] & 7);
        k = k < n - off ? k : n - off;
        if (hfe_sse_feed(&x->sse, (const char *)d + off, k, http_on_event, x))
            break;
        off += k;
    }
    hfe_sse_end(&x->sse, http_on_event, x);
    http_on_gen_end(p, x);
}

/* A JSON answer: a forced token's (mode 1), an echo (2), /tokenize's. */
static void fuzz_answer(struct pump *p, struct ex *x, int mode, cJSON *o)
{
    struct job *j = x->job;
    int32_t full[4] = {1, 5, 6, 7};

    if (mode == 1) {
        j->full = full;
        j->nfull = 4;
        j->k = 1;
        j->lp = calloc(3, sizeof(*j->lp));
        j->greedy = calloc(3, sizeof(*j->greedy));
        x->pos = 1;
        if (j->lp && j->greedy)
            http_on_force(p, x, o);
        free(j->lp);
        free(j->greedy);
    } else if (mode == 2) {
        http_on_echo(p, x, o);
        free(j->lp);
    } else {
        int32_t *t = NULL;
        uint32_t *pb = NULL;

        http_int_array(cJSON_GetObjectItemCaseSensitive(o, "tokens"), &t, &pb);
        free(t);
        free(pb);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct hfe_model m = {0};
    struct hfe_request rq;
    struct hfe_result rs;
    struct hfe_batch b;
    struct pump p = {0};
    struct job j = {0};
    struct ex *x = calloc(1, sizeof(*x));
    int mode;
    cJSON *o;

    if (!x || !n) {
        free(x);
        return 0;
    }
    http_host = &fz_host;
    mode = d[0] % 4;
    d++, n--;
    memset(&rq, 0, sizeof(rq));
    memset(&rs, 0, sizeof(rs));
    memset(&b, 0, sizeof(b));
    HFE_INIT(&rq);
    HFE_INIT(&rs);
    HFE_INIT(&b);
    rq.kind = mode == 0 ? HFE_REQ_GENERATE : HFE_REQ_LOGLIK;
    rq.context = "Q: é?";
    rq.continuation = " A";
    m.shown = "fuzz";
    p.m = &m;
    p.b = &b;
    j.req = &rq;
    j.res = &rs;
    x->p = &p;
    x->job = &j;
    x->what = mode == 0 ? EX_GEN : mode == 1 ? EX_FORCE : EX_ECHO;
    if (mode == 0) {
        fuzz_stream(&p, x, d, n);
    } else {
        o = cJSON_ParseWithLength((const char *)d, n);
        if (o)
            fuzz_answer(&p, x, mode, o);
        cJSON_Delete(o);
    }
    free(rs.error);
    free(rs.text);
    free(rs.token_logprobs);
    http_buf_free(&j.text);
    http_ex_free(x);
    return 0;
}
