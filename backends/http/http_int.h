/*
 * http_int.h - internal to the http backend: the objects and functions its
 * files share.  Not part of the plugin ABI and for no other module; the
 * module is built with hidden visibility, so nothing here is exported.
 *
 *   http.c      the module table, open (a page of phases), close, info,
 *               measure, and the small helpers every file uses
 *   options.c   the option table and its parser
 *   discover.c  what a server is and serves: /v1/models, /props, /metrics
 *   submit.c    a batch: its jobs, what each asks, the pump that runs them
 *   transfer.c  one exchange: its curl handle, and at its end retry,
 *               failure or dispatch to what reads the answer
 *   generate.c  what a generation's streamed answer means
 *   loglik.c    what log-likelihood answers mean: /tokenize, logit_bias
 *               forcing, echo
 *   bodies.c    the request bodies
 *   sse.c       server-sent events (sse.h)
 *
 * Not thread-safe: the host calls a model from one thread, and every
 * transfer runs on it.
 */
#ifndef HFEVAL_HTTP_INT_H
#define HFEVAL_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "hfeval-plugin.h"
#include "sse.h"

#define DEFAULT_MAX_TOKENS 256

extern const struct hfe_host *http_host;

enum flavor { FL_OPENAI, FL_LLAMA };
enum llmethod { LL_AUTO, LL_BIAS, LL_ECHO };

/* A growing byte buffer in our own memory, always NUL-terminated. */
struct buf {
    char *s;
    size_t n, cap;
};

/* Returns 0, or -1 when out of memory (b is then unchanged). */
int http_buf_add(struct buf *b, const char *s, size_t n);
int http_buf_puts(struct buf *b, const char *s);
void http_buf_free(struct buf *b);

/* The options as read (options.c, which holds their defaults). */
struct http_opts {
    const char *model, *api_key_env; /* NULL when not given              */
    const char *api, *loglik;        /* one of their words               */
    unsigned concurrency;            /* 0: the server's slots, else 4    */
    unsigned connect_timeout, timeout, idle_timeout; /* seconds */
    unsigned retries, retry_budget;
    unsigned backoff, backoff_max; /* ms */
};

struct stats {
    uint64_t requests, retries, failed, ll_requests, bytes_up, bytes_down;
    uint64_t prompt_n, predicted_n;
    double prompt_ms, predicted_ms;
};

#define HTTP_N_METRICS 5

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

/* ---- exchanges: one HTTP request, retried until it answers -------------- */

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

/* One request of a batch, and what its exchanges have brought so far. */
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

/* A batch being run: its jobs and the queues of their exchanges. */
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

/* ---- http.c: helpers ---------------------------------------------------- */

double http_now_ms(void);
/* Sets a result's status and message (host memory). */
void http_set_err(struct hfe_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A server's error body, shortened for a message: OpenAI's
 * {"error":{"message":...}}, or the text itself. */
void http_body_msg(const char *body, char *out, size_t cap);
/* Writes "out of memory" to err; returns HFE_ENOMEM. */
int http_oom(char *err, size_t err_size);

/* ---- options.c ---------------------------------------------------------- */

/* The option keys, NULL-terminated, for the module table; filled from the
 * option table by http_options_init(), which the entry calls. */
extern const char *http_option_keys[];
void http_options_init(void);
/* Reads the model list's options into *o (defaults for those not given).
 * Returns HFE_OK, or HFE_EINVAL with the reason in err. */
int http_parse_options(const struct hfe_option *opts, size_t n,
                       struct http_opts *o, char *err, size_t err_size);

/* ---- discover.c --------------------------------------------------------- */

/* Asks /v1/models for the served model (and its metadata) and, unless
 * api=openai, /props whether the server is llama-server.  Returns HFE_OK,
 * or a status with the reason in err. */
int http_discover(struct hfe_model *m, const struct http_opts *o, char *err,
                  size_t err_size);
/* llama-server's counters worth a record, as /metrics names them. */
extern const char *const http_metric_names[HTTP_N_METRICS];
/* Reads them into v[0..HTTP_N_METRICS) (NAN for those missing).  Returns 0,
 * or -1 when /metrics does not answer. */
int http_read_metrics(struct hfe_model *m, double *v);

/* ---- submit.c ----------------------------------------------------------- */

int http_submit(struct hfe_model *m, const struct hfe_batch *b);

/* ---- transfer.c --------------------------------------------------------- */

/* A new exchange of job j (NULL for none) that owns body; counts as one
 * of j's pending exchanges.  NULL when out of memory (body is freed). */
struct ex *http_ex_new(struct pump *p, struct job *j, enum what w,
                       const char *path, char *body);
void http_ex_free(struct ex *x);
void http_push_back(struct pump *p, struct ex *x);
void http_push_front(struct pump *p, struct ex *x);
/* A curl handle for x (whose answer it collects) with what every request
 * of ours sets. */
CURL *http_easy(struct hfe_model *m, struct ex *x, const char *url,
                long timeout_ms);
bool http_retryable(CURLcode cc, long code);
/* Starts x on the multi handle.  Returns 0, or -1. */
int http_start(struct pump *p, struct ex *x);
/* x's transfer is over (cc): retry it, fail its job, or read its answer. */
void http_ex_done(struct pump *p, struct ex *x, CURLcode cc);
/* Frees x, which ends without an answer, and settles its job if it was
 * the last of its exchanges. */
void http_drop(struct pump *p, struct ex *x);

void http_job_finish(struct pump *p, struct job *j);
/* Fails j once (a later failure keeps the first message). */
void http_job_fail(struct pump *p, struct job *j, int status, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
/* j's last exchange is over. */
void http_settle(struct pump *p, struct job *j);

/* ---- generate.c --------------------------------------------------------- */

/* One streamed event of a generation (an hfe_sse_fn; ud is the ex).
 * Returns 0; 1 for an event that is not JSON; EV_ERROR for one that
 * carries the server's error (kept in the ex's resp for the message); -1
 * when out of memory. */
#define EV_ERROR 2
int http_on_event(void *ud, const char *data, size_t len);
/* A generation's stream ended well: its text and timings. */
void http_on_gen_end(struct pump *p, struct ex *x);

/* ---- loglik.c ----------------------------------------------------------- */

/* /tokenize's answer: ids, or {id, piece} objects (with_pieces), whose
 * bytes go into *bytes when it is not NULL.  Returns the count, or -1.
 * *out (and *bytes) are malloc'ed, also on failure. */
int http_int_array(const cJSON *a, int32_t **out, uint32_t **bytes);
/* /tokenize's answer; once a job has the tokens it needs, where scoring
 * starts is known and its forcing requests are queued. */
void http_on_tokens(struct pump *p, struct ex *x, const cJSON *o);
void http_on_force(struct pump *p, struct ex *x, const cJSON *o);
void http_on_echo(struct pump *p, struct ex *x, const cJSON *o);
/* One choice of a CHOICE_PREFIX item has its tokens (or failed). */
void http_group_ready(struct pump *p, struct job *j);
/* All of a forced job's answers are in: its result. */
void http_sum_loglik(struct pump *p, struct job *j);

/* ---- bodies.c: request bodies, malloc'ed, or NULL ----------------------- */

/* A streamed generation; *path is where it goes. */
char *http_body_gen(struct hfe_model *m, const struct hfe_request *r,
                    const char **path);
char *http_body_tokenize(const char *text, bool pieces);
/* The prompt full[0..at) with full[at] forced. */
char *http_body_force(const int32_t *full, int at);
char *http_body_echo(struct hfe_model *m, const char *text);

#endif /* HFEVAL_HTTP_INT_H */
