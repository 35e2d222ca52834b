/*
 * http.c - the `http` backend: models served by llama-server, vLLM, SGLang,
 * TGI or Ollama through their OpenAI-compatible API.
 *
 * A model list names it by URL:
 *
 *     served  http://127.0.0.1:8080  model=qwen api_key_env=SERVER_KEY
 *
 * Options (all optional):
 *     model=NAME         the served model (default: the first of /v1/models)
 *     api=auto|llama|openai
 *                        auto asks /props: an answer with total_slots means
 *                        llama-server, whose native /completion, /tokenize
 *                        and /props are then used
 *     loglik=auto|logit_bias|echo
 *                        how a continuation is scored (below); auto picks
 *                        logit_bias on llama-server and echo elsewhere
 *     concurrency=N      requests in flight (default: llama-server's slots,
 *                        else 4)
 *     connect_timeout=S  (10)   timeout=S  total per request (600)
 *     idle_timeout=S     a stream that sends nothing this long fails (60)
 *     retries=N          per request (8), on connection errors, timeouts,
 *                        408, 429 and 5xx, with exponential backoff and full
 *                        jitter from backoff=MS (250) up to backoff_max=MS
 *                        (8000); a Retry-After header is honoured
 *     retry_budget=N     retries for the whole model (1000)
 *     api_key_env=NAME   sends "Authorization: Bearer $NAME"
 *
 * Log-likelihoods.  A server that echoes prompt log-probabilities (vLLM's
 * /v1/completions with echo and logprobs) scores a continuation in one
 * request.  llama-server has none; there each continuation token is forced
 * in turn with logit_bias on a prompt of token ids that ends just before
 * it, and its log-probability is read from the raw logits (n_probs with
 * post_sampling_probs off); the server's prompt cache makes the prefix
 * free.  Tokens are split as the llama backend splits them: the common
 * prefix of the context's tokens and the full text's.  The method and its
 * cost (requests, retries, bytes) are in measure()'s stats.
 *
 * The key.  The API key lives only in the header list handed to libcurl and
 * is wiped at close; no message, log line or record carries it, and URLs
 * in messages lose their user:password part.
 *
 * Threads: the host calls a model from one thread; all transfers run on it
 * through one curl multi handle.
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "hfeval-plugin.h"
#include "sse.h"

#define VERSION            "0.1.0"
#define DEFAULT_MAX_TOKENS 256
#define FORCE_BIAS         1000.0

static const struct hfe_host *host;
static int curl_started;

enum flavor { FL_OPENAI, FL_LLAMA };
enum llmethod { LL_AUTO, LL_BIAS, LL_ECHO };

/* A growing byte buffer in our own memory. */
struct buf {
    char *s;
    size_t n, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 1024;
        char *p;

        while (c < b->n + n + 1)
            c *= 2;
        if (!(p = realloc(b->s, c)))
            return -1;
        b->s = p;
        b->cap = c;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

static int buf_puts(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

static void buf_free(struct buf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

struct stats {
    uint64_t requests, retries, failed, ll_requests, bytes_up, bytes_down;
    uint64_t prompt_n, predicted_n;
    double prompt_ms, predicted_ms;
};

struct hfe_model {
    char *root;             /* scheme://host:port[/prefix], no trailing slash */
    char *shown;            /* root without user:password, for messages      */
    char *served;           /* the served model's name                      */
    struct curl_slist *hdr; /* Content-Type and the key, if any   */
    char *key_header;       /* wiped at close                     */
    enum flavor flavor;
    enum llmethod ll;
    unsigned conc, retries, budget;
    long connect_ms, timeout_ms, idle_s;
    double backoff_ms, backoff_max_ms;
    CURLM *multi;
    uint64_t rng;

    /* information */
    char *build, *model_path, *chat_template, *quant;
    uint32_t n_ctx, n_ctx_train, n_vocab, slots;
    uint64_t n_params, size;
    struct hfe_kv *kv;
    size_t n_kv;

    struct stats st;
    struct hfe_kv sv[16];
    char svbuf[16][32];
    bool metrics;       /* llama-server answers /metrics   */
    double metrics0[8]; /* its counters at open()          */
};

/* --- small helpers -------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void set_err(struct hfe_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(struct hfe_result *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->status = status;
    if (r->error)
        host->free(r->error);
    r->error = host->strdup(msg);
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* xorshift64*: jitter only */
static double rnd(struct hfe_model *m)
{
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return (double)((m->rng * 2685821657736338717ull) >> 11) /
           9007199254740992.0;
}

/* A server's error body, shortened for a message: OpenAI's
 * {"error":{"message":...}}, or the text itself. */
static void body_msg(const char *body, char *out, size_t cap)
{
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *msg =
        cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;

    if (cJSON_IsString(msg))
        snprintf(out, cap, "%s", msg->valuestring);
    else
        snprintf(out, cap, "%.200s", body && *body ? body : "(empty body)");
    cJSON_Delete(j);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* --- exchanges: one HTTP request, retried until it answers --------------- */

enum what {
    EX_GEN,      /* a streamed generation                          */
    EX_TOK_CTX,  /* /tokenize the context                          */
    EX_TOK_FULL, /* /tokenize context + continuation               */
    EX_FORCE,    /* force one continuation token with logit_bias    */
    EX_ECHO      /* prompt log-probabilities in one request         */
};

struct job;

struct pump;

struct ex {
    struct pump *p;
    struct job *job;
    enum what what;
    uint32_t pos; /* EX_FORCE: which scored token                   */
    const char *path;
    char *body;
    struct buf resp;
    CURL *h;
    unsigned attempt;
    double not_before, t0, t_first;
    double retry_after_s;
    double tm[4]; /* the server's timings of this attempt */
    struct hfe_sse sse;
    int sse_err;
    struct ex *next;  /* in the ready or delayed list */
    struct ex *anext; /* in the active list           */
};

struct job {
    const struct hfe_request *req;
    struct hfe_result *res;
    size_t index;
    int pending; /* exchanges not yet answered      */
    bool failed, finished;
    /* LOGLIK / ROLLING */
    int32_t *ctx, *full;
    uint32_t *pbytes; /* ROLLING: each full token's bytes  */
    int nctx, nfull, k;
    double *lp;
    bool *greedy;
    bool bias; /* scored by forcing tokens: sum when all are in        */
    /* HFE_REQF_CHOICE_PREFIX: an item's choices wait for one another */
    struct job *lead, *g_next;
    int g_n, g_ready;
    bool counted;
    /* GENERATE */
    struct buf text;
    uint32_t n_chunks;
};

struct pump {
    struct hfe_model *m;
    const struct hfe_batch *b;
    struct job *jobs;
    struct ex *head, *tail; /* ready, in order                     */
    struct ex *delayed;     /* waiting for their backoff           */
    struct ex *active;      /* in flight                           */
    unsigned running;
    unsigned streak;   /* failures in a row                   */
    double hold_until; /* no request starts before this       */
    int fatal;         /* a failure of the whole model        */
    char fatal_msg[512];
};

static void ex_free(struct ex *x)
{
    if (!x)
        return;
    free(x->body);
    buf_free(&x->resp);
    hfe_sse_free(&x->sse);
    free(x);
}

static void push_back(struct pump *p, struct ex *x)
{
    x->next = NULL;
    if (p->tail)
        p->tail->next = x;
    else
        p->head = x;
    p->tail = x;
}

static void push_front(struct pump *p, struct ex *x)
{
    x->next = p->head;
    p->head = x;
    if (!p->tail)
        p->tail = x;
}

static struct ex *ex_new(struct pump *p, struct job *j, enum what w,
                         const char *path, char *body)
{
    struct ex *x = calloc(1, sizeof(*x));

    if (!x) {
        free(body);
        return NULL;
    }
    x->p = p;
    x->job = j;
    x->what = w;
    x->path = path;
    x->body = body;
    if (j)
        j->pending++;
    return x;
}

static size_t on_header(char *s, size_t size, size_t n, void *ud)
{
    struct ex *x = ud;
    size_t len = size * n;

    if (len > 12 && strncasecmp(s, "retry-after:", 12) == 0) {
        char tmp[64];
        char *end;
        double v;

        snprintf(tmp, sizeof(tmp), "%.*s", (int)(len - 12), s + 12);
        v = strtod(tmp, &end);
        if (end != tmp && v >= 0)
            x->retry_after_s = v < 600 ? v : 600;
        /* an HTTP date is not worth parsing: the backoff applies */
    }
    return len;
}

static int on_event(void *ud, const char *data, size_t len);

static size_t on_body(char *s, size_t size, size_t n, void *ud)
{
    struct ex *x = ud;
    size_t len = size * n;

    if (x->what == EX_GEN) {
        long code = 0;

        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) {
            int rc = hfe_sse_feed(&x->sse, s, len, on_event, x);

            x->sse_err = rc;
            return rc ? 0 : len;
        }
    }
    if (x->resp.n + len > (64u << 20)) /* no answer of ours is this big */
        return 0;
    return buf_add(&x->resp, s, len) ? 0 : len;
}

static int start(struct pump *p, struct ex *x)
{
    struct hfe_model *m = p->m;
    char url[2048];
    CURL *h = curl_easy_init();

    if (!h)
        return -1;
    snprintf(url, sizeof(url), "%s%s", m->root, x->path);
    buf_free(&x->resp);
    hfe_sse_free(&x->sse);
    x->sse_err = 0;
    x->retry_after_s = -1;
    x->t_first = 0;
    memset(x->tm, 0, sizeof(x->tm));
    if (x->what == EX_GEN) { /* a retry starts again */
        struct hfe_result *r = x->job->res;

        r->finish = HFE_FINISH_NONE;
        r->n_gen_tokens = r->n_prompt_tokens = 0;
        x->job->text.n = 0;
        x->job->n_chunks = 0;
        if (x->job->text.s)
            x->job->text.s[0] = '\0';
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, m->hdr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, m->connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, m->timeout_ms);
    if (x->what == EX_GEN) { /* a stream that goes quiet; not a long
                                prompt's evaluation */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, m->idle_s);
    }
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (x->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
        m->st.bytes_up += strlen(x->body);
    }
    if (curl_multi_add_handle(m->multi, h) != CURLM_OK) {
        curl_easy_cleanup(h);
        return -1;
    }
    x->h = h;
    x->t0 = now_ms();
    x->anext = p->active;
    p->active = x;
    p->running++;
    m->st.requests++;
    if (x->what == EX_FORCE || x->what == EX_TOK_CTX ||
        x->what == EX_TOK_FULL || x->what == EX_ECHO)
        m->st.ll_requests++;
    return 0;
}

/* --- answers ----------------------------------------------------------------
 */

static void job_fail(struct pump *p, struct job *j, int status, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
static void group_ready(struct pump *p, struct job *j);

static void job_finish(struct pump *p, struct job *j)
{
    if (j->finished)
        return;
    j->finished = true;
    if (!j->failed)
        j->res->status = HFE_OK;
    if (p->b->done)
        p->b->done(p->b->ud, j->index);
}

static void job_fail(struct pump *p, struct job *j, int status, const char *fmt,
                     ...)
{
    char msg[1024];
    va_list ap;

    if (j->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    j->failed = true;
    set_err(j->res, status, "%s", msg);
    p->m->st.failed++;
    group_ready(p, j);
}

/* A non-negative number, or 0. */
static double nonneg(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15
               ? v->valuedouble
               : 0;
}

/* The server's timings of a generation, kept until it ends well (a
 * retried attempt's do not count). */
static void get_timings(double *tm, const cJSON *t)
{
    if (!cJSON_IsObject(t))
        return;
    tm[0] = nonneg(t, "prompt_n");
    tm[1] = nonneg(t, "prompt_ms");
    tm[2] = nonneg(t, "predicted_n");
    tm[3] = nonneg(t, "predicted_ms");
}

/* One streamed event of a generation: llama-server's native chunk
 * ({"content", "stop", "stop_type"}), or an OpenAI chunk ({"choices":
 * [{"text"} or {"delta":{"content"}}, "finish_reason"]}). */
static int on_event(void *ud, const char *data, size_t len)
{
    struct ex *x = ud;
    struct job *j = x->job;
    struct hfe_result *r = j->res;
    const cJSON *c, *v, *piece = NULL, *fin = NULL;
    cJSON *o;

    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return 0;
    if (!(o = cJSON_ParseWithLength(data, len)))
        return 1; /* not JSON: the exchange fails below */
    if ((c = cJSON_GetObjectItemCaseSensitive(o, "error"))) {
        x->resp.n = 0;
        buf_add(&x->resp, data, len); /* the message, for the error */
        cJSON_Delete(o);
        return 2;
    }
    if ((c = cJSON_GetObjectItemCaseSensitive(o, "choices")) &&
        cJSON_IsArray(c)) {
        const cJSON *ch = cJSON_GetArrayItem(c, 0);

        piece = cJSON_GetObjectItemCaseSensitive(ch, "text");
        if (!piece)
            piece = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(ch, "delta"), "content");
        fin = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
        if (cJSON_IsString(fin))
            r->finish = strcmp(fin->valuestring, "length") == 0
                            ? HFE_FINISH_LENGTH
                            : HFE_FINISH_STOP;
        if ((v = cJSON_GetObjectItemCaseSensitive(o, "usage")) &&
            cJSON_IsObject(v)) {
            r->n_gen_tokens =
                (uint32_t)fmin(nonneg(v, "completion_tokens"), UINT32_MAX);
            r->n_prompt_tokens =
                (uint32_t)fmin(nonneg(v, "prompt_tokens"), UINT32_MAX);
        }
    } else {
        piece = cJSON_GetObjectItemCaseSensitive(o, "content");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stop"))) {
            const char *st = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(o, "stop_type"));

            r->finish = !st                    ? HFE_FINISH_NONE
                        : !strcmp(st, "eos")   ? HFE_FINISH_EOG
                        : !strcmp(st, "word")  ? HFE_FINISH_STOP
                        : !strcmp(st, "limit") ? HFE_FINISH_LENGTH
                                               : HFE_FINISH_NONE;
            r->n_gen_tokens =
                (uint32_t)fmin(nonneg(o, "tokens_predicted"), UINT32_MAX);
            r->n_prompt_tokens =
                (uint32_t)fmin(nonneg(o, "tokens_evaluated"), UINT32_MAX);
        }
    }
    if (cJSON_IsString(piece) && piece->valuestring[0]) {
        if (!x->t_first)
            x->t_first = now_ms();
        j->n_chunks++;
        if (buf_add(&j->text, piece->valuestring, strlen(piece->valuestring))) {
            cJSON_Delete(o);
            return -1;
        }
    }
    get_timings(x->tm, cJSON_GetObjectItemCaseSensitive(o, "timings"));
    cJSON_Delete(o);
    return 0;
}

/* --- request bodies --------------------------------------------------------
 */

static char *print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;

    cJSON_Delete(o);
    return s;
}

static cJSON *stops(const struct hfe_request *r)
{
    cJSON *a = cJSON_CreateArray();

    for (uint32_t i = 0; a && i < r->n_stop; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(r->stop[i]));
    return a;
}

static char *body_gen(struct hfe_model *m, const struct hfe_request *r,
                      const char **path)
{
    cJSON *o = cJSON_CreateObject();
    uint32_t max = r->max_tokens ? r->max_tokens : DEFAULT_MAX_TOKENS;
    bool chat = (r->flags & HFE_REQF_CHAT) != 0;

    if (!o)
        return NULL;
    if (chat) {
        cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
        cJSON *u = cJSON_CreateObject();

        cJSON_AddStringToObject(u, "role", "user");
        cJSON_AddStringToObject(u, "content", r->context ? r->context : "");
        cJSON_AddItemToArray(msgs, u);
        *path = "/v1/chat/completions";
    } else {
        cJSON_AddStringToObject(o, "prompt", r->context ? r->context : "");
        *path = m->flavor == FL_LLAMA ? "/completion" : "/v1/completions";
    }
    if (m->served)
        cJSON_AddStringToObject(o, "model", m->served);
    cJSON_AddNumberToObject(
        o, m->flavor == FL_LLAMA && !chat ? "n_predict" : "max_tokens", max);
    cJSON_AddNumberToObject(o, "temperature", r->temperature);
    if (r->top_p > 0 && r->top_p < 1)
        cJSON_AddNumberToObject(o, "top_p", r->top_p);
    if (r->temperature > 0)
        cJSON_AddNumberToObject(o, "seed", (double)(r->seed & 0xffffffffu));
    if (r->n_stop)
        cJSON_AddItemToObject(o, "stop", stops(r));
    cJSON_AddBoolToObject(o, "stream", 1);
    if (m->flavor == FL_LLAMA)
        cJSON_AddBoolToObject(o, "cache_prompt", 1);
    if (strncmp(*path, "/v1/", 4) == 0) {
        cJSON *so = cJSON_AddObjectToObject(o, "stream_options");

        cJSON_AddBoolToObject(so, "include_usage", 1);
    }
    return print_free(o);
}

static char *body_tokenize(const char *text, bool pieces)
{
    cJSON *o = cJSON_CreateObject();

    if (pieces)
        cJSON_AddBoolToObject(o, "with_pieces", 1);
    cJSON_AddStringToObject(o, "content", text);
    cJSON_AddBoolToObject(o, "add_special", 1);
    cJSON_AddBoolToObject(o, "parse_special", 0); /* as the llama backend */
    return print_free(o);
}

/* The prompt full[0..at) with full[at] forced; written by hand, as this
 * is the one body sent once per scored token. */
static char *body_force(const int32_t *full, int at)
{
    struct buf b = {0};
    char num[32];
    int i, rc = buf_puts(&b, "{\"prompt\":[");

    for (i = 0; i < at && !rc; i++) {
        int n = snprintf(num, sizeof(num), i ? ",%d" : "%d", (int)full[i]);

        rc = buf_add(&b, num, (size_t)n);
    }
    snprintf(num, sizeof(num), "%d", (int)full[at]);
    rc = rc || buf_puts(&b, "],\"n_predict\":1,\"temperature\":0,\"n_probs\":1,"
                            "\"post_sampling_probs\":false,"
                            "\"cache_prompt\":true,\"logit_bias\":[[");
    rc = rc || buf_puts(&b, num);
    rc = rc || buf_puts(&b, ",1000]],\"response_fields\":"
                            "[\"completion_probabilities\"]}");
    if (rc) {
        buf_free(&b);
        return NULL;
    }
    return b.s;
}

static char *body_echo(struct hfe_model *m, const char *text)
{
    cJSON *o = cJSON_CreateObject();

    if (m->served)
        cJSON_AddStringToObject(o, "model", m->served);
    cJSON_AddStringToObject(o, "prompt", text);
    cJSON_AddNumberToObject(o, "max_tokens", 1);
    cJSON_AddNumberToObject(o, "temperature", 0);
    cJSON_AddNumberToObject(o, "logprobs", 1);
    cJSON_AddBoolToObject(o, "echo", 1);
    return print_free(o);
}

/* --- what each answer means ------------------------------------------------
 */

/* /tokenize's answer: ids, or {id, piece} objects (with_pieces), whose
 * bytes go into *bytes when it is not NULL.  Returns the count, or -1. */
static int int_array(const cJSON *a, int32_t **out, uint32_t **bytes)
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
        job_fail(p, j, HFE_EINVAL,
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
            job_fail(p, j, HFE_ENOMEM, "out of memory");
            return;
        }
    }
    for (i = j->nfull - 1; i >= j->k; i--) {
        struct ex *x =
            ex_new(p, j, EX_FORCE, "/completion", body_force(j->full, i));

        if (!x || !x->body) {
            if (x)
                j->pending--;
            ex_free(x);
            job_fail(p, j, HFE_ENOMEM, "out of memory");
            return;
        }
        x->pos = (uint32_t)(i - j->k);
        push_front(p, x);
    }
}

static void settle(struct pump *p, struct job *j);

/* One choice of a CHOICE_PREFIX item has its tokens (or failed).  When
 * all have, they are scored after the prefix all their texts share (as
 * the llama backend does; without a shared first token each keeps its
 * own boundary), and each lets go of the hold job_plan gave it. */
static void group_ready(struct pump *p, struct job *j)
{
    struct job *l = j->lead, *c, *first = NULL;
    int K = 0;

    if (!l || j->counted)
        return;
    j->counted = true;
    if (++l->g_ready < l->g_n)
        return;
    for (c = l; c; c = c->g_next) {
        if (c->failed)
            continue;
        if (!first) {
            first = c;
            K = c->nfull;
        }
        {
            int q = 0;

            while (q < K && q < c->nfull && c->full[q] == first->full[q])
                q++;
            K = q;
        }
    }
    {
        int alive = 0;

        for (c = l; c; c = c->g_next)
            alive += !c->failed;
        if (alive < 2)
            K = 0; /* a lone survivor keeps its own boundary */
    }
    for (c = l; c; c = c->g_next) {
        if (!c->failed && K >= 1)
            c->k = K < c->nfull ? K : c->nfull;
        plan_force(p, c);
    }
    for (c = l; c; c = c->g_next)
        if (--c->pending == 0)
            settle(p, c);
}

/* All of a log-likelihood job's answers are in. */
static void sum_loglik(struct pump *p, struct job *j)
{
    struct hfe_result *r = j->res;
    int n = j->nfull - j->k, i;

    r->logprob = 0;
    r->is_greedy = 1;
    r->n_tokens = (uint32_t)(n > 0 ? n : 0);
    if (n > 0 && (!j->lp || !j->greedy)) {
        job_fail(p, j, HFE_EBACKEND, "not every token was scored");
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
        if (n > 0) {
            if (!(r->token_logprobs = host->alloc((size_t)n * sizeof(float)))) {
                job_fail(p, j, HFE_ENOMEM, "out of memory");
                return;
            }
            for (i = 0; i < n; i++)
                r->token_logprobs[i] = (float)j->lp[i];
        }
    }
}

static void on_force(struct pump *p, struct ex *x, const cJSON *o)
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
        job_fail(p, j, HFE_EBACKEND,
                 "%s/completion: expected completion_probabilities with id, "
                 "logprob and top_logprobs (llama-server with n_probs)",
                 p->m->shown);
        return;
    }
    if ((int)id->valuedouble != want) {
        job_fail(p, j, HFE_EBACKEND,
                 "%s/completion: the server sampled token %d where logit_bias "
                 "forced %d",
                 p->m->shown, (int)id->valuedouble, want);
        return;
    }
    if (lp->valuedouble < -87.3) { /* a float probability underflows */
        job_fail(p, j, HFE_EBACKEND,
                 "%s/completion: token %d has log-probability %g, below "
                 "what the server's float probabilities resolve (-87.3)",
                 p->m->shown, want, lp->valuedouble);
        return;
    }
    j->lp[x->pos] = lp->valuedouble;
    j->greedy[x->pos] = (int)tid->valuedouble == want;
}

/* Characters (code points) of UTF-8 text. */
static size_t cp_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* vLLM's echo: the prompt's tokens with their offsets and log-probs; the
 * continuation is every token that ends past the context (a token across
 * the boundary counts, as the llama backend's common prefix has it). */
static void on_echo(struct pump *p, struct ex *x, const cJSON *o)
{
    struct job *j = x->job;
    struct hfe_result *r = j->res;
    const cJSON *ch =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0);
    const cJSON *lps = cJSON_GetObjectItemCaseSensitive(ch, "logprobs");
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(lps, "tokens");
    const cJSON *tlp = cJSON_GetObjectItemCaseSensitive(lps, "token_logprobs");
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(lps, "top_logprobs");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(lps, "text_offset");
    /* text_offset counts characters (code points), as Python does */
    const char *cont = j->req->kind == HFE_REQ_ROLLING
                           ? (j->req->context ? j->req->context : "")
                           : (j->req->continuation ? j->req->continuation : "");
    size_t lc = j->req->kind == HFE_REQ_ROLLING
                    ? 0
                    : cp_len(j->req->context ? j->req->context : "");
    size_t lf = lc + cp_len(cont);
    int n = cJSON_GetArraySize(toks), i, used = 0;

    if (!cJSON_IsArray(toks) || !cJSON_IsArray(tlp) || !cJSON_IsArray(off) ||
        cJSON_GetArraySize(tlp) != n || cJSON_GetArraySize(off) != n) {
        job_fail(p, j, HFE_EBACKEND,
                 "%s/v1/completions: expected logprobs with tokens, "
                 "token_logprobs and text_offset of equal length (echo)",
                 p->m->shown);
        return;
    }
    if (!(j->lp = calloc((size_t)n + 1, sizeof(*j->lp)))) {
        job_fail(p, j, HFE_ENOMEM, "out of memory");
        return;
    }
    r->logprob = 0;
    r->is_greedy = 1;
    for (i = 0; i < n; i++) {
        const char *t = cJSON_GetStringValue(cJSON_GetArrayItem(toks, i));
        const cJSON *v = cJSON_GetArrayItem(tlp, i);
        double at = cJSON_GetNumberValue(cJSON_GetArrayItem(off, i));
        const cJSON *best = NULL, *e;

        if (!t || !(at >= 0))
            continue;
        if ((size_t)at >= lf) /* the generated token */
            break;
        if ((size_t)at + cp_len(t) <= lc || (lc == 0 && i == 0))
            continue; /* context; or the first token, which has no lp */
        if (!cJSON_IsNumber(v)) {
            job_fail(p, j, HFE_EBACKEND,
                     "%s/v1/completions: token %d of the echo has no "
                     "log-probability",
                     p->m->shown, i);
            return;
        }
        j->lp[used++] = v->valuedouble;
        r->logprob += v->valuedouble;
        cJSON_ArrayForEach(e, cJSON_GetArrayItem(top, i))
        {
            if (cJSON_IsNumber(e) &&
                (!best || e->valuedouble > best->valuedouble))
                best = e;
        }
        if (best && best->string && strcmp(best->string, t) != 0)
            r->is_greedy = 0;
    }
    r->n_tokens = (uint32_t)used;
    if (!used && *cont) {
        job_fail(p, j, HFE_EBACKEND,
                 "%s/v1/completions: the echo holds no token of the "
                 "continuation",
                 p->m->shown);
        return;
    }
    if (j->req->kind == HFE_REQ_ROLLING) {
        r->n_bytes = strlen(cont);
        if (used &&
            !(r->token_logprobs = host->alloc((size_t)used * sizeof(float)))) {
            job_fail(p, j, HFE_ENOMEM, "out of memory");
            return;
        }
        for (i = 0; i < used; i++)
            r->token_logprobs[i] = (float)j->lp[i];
    }
}

static void on_gen_end(struct pump *p, struct ex *x)
{
    struct job *j = x->job;
    struct hfe_result *r = j->res;
    double t1 = now_ms();

    if (!(r->text = host->strdup(j->text.s ? j->text.s : ""))) {
        job_fail(p, j, HFE_ENOMEM, "out of memory");
        return;
    }
    if (!r->n_gen_tokens)
        r->n_gen_tokens = j->n_chunks;
    p->m->st.prompt_n += (uint64_t)x->tm[0];
    p->m->st.prompt_ms += x->tm[1];
    p->m->st.predicted_n += (uint64_t)x->tm[2];
    p->m->st.predicted_ms += x->tm[3];
    r->t_first_token_ms = x->t_first ? x->t_first - x->t0 : 0;
    r->t_total_ms = t1 - x->t0;
}

static bool retryable(CURLcode cc, long code)
{
    switch (cc) {
    case CURLE_OK:
        return code == 408 || code == 429 || code == 500 || code == 502 ||
               code == 503 || code == 504;
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

static void drop(struct pump *p, struct ex *x)
{
    struct job *j = x->job;

    ex_free(x);
    if (j && p->fatal && !j->failed) /* the key was refused: all fail */
        job_fail(p, j, HFE_EIO, "%s", p->fatal_msg);
    if (j && --j->pending == 0)
        settle(p, j);
}

/* An exchange is over: retry it, fail its job, or read its answer. */
static void ex_done(struct pump *p, struct ex *x, CURLcode cc)
{
    struct hfe_model *m = p->m;
    struct job *j = x->job;
    long code = 0;
    curl_off_t down = 0;
    char msg[512];
    const char *bad = NULL;
    bool again;
    cJSON *o = NULL;

    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(x->h, CURLINFO_SIZE_DOWNLOAD_T, &down);
    m->st.bytes_down += (uint64_t)down;
    curl_multi_remove_handle(m->multi, x->h);
    curl_easy_cleanup(x->h);
    x->h = NULL;
    for (struct ex **a = &p->active; *a; a = &(*a)->anext)
        if (*a == x) {
            *a = x->anext;
            break;
        }
    p->running--;
    if (j->failed || p->fatal) {
        drop(p, x);
        return;
    }
    if (cc == CURLE_WRITE_ERROR && x->sse_err == 2) {
        body_msg(x->resp.s, msg, sizeof(msg));
        job_fail(p, j, HFE_EBACKEND,
                 "%s%s: the server's stream ended in an "
                 "error: %s",
                 m->shown, x->path, msg);
        drop(p, x);
        return;
    }
    if (cc == CURLE_OK && code == 200 && x->what == EX_GEN &&
        (hfe_sse_end(&x->sse, on_event, x) != 0 || j->res->finish == 0))
        cc = CURLE_PARTIAL_FILE; /* a stream cut short: ask again */
    if (cc == CURLE_OK && code == 200 && x->what != EX_GEN &&
        !(o = cJSON_Parse(x->resp.s ? x->resp.s : "")))
        bad = "the answer is not JSON (cut short?)"; /* ask again */
    again = bad || retryable(cc, code);
    if (cc == CURLE_OPERATION_TIMEDOUT &&
        now_ms() - x->t0 >= 0.9 * (double)m->timeout_ms)
        again = false; /* the whole time spent: asking again will not help */
    if (again) {
        const char *why = bad ? bad : cc ? curl_easy_strerror(cc) : NULL;

        if (x->attempt < m->retries && m->st.retries < m->budget) {
            /* the whole model waits, not this request alone: a server that
             * is down refuses every request at once, and they must not
             * spend their retries in one go */
            unsigned s = p->streak < 30 ? p->streak : 30;
            double d = m->backoff_ms * ldexp(1.0, (int)s), now = now_ms();

            if (d > m->backoff_max_ms)
                d = m->backoff_max_ms;
            d *= 0.5 + 0.5 * rnd(m); /* jitter */
            if (x->retry_after_s >= 0)
                d = x->retry_after_s * 1e3;
            p->streak++;
            if (p->hold_until < now + d)
                p->hold_until = now + d;
            d = p->hold_until - now;
            x->attempt++;
            m->st.retries++;
            x->not_before = p->hold_until;
            x->next = p->delayed;
            p->delayed = x;
            if (why)
                host->log(HFE_LOG_DEBUG, "http",
                          "%s%s: %s, retry %u in %.0f ms", m->shown, x->path,
                          why, x->attempt, d);
            else
                host->log(HFE_LOG_DEBUG, "http",
                          "%s%s: HTTP %ld, retry %u in %.0f ms", m->shown,
                          x->path, code, x->attempt, d);
            return;
        }
        if (why)
            job_fail(p, j, HFE_EIO, "%s%s: %s (gave up after %u attempts%s)",
                     m->shown, x->path, why, x->attempt + 1,
                     m->st.retries >= m->budget ? ", retry budget spent" : "");
        else
            job_fail(p, j, HFE_EIO,
                     "%s%s: HTTP %ld (gave up after %u attempts%s)", m->shown,
                     x->path, code, x->attempt + 1,
                     m->st.retries >= m->budget ? ", retry budget spent" : "");
        drop(p, x);
        return;
    }
    if (cc != CURLE_OK) {
        job_fail(p, j, HFE_EIO, "%s%s: %s", m->shown, x->path,
                 curl_easy_strerror(cc));
        drop(p, x);
        return;
    }
    if (code == 401 || code == 403) {
        p->fatal = 1;
        snprintf(p->fatal_msg, sizeof(p->fatal_msg),
                 "%s%s: the server refused the API key (HTTP %ld)", m->shown,
                 x->path, code);
        job_fail(p, j, HFE_EIO, "%s", p->fatal_msg);
        drop(p, x);
        return;
    }
    if (code != 200) {
        body_msg(x->resp.s, msg, sizeof(msg));
        job_fail(p, j,
                 strstr(msg, "context") || strstr(msg, "too long")
                     ? HFE_ETOOLONG
                     : HFE_EBACKEND,
                 "%s%s: HTTP %ld: %s", m->shown, x->path, code, msg);
        drop(p, x);
        return;
    }
    p->streak = 0;
    switch (x->what) {
    case EX_GEN:
        on_gen_end(p, x);
        break;
    case EX_TOK_CTX:
    case EX_TOK_FULL: {
        int32_t *t;
        uint32_t *pb = NULL;
        int n = int_array(cJSON_GetObjectItemCaseSensitive(o, "tokens"), &t,
                          j->req->kind == HFE_REQ_ROLLING ? &pb : NULL);

        if (n < 0) {
            free(t);
            free(pb);
            job_fail(p, j, HFE_EBACKEND,
                     "%s/tokenize: expected {\"tokens\": [ids]}", m->shown);
            break;
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
                group_ready(p, j);
            else
                plan_force(p, j);
        }
        break;
    }
    case EX_FORCE:
        on_force(p, x, o);
        break;
    case EX_ECHO:
        on_echo(p, x, o);
        break;
    }
    cJSON_Delete(o);
    ex_free(x);
    if (--j->pending == 0)
        settle(p, j);
}

/* A job's last exchange is over. */
static void settle(struct pump *p, struct job *j)
{
    if (j->bias && !j->failed)
        sum_loglik(p, j);
    job_finish(p, j);
}

/* --- the pump
 * ----------------------------------------------------------------- */

static void cancel_all(struct pump *p)
{
    struct ex *x, *nx;

    for (x = p->head; x; x = nx) {
        nx = x->next;
        ex_free(x);
    }
    for (x = p->delayed; x; x = nx) {
        nx = x->next;
        ex_free(x);
    }
    p->head = p->tail = p->delayed = NULL;
}

/* Runs every queued exchange to its end.  Returns HFE_OK, or
 * HFE_ECANCELED when the host stopped the run. */
static int pump_run(struct pump *p)
{
    struct hfe_model *m = p->m;
    int still = 0;

    for (;;) {
        double now = now_ms(), wait = 500;
        struct ex **pp = &p->delayed, *x;
        CURLMsg *msg;
        int q;

        while (*pp) { /* back from their backoff, to the front */
            x = *pp;
            if (x->not_before <= now) {
                *pp = x->next;
                push_front(p, x);
            } else {
                if (x->not_before - now < wait)
                    wait = x->not_before - now;
                pp = &x->next;
            }
        }
        if (host->cancelled())
            return HFE_ECANCELED;
        if (p->hold_until > now && p->hold_until - now < wait)
            wait = p->hold_until - now;
        while (p->running < m->conc && p->head && p->hold_until <= now) {
            x = p->head;
            p->head = x->next;
            if (!p->head)
                p->tail = NULL;
            if (x->job->failed || p->fatal) {
                drop(p, x);
                continue;
            }
            if (start(p, x)) {
                job_fail(p, x->job, HFE_ENOMEM, "could not start a request");
                drop(p, x);
            }
        }
        if (!p->running && !p->head && !p->delayed)
            return HFE_OK;
        curl_multi_perform(m->multi, &still);
        while ((msg = curl_multi_info_read(m->multi, &q))) {
            struct ex *done = NULL;
            CURLcode cc = msg->data.result;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &done);
            ex_done(p, done, cc);
        }
        if (p->head && p->running < m->conc && p->hold_until <= now_ms())
            continue;
        if (p->running || p->delayed || p->head)
            curl_multi_poll(m->multi, NULL, 0, wait < 1 ? 1 : (int)wait, NULL);
    }
}

static int job_plan(struct pump *p, struct job *j)
{
    struct hfe_model *m = p->m;
    const struct hfe_request *r = j->req;
    const char *path = NULL;
    struct ex *x = NULL, *y = NULL;

    switch (r->kind) {
    case HFE_REQ_GENERATE: {
        char *b = body_gen(m, r, &path);

        x = ex_new(p, j, EX_GEN, path, b);
        break;
    }
    case HFE_REQ_LOGLIK:
    case HFE_REQ_ROLLING:
        if (r->kind == HFE_REQ_ROLLING &&
            (r->top_k || (r->flags & HFE_REQF_PPL_WINDOWS) || r->n_ctx)) {
            job_fail(p, j, HFE_ENOTSUP,
                     "the http backend scores a text whole: no windows and "
                     "no top-k log-probabilities");
            return 0;
        }
        if (m->ll == LL_ECHO) {
            char *full;

            if (r->kind == HFE_REQ_ROLLING)
                full = strdup(r->context ? r->context : "");
            else if (asprintf(&full, "%s%s", r->context ? r->context : "",
                              r->continuation ? r->continuation : "") < 0)
                full = NULL;
            x = full ? ex_new(p, j, EX_ECHO, "/v1/completions",
                              body_echo(m, full))
                     : NULL;
            free(full);
            break;
        }
        j->bias = true;
        if (r->kind == HFE_REQ_LOGLIK) {
            char *full;

            if (asprintf(&full, "%s%s", r->context ? r->context : "",
                         r->continuation ? r->continuation : "") < 0)
                return -1;
            y = ex_new(p, j, EX_TOK_CTX, "/tokenize",
                       body_tokenize(r->context ? r->context : "", false));
            x = ex_new(p, j, EX_TOK_FULL, "/tokenize",
                       body_tokenize(full, false));
            free(full);
        } else {
            x = ex_new(p, j, EX_TOK_FULL, "/tokenize",
                       body_tokenize(r->context ? r->context : "", true));
        }
        break;
    default:
        job_fail(p, j, HFE_ENOTSUP, "unknown request kind %u", r->kind);
        return 0;
    }
    if (!x || !x->body || (j->bias && r->kind == HFE_REQ_LOGLIK && !y) ||
        (y && !y->body)) {
        ex_free(x);
        ex_free(y);
        return -1;
    }
    if (y)
        push_back(p, y);
    push_back(p, x);
    return 0;
}

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

static int http_submit(struct hfe_model *m, const struct hfe_batch *b)
{
    struct pump p = {.m = m, .b = b};
    int rc = HFE_OK;
    size_t i;

    if (!b->n)
        return HFE_OK;
    if (!(p.jobs = calloc(b->n, sizeof(*p.jobs))))
        return HFE_ENOMEM;
    for (i = 0; i < b->n; i++) {
        struct job *j = &p.jobs[i], *prev = i ? &p.jobs[i - 1] : NULL;

        j->req = b->req[i];
        j->res = b->res[i];
        j->index = i;
        if (m->ll == LL_BIAS && j->req->kind == HFE_REQ_LOGLIK &&
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
    for (i = 0; i < b->n; i++) {
        struct job *j = &p.jobs[i];

        if (j->lead && j->lead->g_n < 2)
            j->lead = NULL; /* a lone choice keeps its own boundary */
        if (job_plan(&p, j) != 0) {
            rc = HFE_ENOMEM;
            break;
        }
        if (j->lead)
            j->pending++;     /* held until the whole item is tokenized */
        else if (!j->pending) /* refused at once */
            job_finish(&p, j);
    }
    if (rc == HFE_OK)
        rc = pump_run(&p);
    if (rc != HFE_OK) { /* whatever is still open stops here */
        struct ex *x, *nx;

        cancel_all(&p);
        for (x = p.active; x; x = nx) {
            nx = x->anext;
            curl_multi_remove_handle(m->multi, x->h);
            curl_easy_cleanup(x->h);
            ex_free(x);
        }
        p.active = NULL;
    }
    for (i = 0; i < b->n; i++) {
        struct job *j = &p.jobs[i];

        if (!j->finished) {
            set_err(j->res, rc == HFE_ECANCELED ? HFE_ECANCELED : HFE_EBACKEND,
                    rc == HFE_ECANCELED ? "cancelled" : "not run");
        }
        free(j->ctx);
        free(j->full);
        free(j->pbytes);
        free(j->lp);
        free(j->greedy);
        buf_free(&j->text);
    }
    if (p.fatal && rc == HFE_OK) {
        host->log(HFE_LOG_ERROR, "http", "%s", p.fatal_msg);
        rc = HFE_EIO;
    }
    free(p.jobs);
    return rc;
}

/* --- opening: what the server is and serves --------------------------------
 */

/* One GET, retried as requests are (at most 3 attempts: a server that is
 * not there should be said so soon).  Returns the HTTP status, or -1 with
 * the reason in err. */
static long get_json(struct hfe_model *m, const char *path, cJSON **out,
                     char *err, size_t err_size);

/* The same for a text answer (/metrics): *out is malloc'ed, or NULL. */
static long get_text(struct hfe_model *m, const char *path, char **out,
                     char *err, size_t err_size);

static long get_any(struct hfe_model *m, const char *path, cJSON **out,
                    char **text, char *err, size_t err_size)
{
    struct ex x = {0};
    char url[2048];
    long code = 0;
    CURLcode cc = CURLE_OK;
    unsigned a;

    if (out)
        *out = NULL;
    if (text)
        *text = NULL;
    snprintf(url, sizeof(url), "%s%s", m->root, path);
    for (a = 0; a < 3; a++) {
        CURL *h = curl_easy_init();

        buf_free(&x.resp);
        if (!h) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        x.what = EX_TOK_CTX; /* any but EX_GEN: the body is kept */
        x.retry_after_s = -1;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, m->hdr);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, m->connect_ms);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, m->connect_ms * 3);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        x.h = h;
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
        if (!retryable(cc, code))
            break;
        {
            double d = x.retry_after_s >= 0 ? x.retry_after_s * 1e3
                                            : m->backoff_ms * (1 << a);
            struct timespec ts = {(time_t)(d / 1e3),
                                  (long)fmod(d, 1e3) * 1000000L};

            nanosleep(&ts, NULL);
        }
    }
    if (cc != CURLE_OK) {
        snprintf(err, err_size, "cannot reach %s%s: %s", m->shown, path,
                 curl_easy_strerror(cc));
        buf_free(&x.resp);
        return -1;
    }
    if (code == 200 && text) {
        *text = x.resp.s ? x.resp.s : strdup("");
        if (!*text) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        return code;
    }
    if (code == 200 && !(*out = cJSON_Parse(x.resp.s ? x.resp.s : ""))) {
        snprintf(err, err_size, "%s%s: the answer is not JSON: %.120s",
                 m->shown, path, x.resp.s ? x.resp.s : "");
        buf_free(&x.resp);
        return -1;
    }
    if (code != 200)
        body_msg(x.resp.s, err, err_size);
    buf_free(&x.resp);
    return code;
}

static long get_json(struct hfe_model *m, const char *path, cJSON **out,
                     char *err, size_t err_size)
{
    return get_any(m, path, out, NULL, err, err_size);
}

static long get_text(struct hfe_model *m, const char *path, char **out,
                     char *err, size_t err_size)
{
    return get_any(m, path, NULL, out, err, err_size);
}

/* llama-server's Prometheus counters (with --metrics): those worth a
 * record.  Counters are kept from open() on, so that stats show this
 * model's share. */
static const char *const metric_names[] = {
    "prompt_tokens_total",     "prompt_tokens_cached_total",
    "tokens_predicted_total",  "n_decode_total",
    "n_busy_slots_per_decode",
};
#define N_METRICS (sizeof(metric_names) / sizeof(*metric_names))

static int read_metrics(struct hfe_model *m, double *v)
{
    char err[256], *text = NULL, *line, *save = NULL;
    long code = get_text(m, "/metrics", &text, err, sizeof(err));
    size_t i;

    if (code != 200) {
        free(text);
        return -1;
    }
    for (i = 0; i < N_METRICS; i++)
        v[i] = NAN;
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "llamacpp:", 9) != 0)
            continue;
        for (i = 0; i < N_METRICS; i++) {
            size_t n = strlen(metric_names[i]);

            if (!strncmp(line + 9, metric_names[i], n) && line[9 + n] == ' ')
                v[i] = strtod(line + 10 + n, NULL);
        }
    }
    free(text);
    return 0;
}

static int opt_uint(const char *key, const char *v, unsigned lo, unsigned hi,
                    unsigned *out, char *err, size_t err_size)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);

    if (!*v || *end || n < lo || n > hi || *v == '-') {
        snprintf(err, err_size, "%s=%s: expected a whole number from %u to %u",
                 key, v, lo, hi);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

static void wipe_key(struct hfe_model *m)
{
    struct curl_slist *s;

    for (s = m->hdr; s; s = s->next)
        if (s->data)
            explicit_bzero(s->data, strlen(s->data));
    curl_slist_free_all(m->hdr);
    m->hdr = NULL;
    if (m->key_header) {
        explicit_bzero(m->key_header, strlen(m->key_header));
        free(m->key_header);
        m->key_header = NULL;
    }
}

static void http_close(struct hfe_model *m)
{
    size_t i;

    if (!m)
        return;
    wipe_key(m);
    if (m->multi)
        curl_multi_cleanup(m->multi);
    for (i = 0; i < m->n_kv; i++)
        free((char *)m->kv[i].value);
    free(m->kv);
    free(m->root);
    free(m->shown);
    free(m->served);
    free(m->build);
    free(m->model_path);
    free(m->chat_template);
    free(m->quant);
    free(m);
}

/* The URL as a root: no trailing '/' or "/v1"; and as shown in messages,
 * without user:password. */
static int set_root(struct hfe_model *m, const char *uri)
{
    size_t n = strlen(uri), len;
    const char *auth, *at, *slash;

    while (n && uri[n - 1] == '/')
        n--;
    if (n >= 3 && strncmp(uri + n - 3, "/v1", 3) == 0)
        n -= 3;
    if (!(m->root = strndup(uri, n)))
        return -1;
    auth = strstr(m->root, "://");
    auth = auth ? auth + 3 : m->root;
    slash = strchr(auth, '/');
    len = slash ? (size_t)(slash - auth) : strlen(auth);
    at = memchr(auth, '@', len);
    if (!at)
        return (m->shown = strdup(m->root)) ? 0 : -1;
    if (asprintf(&m->shown, "%.*s%s", (int)(auth - m->root), m->root, at + 1) <
        0) {
        m->shown = NULL;
        return -1;
    }
    return 0;
}

static char *json_str(const char *s)
{
    cJSON *v = cJSON_CreateString(s ? s : "");
    char *o = v ? cJSON_PrintUnformatted(v) : NULL;

    cJSON_Delete(v);
    return o;
}

static void add_kv(struct hfe_model *m, const char *key, const char *type,
                   char *value)
{
    struct hfe_kv *kv;

    if (!value)
        return;
    if (!(kv = realloc(m->kv, (m->n_kv + 1) * sizeof(*kv)))) {
        free(value);
        return;
    }
    m->kv = kv;
    kv[m->n_kv++] = (struct hfe_kv){key, type, value};
}

static char *num_str(double v)
{
    char *s;

    return asprintf(&s, "%.17g", v) < 0 ? NULL : s;
}

static int http_open(const char *uri, const struct hfe_option *opts,
                     size_t n_opts, struct hfe_model **out, char *err,
                     size_t err_size)
{
    struct hfe_model *m = calloc(1, sizeof(*m));
    const char *want = NULL, *api = "auto", *ll = "auto", *keyenv = NULL;
    unsigned conc = 0, v;
    cJSON *models = NULL, *props = NULL;
    const cJSON *e;
    long code;
    size_t i;
    int rc = HFE_EINVAL;

    *out = NULL;
    if (!curl_started) { /* the host calls open from one thread */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, err_size, "libcurl cannot start");
            free(m);
            return HFE_EBACKEND;
        }
        curl_started = 1;
    }
    if (!m || set_root(m, uri)) {
        snprintf(err, err_size, "out of memory");
        http_close(m);
        return HFE_ENOMEM;
    }
    m->retries = 8;
    m->budget = 1000;
    m->connect_ms = 10000;
    m->timeout_ms = 600000;
    m->idle_s = 60;
    m->backoff_ms = 250;
    m->backoff_max_ms = 8000;
    m->rng = (uint64_t)now_ms() * 0x9E3779B97F4A7C15ull | 1;
    for (i = 0; i < n_opts; i++) {
        const char *k = opts[i].key, *val = opts[i].value;

        if (!strcmp(k, "model"))
            want = val;
        else if (!strcmp(k, "api"))
            api = val;
        else if (!strcmp(k, "loglik"))
            ll = val;
        else if (!strcmp(k, "api_key_env"))
            keyenv = val;
        else if (!strcmp(k, "concurrency")) {
            if (opt_uint(k, val, 1, 1024, &conc, err, err_size))
                goto fail;
        } else if (!strcmp(k, "retries")) {
            if (opt_uint(k, val, 0, 100, &m->retries, err, err_size))
                goto fail;
        } else if (!strcmp(k, "retry_budget")) {
            if (opt_uint(k, val, 0, 1000000000, &m->budget, err, err_size))
                goto fail;
        } else if (!strcmp(k, "connect_timeout") || !strcmp(k, "timeout") ||
                   !strcmp(k, "idle_timeout")) {
            if (opt_uint(k, val, 1, 86400, &v, err, err_size))
                goto fail;
            if (k[0] == 'c')
                m->connect_ms = v * 1000L;
            else if (k[0] == 't')
                m->timeout_ms = v * 1000L;
            else
                m->idle_s = v;
        } else if (!strcmp(k, "backoff") || !strcmp(k, "backoff_max")) {
            if (opt_uint(k, val, 1, 600000, &v, err, err_size))
                goto fail;
            *(k[7] ? &m->backoff_max_ms : &m->backoff_ms) = v;
        } else {
            snprintf(err, err_size, "unknown option '%s'", k);
            goto fail;
        }
    }
    if (strcmp(api, "auto") && strcmp(api, "llama") && strcmp(api, "openai")) {
        snprintf(err, err_size, "api=%s: expected auto, llama or openai", api);
        goto fail;
    }
    if (strcmp(ll, "auto") && strcmp(ll, "logit_bias") && strcmp(ll, "echo")) {
        snprintf(err, err_size, "loglik=%s: expected auto, logit_bias or echo",
                 ll);
        goto fail;
    }
    if (!(m->hdr = curl_slist_append(NULL, "Content-Type: application/json")))
        goto oom;
    if (keyenv) {
        const char *key = getenv(keyenv);
        struct curl_slist *h;

        if (!key || !*key) {
            snprintf(err, err_size,
                     "api_key_env=%s: the environment has no %s (or it is "
                     "empty)",
                     keyenv, keyenv);
            goto fail;
        }
        for (const char *c = key; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                snprintf(err, err_size,
                         "api_key_env=%s: the key holds a control character",
                         keyenv);
                goto fail;
            }
        if (asprintf(&m->key_header, "Authorization: Bearer %s", key) < 0) {
            m->key_header = NULL;
            goto oom;
        }
        if (!(h = curl_slist_append(m->hdr, m->key_header)))
            goto oom;
        m->hdr = h;
        explicit_bzero(m->key_header, strlen(m->key_header));
    }

    /* /v1/models: reachable, and which models */
    rc = HFE_EIO;
    code = get_json(m, "/v1/models", &models, err, err_size);
    if (code < 0)
        goto fail;
    if (code == 401 || code == 403) {
        snprintf(err, err_size,
                 "%s/v1/models: the server refused %s (HTTP %ld)", m->shown,
                 keyenv ? "the API key" : "us: no API key given", code);
        goto fail;
    }
    if (code != 200) {
        char why[256];

        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, err_size, "%s/v1/models: HTTP %ld: %s", m->shown, code,
                 why);
        goto fail;
    }
    {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(models, "data");
        char have[512] = "";
        size_t hl = 0;

        cJSON_ArrayForEach(e, data)
        {
            const char *id =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "id"));
            const cJSON *meta = cJSON_GetObjectItemCaseSensitive(e, "meta");

            if (!id)
                continue;
            if (hl < sizeof(have))
                hl += (size_t)snprintf(have + hl, sizeof(have) - hl, "%s%s",
                                       hl ? ", " : "", id);
            if (m->served || (want && strcmp(want, id)))
                continue;
            if (!(m->served = strdup(id)))
                goto oom;
            if (cJSON_IsObject(meta)) {
                const cJSON *x;

                if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(
                                       meta, "n_ctx_train")))
                    m->n_ctx_train = (uint32_t)x->valuedouble;
                if (cJSON_IsNumber(
                        x = cJSON_GetObjectItemCaseSensitive(meta, "n_vocab")))
                    m->n_vocab = (uint32_t)x->valuedouble;
                if (cJSON_IsNumber(
                        x = cJSON_GetObjectItemCaseSensitive(meta, "n_params")))
                    m->n_params = (uint64_t)x->valuedouble;
                if (cJSON_IsNumber(
                        x = cJSON_GetObjectItemCaseSensitive(meta, "size")))
                    m->size = (uint64_t)x->valuedouble;
            }
        }
        if (!m->served) {
            rc = HFE_ENOTFOUND;
            if (want)
                snprintf(err, err_size,
                         "%s: unknown model '%s' (the server serves: %s)",
                         m->shown, want, hl ? have : "nothing");
            else
                snprintf(err, err_size,
                         "%s/v1/models: the server lists no "
                         "model",
                         m->shown);
            goto fail;
        }
    }

    /* /props: llama-server, and its slots */
    m->flavor = FL_OPENAI;
    if (strcmp(api, "openai")) {
        code = get_json(m, "/props", &props, err, err_size);
        if (code == 401 || code == 403) {
            snprintf(err, err_size,
                     "%s/props: the server refused %s (HTTP %ld)", m->shown,
                     keyenv ? "the API key" : "us: no API key given", code);
            goto fail;
        }
        e = cJSON_GetObjectItemCaseSensitive(props, "total_slots");
        if (code == 200 && cJSON_IsNumber(e)) {
            const cJSON *dg = cJSON_GetObjectItemCaseSensitive(
                props, "default_generation_settings");
            const cJSON *nc = cJSON_GetObjectItemCaseSensitive(dg, "n_ctx");

            m->flavor = FL_LLAMA;
            m->slots = e->valuedouble >= 1 && e->valuedouble <= 1024
                           ? (uint32_t)e->valuedouble
                           : 4;
            m->metrics = cJSON_IsTrue(
                cJSON_GetObjectItemCaseSensitive(props, "endpoint_metrics"));
            if (cJSON_IsNumber(nc))
                m->n_ctx = (uint32_t)nc->valuedouble;
            m->build = xstrdup(cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(props, "build_info")));
            m->model_path = xstrdup(cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(props, "model_path")));
            m->chat_template = xstrdup(cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(props, "chat_template")));
            { /* "all F32", "Q4_0", "mostly Q8_0": the type alone */
                const char *ft = cJSON_GetStringValue(
                    cJSON_GetObjectItemCaseSensitive(props, "model_ftype"));
                const char *sp = ft ? strrchr(ft, ' ') : NULL;

                m->quant = xstrdup(sp ? sp + 1 : ft);
            }
        } else if (!strcmp(api, "llama")) {
            snprintf(err, err_size,
                     "%s/props: api=llama, but the server does not answer as "
                     "llama-server does (no total_slots)",
                     m->shown);
            goto fail;
        }
    }
    m->ll = !strcmp(ll, "echo")         ? LL_ECHO
            : !strcmp(ll, "logit_bias") ? LL_BIAS
            : m->flavor == FL_LLAMA     ? LL_BIAS
                                        : LL_ECHO;
    if (m->ll == LL_BIAS && m->flavor != FL_LLAMA) {
        rc = HFE_EINVAL;
        snprintf(err, err_size,
                 "loglik=logit_bias needs llama-server's /tokenize and "
                 "/completion; %s is not llama-server",
                 m->shown);
        goto fail;
    }
    m->conc = conc ? conc : m->slots ? m->slots : 4;
    if (m->metrics && read_metrics(m, m->metrics0) != 0)
        m->metrics = false;
    if (!(m->multi = curl_multi_init()))
        goto oom;
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)m->conc);
    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)m->conc + 4);

    add_kv(m, "server.url", "str", json_str(m->shown));
    add_kv(m, "server.api", "str",
           json_str(m->flavor == FL_LLAMA ? "llama-server" : "openai"));
    add_kv(m, "server.model", "str", json_str(m->served));
    add_kv(m, "server.loglik", "str",
           json_str(m->ll == LL_BIAS ? "logit_bias" : "echo"));
    add_kv(m, "server.concurrency", "u32", num_str(m->conc));
    if (m->slots)
        add_kv(m, "server.total_slots", "u32", num_str(m->slots));
    if (m->n_ctx)
        add_kv(m, "server.n_ctx", "u32", num_str(m->n_ctx));
    if (m->build)
        add_kv(m, "server.build", "str", json_str(m->build));
    if (m->model_path)
        add_kv(m, "server.model_path", "str", json_str(m->model_path));
    cJSON_Delete(models);
    cJSON_Delete(props);
    *out = m;
    return HFE_OK;
oom:
    rc = HFE_ENOMEM;
    snprintf(err, err_size, "out of memory");
fail:
    cJSON_Delete(models);
    cJSON_Delete(props);
    http_close(m);
    return rc;
}

static int http_info(struct hfe_model *m, struct hfe_model_info *info)
{
    info->name = m->served;
    info->architecture = NULL;     /* a server does not say */
    info->quantization = m->quant; /* llama-server's model_ftype */
    info->chat_template = m->chat_template;
    info->n_params = m->n_params;
    info->file_size = m->size;
    info->n_ctx_train = m->n_ctx_train;
    info->n_ctx = m->n_ctx;
    info->n_vocab = m->n_vocab;
    info->n_kv = m->n_kv;
    info->kv = m->kv;
    return HFE_OK;
}

static void stat_set(struct hfe_model *m, size_t i, const char *key,
                     const char *type, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void stat_set(struct hfe_model *m, size_t i, const char *key,
                     const char *type, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m->svbuf[i], sizeof(m->svbuf[i]), fmt, ap);
    va_end(ap);
    m->sv[i] = (struct hfe_kv){key, type, m->svbuf[i]};
}

static int http_measure(struct hfe_model *m, struct hfe_measure *out)
{
    size_t n = 0;

    out->n_prompt_tokens = m->st.prompt_n;
    out->prompt_ms = m->st.prompt_ms;
    out->n_decode_tokens = m->st.predicted_n;
    out->decode_ms = m->st.predicted_ms;
    out->n_mem = 0;
    out->mem = NULL;
    stat_set(m, n++, "loglik_method", "str", "\"%s\"",
             m->ll == LL_BIAS ? "logit_bias" : "echo");
    stat_set(m, n++, "requests", "u64", "%llu",
             (unsigned long long)m->st.requests);
    stat_set(m, n++, "loglik_requests", "u64", "%llu",
             (unsigned long long)m->st.ll_requests);
    stat_set(m, n++, "retries", "u64", "%llu",
             (unsigned long long)m->st.retries);
    stat_set(m, n++, "failed", "u64", "%llu", (unsigned long long)m->st.failed);
    stat_set(m, n++, "bytes_sent", "u64", "%llu",
             (unsigned long long)m->st.bytes_up);
    stat_set(m, n++, "bytes_received", "u64", "%llu",
             (unsigned long long)m->st.bytes_down);
    stat_set(m, n++, "concurrency", "u32", "%u", m->conc);
    if (m->metrics) {
        double v[8];
        size_t i;

        if (read_metrics(m, v) == 0)
            for (i = 0; i < N_METRICS && n < 16; i++) {
                bool counter = strstr(metric_names[i], "_total") != NULL;
                double x = counter ? v[i] - m->metrics0[i] : v[i];

                if (!isnan(x))
                    stat_set(m, n++, metric_names[i], "f64", "%.6g", x);
            }
    }
    if (HFE_HAS_FIELD(out, struct hfe_measure, stats)) {
        out->n_stats = n;
        out->stats = m->sv;
    }
    return HFE_OK;
}

static const char *const handles[] = {"http://", "https://", NULL};
static const char *const options[] = {
    "model",           "api",          "loglik",  "concurrency",  "timeout",
    "connect_timeout", "idle_timeout", "retries", "retry_budget", "backoff",
    "backoff_max",     "api_key_env",  NULL};

static const struct hfe_backend backend = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_backend),
    .name = "http",
    .version = VERSION,
    .description = "OpenAI-compatible servers: llama-server, vLLM, SGLang, "
                   "TGI, Ollama",
    .caps = HFE_CAP_LOGLIK | HFE_CAP_ROLLING | HFE_CAP_GENERATE | HFE_CAP_CHAT |
            HFE_CAP_SAMPLING | HFE_CAP_MEASURE | HFE_CAP_BATCH,
    .handles = handles,
    .options = options,
    .open = http_open,
    .close = http_close,
    .info = http_info,
    .submit = http_submit,
    .measure = http_measure,
};

/* libcurl (and its TLS library) starts with the first model opened, not
 * when the module is loaded: `hfeval plugins` and a run's parent process,
 * which load every module, never touch it (and LeakSanitizer's tracer
 * trips over TLS blocks OpenSSL sets up but never uses there). */
HFE_EXPORT const struct hfe_backend *hfe_plugin_entry(const struct hfe_host *h)
{
    host = h;
    return &backend;
}

#ifdef HFE_HTTP_FUZZ
/* For tests/fuzz/fuzz_http.c: the answer parsers on untrusted bytes.  The
 * first byte picks what the rest is: a streamed generation (fed in pieces
 * of 1 to 8 bytes), a forced token's answer, an echo, or /tokenize's. */
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

HFE_EXPORT int hfe_http_fuzz(const uint8_t *d, size_t n);
HFE_EXPORT int hfe_http_fuzz(const uint8_t *d, size_t n)
{
    struct hfe_model m = {0};
    struct hfe_request rq;
    struct hfe_result rs;
    struct hfe_batch b;
    struct pump p = {0};
    struct job j = {0};
    struct ex *x = calloc(1, sizeof(*x));
    int32_t full[4] = {1, 5, 6, 7};
    int mode;
    cJSON *o = NULL;

    if (!x || !n) {
        free(x);
        return 0;
    }
    host = &fz_host;
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
        size_t off = 0, k;

        while (off < n) {
            k = 1 + (d[off] & 7);
            k = k < n - off ? k : n - off;
            if (hfe_sse_feed(&x->sse, (const char *)d + off, k, on_event, x))
                break;
            off += k;
        }
        hfe_sse_end(&x->sse, on_event, x);
        on_gen_end(&p, x);
    } else if ((o = cJSON_ParseWithLength((const char *)d, n))) {
        if (mode == 1) {
            j.full = full;
            j.nfull = 4;
            j.k = 1;
            j.lp = calloc(3, sizeof(*j.lp));
            j.greedy = calloc(3, sizeof(*j.greedy));
            x->pos = 1;
            if (j.lp && j.greedy)
                on_force(&p, x, o);
            free(j.lp);
            free(j.greedy);
        } else if (mode == 2) {
            on_echo(&p, x, o);
            free(j.lp);
        } else {
            int32_t *t = NULL;
            uint32_t *pb = NULL;

            int_array(cJSON_GetObjectItemCaseSensitive(o, "tokens"), &t, &pb);
            free(t);
            free(pb);
        }
        cJSON_Delete(o);
    }
    free(rs.error);
    free(rs.text);
    free(rs.token_logprobs);
    buf_free(&j.text);
    ex_free(x);
    return 0;
}
#endif
