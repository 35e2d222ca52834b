/*
 * discover.c - the plain GETs outside the pump: what open() asks
 * (/v1/models, /props) and llama-server's /metrics, for measure().
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
            snprintf(err, err_size, "out of memory");
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
            snprintf(err, err_size, "out of memory");
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

long http_get_json(struct hfe_model *m, const char *path, cJSON **out,
                   char *err, size_t err_size)
{
    return get_any(m, path, out, NULL, err, err_size);
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
