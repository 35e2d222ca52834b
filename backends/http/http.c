/*
 * http.c - the `http` backend: models served by llama-server, vLLM, SGLang,
 * TGI or Ollama through their OpenAI-compatible API.
 *
 * A model list names it by URL:
 *
 *     served  http://127.0.0.1:8080  model=qwen api_key_env=SERVER_KEY
 *
 * Options (all optional; options.c holds their table, which the parser and
 * the module table both read):
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
 *
 * The files: this one (the module table, open, close, info, measure, and
 * the helpers they all use), options.c (the option table and its parser),
 * discover.c (/v1/models, /props, /metrics), submit.c (a batch and the
 * pump), transfer.c (one exchange, retries), generate.c (streamed
 * generations), loglik.c (log-likelihoods), bodies.c (request bodies),
 * sse.c (server-sent events); http_int.h is what they share.
 */
#define _GNU_SOURCE /* asprintf */

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

#include "http_int.h"

#define VERSION "0.1.0"

const struct hfe_host *http_host;
static int curl_started;

/* ---- helpers ------------------------------------------------------------ */

int http_buf_add(struct buf *b, const char *s, size_t n)
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

int http_buf_puts(struct buf *b, const char *s)
{
    return http_buf_add(b, s, strlen(s));
}

void http_buf_free(struct buf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

double http_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void http_set_err(struct hfe_result *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->status = status;
    if (r->error)
        http_host->free(r->error);
    r->error = http_host->strdup(msg);
}

void http_body_msg(const char *body, char *out, size_t cap)
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

int http_oom(char *err, size_t err_size)
{
    snprintf(err, err_size, "out of memory");
    return HFE_ENOMEM;
}

/* ---- close -------------------------------------------------------------- */

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

/* ---- open, in phases ---------------------------------------------------- */

/* libcurl (and its TLS library) starts with the first model opened, not
 * when the module is loaded: `hfeval plugins` and a run's parent process,
 * which load every module, never touch it (and LeakSanitizer's tracer
 * trips over TLS blocks OpenSSL sets up but never uses there).  The host
 * calls open from one thread. */
static int start_curl(char *err, size_t err_size)
{
    if (curl_started)
        return HFE_OK;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, err_size, "libcurl cannot start");
        return HFE_EBACKEND;
    }
    curl_started = 1;
    return HFE_OK;
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

/* The retry and timeout options, in the units the transfers use. */
static void use_options(struct hfe_model *m, const struct http_opts *o)
{
    m->retries = o->retries;
    m->budget = o->retry_budget;
    m->connect_ms = o->connect_timeout * 1000L;
    m->timeout_ms = o->timeout * 1000L;
    m->idle_s = o->idle_timeout;
    m->backoff_ms = o->backoff;
    m->backoff_max_ms = o->backoff_max;
}

/* The headers of every request: Content-Type, and with api_key_env the
 * key, which then lives only in the header list (the string it was made
 * from is wiped at once, the list by wipe_key at close). */
static int set_headers(struct hfe_model *m, const char *keyenv, char *err,
                       size_t err_size)
{
    const char *key;
    struct curl_slist *h;

    m->hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (!m->hdr)
        return http_oom(err, err_size);
    if (!keyenv)
        return HFE_OK;
    key = getenv(keyenv);
    if (!key || !*key) {
        snprintf(err, err_size,
                 "api_key_env=%s: the environment has no %s (or it is "
                 "empty)",
                 keyenv, keyenv);
        return HFE_EINVAL;
    }
    for (const char *c = key; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            snprintf(err, err_size,
                     "api_key_env=%s: the key holds a control character",
                     keyenv);
            return HFE_EINVAL;
        }
    if (asprintf(&m->key_header, "Authorization: Bearer %s", key) < 0) {
        m->key_header = NULL;
        return http_oom(err, err_size);
    }
    h = curl_slist_append(m->hdr, m->key_header);
    if (!h)
        return http_oom(err, err_size);
    m->hdr = h;
    explicit_bzero(m->key_header, strlen(m->key_header));
    return HFE_OK;
}

/* How a continuation is scored: as loglik= says, else logit_bias on
 * llama-server and echo elsewhere. */
static int choose_method(struct hfe_model *m, const char *ll, char *err,
                         size_t err_size)
{
    m->ll = !strcmp(ll, "echo")         ? LL_ECHO
            : !strcmp(ll, "logit_bias") ? LL_BIAS
            : m->flavor == FL_LLAMA     ? LL_BIAS
                                        : LL_ECHO;
    if (m->ll == LL_BIAS && m->flavor != FL_LLAMA) {
        snprintf(err, err_size,
                 "loglik=logit_bias needs llama-server's /tokenize and "
                 "/completion; %s is not llama-server",
                 m->shown);
        return HFE_EINVAL;
    }
    return HFE_OK;
}

/* The multi handle every transfer runs on, as wide as concurrency=, else
 * llama-server's slots, else 4. */
static int start_multi(struct hfe_model *m, unsigned conc, char *err,
                       size_t err_size)
{
    m->conc = conc ? conc : m->slots ? m->slots : 4;
    m->multi = curl_multi_init();
    if (!m->multi)
        return http_oom(err, err_size);
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)m->conc);
    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)m->conc + 4);
    return HFE_OK;
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

/* info()'s key-value list, made once. */
static void list_info(struct hfe_model *m)
{
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
}

static int http_open(const char *uri, const struct hfe_option *opts,
                     size_t n_opts, struct hfe_model **out, char *err,
                     size_t err_size)
{
    struct http_opts o;
    struct hfe_model *m;
    int rc;

    *out = NULL;
    rc = start_curl(err, err_size);
    if (rc != HFE_OK)
        return rc;
    m = calloc(1, sizeof(*m));
    if (!m || set_root(m, uri)) {
        http_close(m);
        return http_oom(err, err_size);
    }
    m->rng = (uint64_t)http_now_ms() * 0x9E3779B97F4A7C15ull | 1;
    rc = http_parse_options(opts, n_opts, &o, err, err_size);
    if (rc == HFE_OK) {
        use_options(m, &o);
        rc = set_headers(m, o.api_key_env, err, err_size);
    }
    if (rc == HFE_OK)
        rc = http_discover(m, &o, err, err_size);
    if (rc == HFE_OK)
        rc = choose_method(m, o.loglik, err, err_size);
    /* llama-server's counters from here on, for measure() */
    if (rc == HFE_OK && m->metrics && http_read_metrics(m, m->metrics0) != 0)
        m->metrics = false;
    if (rc == HFE_OK)
        rc = start_multi(m, o.concurrency, err, err_size);
    if (rc != HFE_OK) {
        http_close(m);
        return rc;
    }
    list_info(m);
    *out = m;
    return HFE_OK;
}

/* ---- info and measure --------------------------------------------------- */

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

        if (http_read_metrics(m, v) == 0)
            for (i = 0; i < HTTP_N_METRICS && n < 16; i++) {
                bool counter = strstr(http_metric_names[i], "_total") != NULL;
                double x = counter ? v[i] - m->metrics0[i] : v[i];

                if (!isnan(x))
                    stat_set(m, n++, http_metric_names[i], "f64", "%.6g", x);
            }
    }
    if (HFE_HAS_FIELD(out, struct hfe_measure, stats)) {
        out->n_stats = n;
        out->stats = m->sv;
    }
    return HFE_OK;
}

/* ---- the module --------------------------------------------------------- */

static const char *const handles[] = {"http://", "https://", NULL};

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
    .options = http_option_keys,
    .open = http_open,
    .close = http_close,
    .info = http_info,
    .submit = http_submit,
    .measure = http_measure,
};

/* The option keys come from options.c's table, filled in here, before
 * the host sees the table; libcurl starts at the first open(). */
HFE_EXPORT const struct hfe_backend *hfe_plugin_entry(const struct hfe_host *h)
{
    http_host = h;
    http_options_init();
    return &backend;
}
