/*
 * transfer.c - one exchange (an HTTP request of a job) from start to end:
 * its curl handle and callbacks, and at its end what the answer means
 * (classify), a retry after a backoff (schedule_retry), or the answer
 * handed to what reads it (dispatch).  Also the end of a job.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "http_int.h"

/* ---- exchanges ---------------------------------------------------------- */

void http_ex_free(struct ex *x)
{
    if (!x)
        return;
    free(x->body);
    http_buf_free(&x->resp);
    hfe_sse_free(&x->sse);
    free(x);
}

void http_push_back(struct pump *p, struct ex *x)
{
    x->next = NULL;
    if (p->tail)
        p->tail->next = x;
    else
        p->head = x;
    p->tail = x;
}

void http_push_front(struct pump *p, struct ex *x)
{
    x->next = p->head;
    p->head = x;
    if (!p->tail)
        p->tail = x;
}

struct ex *http_ex_new(struct pump *p, struct job *j, enum what w,
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

/* ---- curl: the handle and its callbacks --------------------------------- */

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

/* A generation's 200 answer goes through the event parser as it comes;
 * anything else is kept whole. */
static size_t on_body(char *s, size_t size, size_t n, void *ud)
{
    struct ex *x = ud;
    size_t len = size * n;

    if (x->what == EX_GEN) {
        long code = 0;

        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) {
            int rc = hfe_sse_feed(&x->sse, s, len, http_on_event, x);

            x->sse_err = rc;
            return rc ? 0 : len;
        }
    }
    if (x->resp.n + len > (64u << 20)) /* no answer of ours is this big */
        return 0;
    return http_buf_add(&x->resp, s, len) ? 0 : len;
}

CURL *http_easy(struct hfe_model *m, struct ex *x, const char *url,
                long timeout_ms)
{
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, m->hdr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, m->connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    return h;
}

/* What an attempt collects starts empty; a retried generation starts its
 * text again. */
static void reset_attempt(struct ex *x)
{
    http_buf_free(&x->resp);
    hfe_sse_free(&x->sse);
    x->sse_err = 0;
    x->retry_after_s = -1;
    x->t_first = 0;
    memset(x->tm, 0, sizeof(x->tm));
    if (x->what == EX_GEN) {
        struct hfe_result *r = x->job->res;

        r->finish = HFE_FINISH_NONE;
        r->n_gen_tokens = r->n_prompt_tokens = 0;
        x->job->text.n = 0;
        x->job->n_chunks = 0;
        if (x->job->text.s)
            x->job->text.s[0] = '\0';
    }
}

int http_start(struct pump *p, struct ex *x)
{
    struct hfe_model *m = p->m;
    char url[2048];
    CURL *h;

    snprintf(url, sizeof(url), "%s%s", m->root, x->path);
    h = http_easy(m, x, url, m->timeout_ms);
    if (!h)
        return -1;
    reset_attempt(x);
    if (x->what == EX_GEN) { /* a stream that goes quiet; not a long
                                prompt's evaluation */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, m->idle_s);
    }
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
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
    x->t0 = http_now_ms();
    x->anext = p->active;
    p->active = x;
    p->running++;
    m->st.requests++;
    if (x->what == EX_FORCE || x->what == EX_TOK_CTX ||
        x->what == EX_TOK_FULL || x->what == EX_ECHO)
        m->st.ll_requests++;
    return 0;
}

/* ---- jobs --------------------------------------------------------------- */

void http_job_finish(struct pump *p, struct job *j)
{
    if (j->finished)
        return;
    j->finished = true;
    if (!j->failed)
        j->res->status = HFE_OK;
    if (p->b->done)
        p->b->done(p->b->ud, j->index);
}

void http_job_fail(struct pump *p, struct job *j, int status, const char *fmt,
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
    http_set_err(j->res, status, "%s", msg);
    p->m->st.failed++;
    http_group_ready(p, j);
}

void http_settle(struct pump *p, struct job *j)
{
    if (j->bias && !j->failed)
        http_sum_loglik(p, j);
    http_job_finish(p, j);
}

void http_drop(struct pump *p, struct ex *x)
{
    struct job *j = x->job;

    http_ex_free(x);
    if (j && p->fatal && !j->failed) /* the key was refused: all fail */
        http_job_fail(p, j, HFE_EIO, "%s", p->fatal_msg);
    if (j && --j->pending == 0)
        http_settle(p, j);
}

/* ---- the end of an exchange --------------------------------------------- */

bool http_retryable(CURLcode cc, long code)
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

/* What the end of an exchange means. */
struct verdict {
    bool retry;     /* worth asking again; why says what went wrong     */
    int status;     /* else HFE_OK: an answer to read; or the job fails */
    bool fatal;     /* the key was refused: every job fails             */
    char why[256];  /* a retry's reason: curl's, or "HTTP 503"          */
    char msg[1024]; /* a failure's message                             */
};

static void set_failure(struct verdict *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_failure(struct verdict *v, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
    va_end(ap);
    v->status = status;
}

/* x's transfer is off the multi handle and the active list.  Returns its
 * HTTP status (0 for none). */
static long detach(struct pump *p, struct ex *x)
{
    struct hfe_model *m = p->m;
    long code = 0;
    curl_off_t down = 0;

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
    return code;
}

/* An exchange that is not asked again fails: a connection error, a
 * refused key (which fails the model), or the server's complaint, which
 * is HFE_ETOOLONG when it is about length. */
static void failure(const struct hfe_model *m, const struct ex *x, CURLcode cc,
                    long code, struct verdict *v)
{
    char msg[512];

    if (cc != CURLE_OK) {
        set_failure(v, HFE_EIO, "%s%s: %s", m->shown, x->path,
                    curl_easy_strerror(cc));
    } else if (code == 401 || code == 403) {
        v->fatal = true;
        set_failure(v, HFE_EIO,
                    "%s%s: the server refused the API key (HTTP %ld)", m->shown,
                    x->path, code);
    } else if (code != 200) {
        http_body_msg(x->resp.s, msg, sizeof(msg));
        set_failure(v,
                    strstr(msg, "context") || strstr(msg, "too long")
                        ? HFE_ETOOLONG
                        : HFE_EBACKEND,
                    "%s%s: HTTP %ld: %s", m->shown, x->path, code, msg);
    }
}

/* Retry, failure or an answer.  A stream cut short, a body that is not
 * JSON, a connection error, a timeout or a retryable status is asked
 * again, unless the whole time was spent; a stream that carried the
 * server's error is not.  *o gets the parsed answer of an exchange other
 * than a generation. */
static void classify(struct pump *p, struct ex *x, CURLcode cc, long code,
                     cJSON **o, struct verdict *v)
{
    const char *bad = NULL;
    char msg[512];
    bool again;

    memset(v, 0, sizeof(*v));
    v->status = HFE_OK;
    if (cc == CURLE_WRITE_ERROR && x->sse_err == EV_ERROR) {
        http_body_msg(x->resp.s, msg, sizeof(msg));
        set_failure(v, HFE_EBACKEND,
                    "%s%s: the server's stream ended in an error: %s",
                    p->m->shown, x->path, msg);
        return;
    }
    if (cc == CURLE_OK && code == 200 && x->what == EX_GEN &&
        (hfe_sse_end(&x->sse, http_on_event, x) != 0 ||
         x->job->res->finish == 0))
        cc = CURLE_PARTIAL_FILE; /* a stream cut short: ask again */
    if (cc == CURLE_OK && code == 200 && x->what != EX_GEN) {
        *o = cJSON_Parse(x->resp.s ? x->resp.s : "");
        if (!*o)
            bad = "the answer is not JSON (cut short?)"; /* ask again */
    }
    again = bad || http_retryable(cc, code);
    if (cc == CURLE_OPERATION_TIMEDOUT &&
        http_now_ms() - x->t0 >= 0.9 * (double)p->m->timeout_ms)
        again = false; /* the whole time spent: asking again will not help */
    if (!again)
        failure(p->m, x, cc, code, v);
    else if (bad || cc)
        snprintf(v->why, sizeof(v->why), "%s",
                 bad ? bad : curl_easy_strerror(cc));
    else
        snprintf(v->why, sizeof(v->why), "HTTP %ld", code);
    v->retry = again;
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

/* Asks again after an exponential backoff with jitter (or what Retry-After
 * said), or gives up once x has had its retries or the model has spent its
 * budget.  The whole model waits, not this request alone: a server that is
 * down refuses every request at once, and they must not spend their
 * retries in one go. */
static void schedule_retry(struct pump *p, struct ex *x, const char *why)
{
    struct hfe_model *m = p->m;
    unsigned s = p->streak < 30 ? p->streak : 30;
    double d = m->backoff_ms * ldexp(1.0, (int)s), now = http_now_ms();

    if (x->attempt >= m->retries || m->st.retries >= m->budget) {
        http_job_fail(p, x->job, HFE_EIO,
                      "%s%s: %s (gave up after %u attempts%s)", m->shown,
                      x->path, why, x->attempt + 1,
                      m->st.retries >= m->budget ? ", retry budget spent" : "");
        http_drop(p, x);
        return;
    }
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
    http_host->log(HFE_LOG_DEBUG, "http", "%s%s: %s, retry %u in %.0f ms",
                   m->shown, x->path, why, x->attempt, d);
}

/* A good answer (o: its JSON, NULL for a generation), to what reads it. */
static void dispatch(struct pump *p, struct ex *x, const cJSON *o)
{
    switch (x->what) {
    case EX_GEN:
        http_on_gen_end(p, x);
        break;
    case EX_TOK_CTX:
    case EX_TOK_FULL:
        http_on_tokens(p, x, o);
        break;
    case EX_FORCE:
        http_on_force(p, x, o);
        break;
    case EX_ECHO:
        http_on_echo(p, x, o);
        break;
    }
}

void http_ex_done(struct pump *p, struct ex *x, CURLcode cc)
{
    struct job *j = x->job;
    long code = detach(p, x);
    struct verdict v;
    cJSON *o = NULL;

    if (j->failed || p->fatal) {
        http_drop(p, x);
        return;
    }
    classify(p, x, cc, code, &o, &v);
    if (v.retry) {
        schedule_retry(p, x, v.why);
        return;
    }
    if (v.status != HFE_OK) {
        if (v.fatal) {
            p->fatal = 1;
            snprintf(p->fatal_msg, sizeof(p->fatal_msg), "%.*s",
                     (int)sizeof(p->fatal_msg) - 1, v.msg);
        }
        http_job_fail(p, j, v.status, "%s", v.fatal ? p->fatal_msg : v.msg);
        http_drop(p, x);
        return;
    }
    p->streak = 0;
    dispatch(p, x, o);
    cJSON_Delete(o);
    http_ex_free(x);
    if (--j->pending == 0)
        http_settle(p, j);
}
