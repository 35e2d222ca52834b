/*
 * discover.c - what a server is and serves, asked at open(): /v1/models
 * (reachable, which models, their metadata), /props (llama-server, its
 * slots, context and build) and /metrics (llama-server's counters, for
 * measure()).  These are plain GETs outside the pump.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "http_int.h"

/* ---- GET ---------------------------------------------------------------- */

/* Between attempts: what Retry-After said, or the backoff doubled. */
static void pause_after(const struct hfe_model *m, const struct ex *x,
                        unsigned attempt)
{
    double d = x->retry_after_s >= 0 ? x->retry_after_s * 1e3
                                     : m->backoff_ms * (1 << attempt);
    struct timespec ts = {(time_t)(d / 1e3), (long)fmod(d, 1e3) * 1000000L};

    nanosleep(&ts, NULL);
}

/* One GET, retried as requests are (at most 3 attempts: a server that is
 * not there should be said so soon).  The answer is parsed into *out, or
 * kept as text in *text (malloc'ed) when text is not NULL.  Returns the
 * HTTP status, or -1 with the reason in err. */
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
        CURL *h = http_easy(m, &x, url, m->connect_ms * 3);

        http_buf_free(&x.resp);
        if (!h) {
            http_oom(err, err_size);
            return -1;
        }
        x.what = EX_TOK_CTX; /* any but EX_GEN: the body is kept */
        x.retry_after_s = -1;
        x.h = h;
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
        if (!http_retryable(cc, code))
            break;
        pause_after(m, &x, a);
    }
    if (cc != CURLE_OK) {
        snprintf(err, err_size, "cannot reach %s%s: %s", m->shown, path,
                 curl_easy_strerror(cc));
        http_buf_free(&x.resp);
        return -1;
    }
    if (code == 200 && text) {
        *text = x.resp.s ? x.resp.s : strdup("");
        if (!*text) {
            http_oom(err, err_size);
            return -1;
        }
        return code;
    }
    if (code == 200 && !(*out = cJSON_Parse(x.resp.s ? x.resp.s : ""))) {
        snprintf(err, err_size, "%s%s: the answer is not JSON: %.120s",
                 m->shown, path, x.resp.s ? x.resp.s : "");
        http_buf_free(&x.resp);
        return -1;
    }
    if (code != 200)
        http_body_msg(x.resp.s, err, err_size);
    http_buf_free(&x.resp);
    return code;
}

/* ---- /metrics ----------------------------------------------------------- */

/* llama-server's Prometheus counters (with --metrics): those worth a
 * record.  Counters are kept from open() on, so that stats show this
 * model's share. */
const char *const http_metric_names[] = {
    "prompt_tokens_total",     "prompt_tokens_cached_total",
    "tokens_predicted_total",  "n_decode_total",
    "n_busy_slots_per_decode",
};
_Static_assert(sizeof(http_metric_names) / sizeof(*http_metric_names) ==
                   HTTP_N_METRICS,
               "HTTP_N_METRICS counts http_metric_names");

int http_read_metrics(struct hfe_model *m, double *v)
{
    char err[256], *text = NULL, *line, *save = NULL;
    long code = get_any(m, "/metrics", NULL, &text, err, sizeof(err));
    size_t i;

    if (code != 200) {
        free(text);
        return -1;
    }
    for (i = 0; i < HTTP_N_METRICS; i++)
        v[i] = NAN;
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "llamacpp:", 9) != 0)
            continue;
        for (i = 0; i < HTTP_N_METRICS; i++) {
            size_t n = strlen(http_metric_names[i]);

            if (!strncmp(line + 9, http_metric_names[i], n) &&
                line[9 + n] == ' ')
                v[i] = strtod(line + 10 + n, NULL);
        }
    }
    free(text);
    return 0;
}

/* ---- /v1/models --------------------------------------------------------- */

static int refused(const struct hfe_model *m, const char *path,
                   const struct http_opts *o, long code, char *err,
                   size_t err_size)
{
    snprintf(err, err_size, "%s%s: the server refused %s (HTTP %ld)", m->shown,
             path, o->api_key_env ? "the API key" : "us: no API key given",
             code);
    return HFE_EIO;
}

/* llama-server's "meta" of a model. */
static void read_meta(struct hfe_model *m, const cJSON *meta)
{
    const cJSON *x;

    if (!cJSON_IsObject(meta))
        return;
    x = cJSON_GetObjectItemCaseSensitive(meta, "n_ctx_train");
    if (cJSON_IsNumber(x))
        m->n_ctx_train = (uint32_t)x->valuedouble;
    x = cJSON_GetObjectItemCaseSensitive(meta, "n_vocab");
    if (cJSON_IsNumber(x))
        m->n_vocab = (uint32_t)x->valuedouble;
    x = cJSON_GetObjectItemCaseSensitive(meta, "n_params");
    if (cJSON_IsNumber(x))
        m->n_params = (uint64_t)x->valuedouble;
    x = cJSON_GetObjectItemCaseSensitive(meta, "size");
    if (cJSON_IsNumber(x))
        m->size = (uint64_t)x->valuedouble;
}

/* The served model: the one named (want), or the first listed. */
static int pick_model(struct hfe_model *m, const cJSON *models,
                      const char *want, char *err, size_t err_size)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(models, "data"), *e;
    char have[512] = "";
    size_t hl = 0;

    cJSON_ArrayForEach(e, data)
    {
        const char *id =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "id"));

        if (!id)
            continue;
        if (hl < sizeof(have))
            hl += (size_t)snprintf(have + hl, sizeof(have) - hl, "%s%s",
                                   hl ? ", " : "", id);
        if (m->served || (want && strcmp(want, id)))
            continue;
        m->served = strdup(id);
        if (!m->served)
            return http_oom(err, err_size);
        read_meta(m, cJSON_GetObjectItemCaseSensitive(e, "meta"));
    }
    if (m->served)
        return HFE_OK;
    if (want)
        snprintf(err, err_size,
                 "%s: unknown model '%s' (the server serves: %s)", m->shown,
                 want, hl ? have : "nothing");
    else
        snprintf(err, err_size, "%s/v1/models: the server lists no model",
                 m->shown);
    return HFE_ENOTFOUND;
}

/* /v1/models: reachable, and which models. */
static int ask_models(struct hfe_model *m, const struct http_opts *o, char *err,
                      size_t err_size)
{
    cJSON *models = NULL;
    long code = get_any(m, "/v1/models", &models, NULL, err, err_size);
    int rc = HFE_EIO;

    if (code == 401 || code == 403) {
        rc = refused(m, "/v1/models", o, code, err, err_size);
    } else if (code >= 0 && code != 200) {
        char why[256];

        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, err_size, "%s/v1/models: HTTP %ld: %s", m->shown, code,
                 why);
    } else if (code == 200) {
        rc = pick_model(m, models, o->model, err, err_size);
    }
    cJSON_Delete(models);
    return rc;
}

/* ---- /props ------------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *str_of(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* llama-server's answer: its slots, context, build and model. */
static void read_props(struct hfe_model *m, const cJSON *props, double slots)
{
    const cJSON *dg =
        cJSON_GetObjectItemCaseSensitive(props, "default_generation_settings");
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(dg, "n_ctx");
    /* "all F32", "Q4_0", "mostly Q8_0": the type alone */
    const char *ft = str_of(props, "model_ftype");
    const char *sp = ft ? strrchr(ft, ' ') : NULL;

    m->flavor = FL_LLAMA;
    m->slots = slots >= 1 && slots <= 1024 ? (uint32_t)slots : 4;
    m->metrics = cJSON_IsTrue(
        cJSON_GetObjectItemCaseSensitive(props, "endpoint_metrics"));
    if (cJSON_IsNumber(nc))
        m->n_ctx = (uint32_t)nc->valuedouble;
    m->build = xstrdup(str_of(props, "build_info"));
    m->model_path = xstrdup(str_of(props, "model_path"));
    m->chat_template = xstrdup(str_of(props, "chat_template"));
    m->quant = xstrdup(sp ? sp + 1 : ft);
}

/* /props: llama-server (an answer with total_slots), or another server. */
static int ask_props(struct hfe_model *m, const struct http_opts *o, char *err,
                     size_t err_size)
{
    cJSON *props = NULL;
    const cJSON *slots;
    long code;
    int rc = HFE_OK;

    m->flavor = FL_OPENAI;
    if (!strcmp(o->api, "openai"))
        return HFE_OK;
    code = get_any(m, "/props", &props, NULL, err, err_size);
    slots = cJSON_GetObjectItemCaseSensitive(props, "total_slots");
    if (code == 401 || code == 403) {
        rc = refused(m, "/props", o, code, err, err_size);
    } else if (code == 200 && cJSON_IsNumber(slots)) {
        read_props(m, props, slots->valuedouble);
    } else if (!strcmp(o->api, "llama")) {
        snprintf(err, err_size,
                 "%s/props: api=llama, but the server does not answer as "
                 "llama-server does (no total_slots)",
                 m->shown);
        rc = HFE_EIO;
    }
    cJSON_Delete(props);
    return rc;
}

int http_discover(struct hfe_model *m, const struct http_opts *o, char *err,
                  size_t err_size)
{
    int rc = ask_models(m, o, err, err_size);

    return rc == HFE_OK ? ask_props(m, o, err, err_size) : rc;
}
