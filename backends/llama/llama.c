/*
 * llama.c - the llama.cpp engine backend (module hfe-llama.so).
 *
 * Runs GGUF models in-process through libllama.  This file is the one
 * source for the CPU, CUDA and ROCm modules: which it is depends only on
 * the llama.cpp build it links (HFE_LLAMA_VARIANT names it).
 *
 * Model-list options (key=value):
 *   ctx=N            the window: the most tokens one sequence holds
 *                    (default: the model's training context, at most 4096)
 *   kv=N             KV-cache cells shared by all sequences (default: the
 *                    larger of ctx and 8192)
 *   parallel=N       sequences decoded together (default 64)
 *   threads=N        threads for decoding (default: online CPUs)
 *   threads_batch=N  threads for prompt processing (default: threads)
 *   ngl=N            layers on the GPU (-1 all; default 0)
 *   batch=N          tokens per llama_decode (default 512)
 *   ubatch=N         physical batch size (default 512)
 *   seed=N           default sampling seed (default 0)
 *   flash_attn=on|off|auto  (default off: on the CPU, flash attention
 *                    makes a log-likelihood depend on what shares its batch)
 *   repack=on|off    llama.cpp's repacked CPU weights (default off: they
 *                    too make a result depend on its batch; a few % faster)
 *   chat_template=S  template to use instead of the model's
 *
 * The cache is unified (kv_unified): a token shared by several sequences,
 * such as the context of a multiple-choice item, is stored and computed
 * once.  Scoring is in score.c, generation in generate.c.
 *
 * Build: see CMakeLists.txt (hfeval_module(llama ...)); it links libllama
 * and compiles core/gguf_meta.c and core/util.c in, hidden.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <ggml-backend.h>
#include <llama.h>

#include "../../core/gguf_meta.h"
#include "engine.h"

#ifndef HFE_LLAMA_BUILD /* CMake says which llama.cpp */
#define HFE_LLAMA_BUILD "llama.cpp"
#endif

#ifndef HFE_LLAMA_VARIANT
#define HFE_LLAMA_VARIANT "llama"
#endif

const struct hfe_host *eng_host;

static const char *const option_keys[] = {
    "ctx",           "kv",     "threads",  "threads_batch", "ngl",
    "batch",         "ubatch", "parallel", "seed",          "flash_attn",
    "chat_template", "repack", NULL,
};

/* ---- llama.cpp's log: keep the first error for messages ---------------- */

static char last_error[512];

static void on_log(enum ggml_log_level level, const char *text, void *ud)
{
    char line[512];
    size_t n;

    (void)ud;
    snprintf(line, sizeof(line), "%s", text);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (!n)
        return;
    /* the first error says why; the ones after it say what failed */
    if (level == GGML_LOG_LEVEL_ERROR && !last_error[0])
        memcpy(last_error, line, n + 1);
    if (eng_host) /* the engine's chatter is the host's debug output */
        eng_host->log(level == GGML_LOG_LEVEL_ERROR ? HFE_LOG_DEBUG
                                                    : HFE_LOG_DEBUG + 1,
                      "llama.cpp", "%s", line);
}

double eng_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool eng_pad(struct hfe_model *m)
{
    struct llama_batch *b = &m->batch;
    int32_t outs = 0, i, k = 0;

    for (i = 0; i < b->n_tokens; i++)
        outs += b->logits[i] != 0;
    for (i = b->n_tokens - 1; i >= 0 && outs < ENG_MIN_ROWS; i--)
        if (!b->logits[i]) {
            b->logits[i] = 1;
            outs++;
        }
    while (b->n_tokens < ENG_MIN_ROWS || outs < ENG_MIN_ROWS) {
        i = b->n_tokens++;
        b->token[i] = m->bos != LLAMA_TOKEN_NULL ? m->bos : 0;
        b->pos[i] = k++;
        b->n_seq_id[i] = 1;
        b->seq_id[i][0] = m->pad_seq;
        b->logits[i] = 1;
        outs++;
    }
    return k > 0;
}

void eng_unpad(struct hfe_model *m)
{
    llama_memory_seq_rm(llama_get_memory(m->ctx), m->pad_seq, -1, -1);
}

void eng_fail(struct hfe_result *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->status = status;
    if (r->error)
        eng_host->free(r->error);
    r->error = eng_host->strdup(msg);
}

int32_t eng_tokenize(struct hfe_model *m, const char *text, bool add_special,
                     bool parse_special, llama_token **out)
{
    size_t len = strlen(text);
    int32_t cap = (int32_t)(len < INT32_MAX / 2 ? len + 8 : INT32_MAX / 2);
    llama_token *t;
    int32_t n;

    *out = NULL;
    if (len > INT32_MAX / 2)
        return HFE_ETOOLONG;
    t = malloc((size_t)cap * sizeof(*t));
    if (!t)
        return HFE_ENOMEM;
    n = llama_tokenize(m->vocab, text, (int32_t)len, t, cap, add_special,
                       parse_special);
    if (n < 0 && n != INT32_MIN) { /* never: a token has at least a byte */
        llama_token *u = realloc(t, (size_t)-n * sizeof(*t));

        if (!u) {
            free(t);
            return HFE_ENOMEM;
        }
        t = u;
        n = llama_tokenize(m->vocab, text, (int32_t)len, t, -n, add_special,
                           parse_special);
    }
    if (n < 0) {
        free(t);
        return HFE_EBACKEND;
    }
    *out = t;
    return n;
}

/* ---- options ------------------------------------------------------------ */

static int parse_u(const char *key, const char *v, long min, long max,
                   long *out, char *err, size_t err_size)
{
    char *end;
    long x;

    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        snprintf(err, err_size,
                 "option %s=%s: expected an integer from %ld to %ld", key, v,
                 min, max);
        return -1;
    }
    *out = x;
    return 0;
}

struct opts {
    long n_ctx, kv, threads, threads_batch, ngl, batch, ubatch, parallel, seed;
    int flash_attn; /* enum llama_flash_attn_type */
    bool repack;
    const char *chat_template;
};

static int read_opts(const struct hfe_option *o, size_t n, struct opts *op,
                     char *err, size_t err_size)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t i;
    int rc = 0;

    memset(op, 0, sizeof(*op));
    op->threads = ncpu > 0 ? ncpu : 1;
    op->threads_batch = -1;
    op->ngl = 0;
    op->batch = 512;
    op->ubatch = 512;
    op->parallel = 64;
    /* off: flash attention on the CPU makes results depend on the batch */
    op->flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    for (i = 0; i < n && rc == 0; i++) {
        const char *k = o[i].key, *v = o[i].value;

        if (!strcmp(k, "ctx"))
            rc = parse_u(k, v, 0, 1 << 24, &op->n_ctx, err, err_size);
        else if (!strcmp(k, "kv"))
            rc = parse_u(k, v, 0, 1 << 26, &op->kv, err, err_size);
        else if (!strcmp(k, "threads"))
            rc = parse_u(k, v, 1, 1024, &op->threads, err, err_size);
        else if (!strcmp(k, "threads_batch"))
            rc = parse_u(k, v, 1, 1024, &op->threads_batch, err, err_size);
        else if (!strcmp(k, "ngl"))
            rc = parse_u(k, v, -1, 100000, &op->ngl, err, err_size);
        else if (!strcmp(k, "batch"))
            rc = parse_u(k, v, 1, 1 << 20, &op->batch, err, err_size);
        else if (!strcmp(k, "ubatch"))
            rc = parse_u(k, v, 1, 1 << 20, &op->ubatch, err, err_size);
        else if (!strcmp(k, "parallel"))
            /* one sequence is kept for eng_pad() */
            rc = parse_u(k, v, 1, (long)llama_max_parallel_sequences() - 1,
                         &op->parallel, err, err_size);
        else if (!strcmp(k, "seed"))
            rc = parse_u(k, v, 0, 0x7fffffffL, &op->seed, err, err_size);
        else if (!strcmp(k, "flash_attn")) {
            if (!strcmp(v, "on"))
                op->flash_attn = LLAMA_FLASH_ATTN_TYPE_ENABLED;
            else if (!strcmp(v, "off"))
                op->flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED;
            else if (!strcmp(v, "auto"))
                op->flash_attn = LLAMA_FLASH_ATTN_TYPE_AUTO;
            else {
                snprintf(err, err_size,
                         "option flash_attn=%s: expected on, off or auto", v);
                rc = -1;
            }
        } else if (!strcmp(k, "repack")) {
            if (!strcmp(v, "on") || !strcmp(v, "off"))
                op->repack = !strcmp(v, "on");
            else {
                snprintf(err, err_size, "option repack=%s: expected on or off",
                         v);
                rc = -1;
            }
        } else if (!strcmp(k, "chat_template"))
            op->chat_template = v;
        else if (!strcmp(k, "base") || !strcmp(k, "backend") ||
                 !strcmp(k, "card") || !strcmp(k, "hub") ||
                 !strcmp(k, "api_key_env"))
            continue; /* the core's keys, passed along */
        else {
            snprintf(err, err_size, "unknown option '%s'", k);
            rc = -1;
        }
    }
    if (op->threads_batch < 0)
        op->threads_batch = op->threads;
    return rc;
}

/* ---- methods ------------------------------------------------------------ */

static int llm_probe(char *why, size_t why_size)
{
    size_t i, n;

    ggml_backend_load_all();
    n = ggml_backend_dev_count();
    for (i = 0; i < n; i++)
        if (ggml_backend_dev_type(ggml_backend_dev_get(i)) !=
            GGML_BACKEND_DEVICE_TYPE_ACCEL)
            return 0;
    snprintf(why, why_size, "libllama found no compute device");
    return -1;
}

static void llm_close(struct hfe_model *m)
{
    size_t i;

    if (!m)
        return;
    if (m->batch.token)
        llama_batch_free(m->batch);
    if (m->ctx)
        llama_free(m->ctx);
    if (m->model)
        llama_model_free(m->model);
    hfe_gguf_close(m->meta);
    for (i = 0; i < 2 * m->n_kv; i++)
        free(m->kv_text[i]);
    free(m->kv_text);
    free(m->kv);
    free(m->path);
    free(m->name);
    free(m->chat_template);
    free(m);
}

static int llm_open(const char *uri, const struct hfe_option *o, size_t n_opt,
                    struct hfe_model **out, char *err, size_t err_size)
{
    struct llama_model_params mp = llama_model_default_params();
    struct llama_context_params cp = llama_context_default_params();
    struct hfe_model *m;
    struct hfe_err e;
    struct opts op;
    const char *slash;
    double t0;
    int rc;

    *out = NULL;
    if (read_opts(o, n_opt, &op, err, err_size) != 0)
        return HFE_EINVAL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return HFE_ENOMEM;
    m->path = strdup(uri);
    slash = strrchr(uri, '/');
    m->name = strdup(slash ? slash + 1 : uri);
    m->seed = (uint64_t)op.seed;
    if (op.chat_template)
        m->chat_template = strdup(op.chat_template);

    /* The header first: a truncated or foreign file gets a precise reason
     * instead of whatever the loader says. */
    if (hfe_gguf_open(uri, 0, &m->meta, &e) != 0) {
        snprintf(err, err_size, "%s", e.msg);
        rc = HFE_EMODEL;
        goto fail;
    }

    mp.n_gpu_layers = (int32_t)op.ngl;
    /* repacked weights take other kernels for one token than for many */
    mp.use_extra_bufts = op.repack;
    t0 = eng_now_ms();
    last_error[0] = '\0';
    m->model = llama_model_load_from_file(uri, mp);
    if (!m->model) {
        snprintf(err, err_size, "%s: the engine cannot load it: %s", uri,
                 last_error[0] ? last_error : "no reason given");
        rc = HFE_EMODEL;
        goto fail;
    }
    m->vocab = llama_model_get_vocab(m->model);

    m->n_window = (uint32_t)op.n_ctx;
    if (!m->n_window) {
        int32_t train = llama_model_n_ctx_train(m->model);

        m->n_window = train > 0 && train < 4096 ? (uint32_t)train : 4096;
    }
    cp.n_ctx =
        op.kv ? (uint32_t)op.kv
              : (m->n_window + ENG_MIN_ROWS > 8192 ? m->n_window + ENG_MIN_ROWS
                                                   : 8192);
    if (cp.n_ctx < m->n_window) {
        snprintf(err, err_size,
                 "kv=%u is smaller than ctx=%u: one sequence "
                 "must fit the cache",
                 cp.n_ctx, m->n_window);
        rc = HFE_EINVAL;
        goto fail;
    }
    /* checked before the context: llama.cpp asserts on it */
    if (op.parallel + 1 > op.batch) {
        snprintf(err, err_size,
                 "parallel=%ld exceeds batch=%ld: every running sequence "
                 "puts a token in each decode (and one sequence more is "
                 "kept for padding)",
                 op.parallel, op.batch);
        rc = HFE_EINVAL;
        goto fail;
    }
    cp.n_batch = (uint32_t)op.batch;
    cp.n_ubatch = (uint32_t)op.ubatch;
    cp.n_seq_max = (uint32_t)op.parallel + 1; /* one more for eng_pad() */
    cp.n_threads = (int32_t)op.threads;
    cp.n_threads_batch = (int32_t)op.threads_batch;
    cp.flash_attn_type = op.flash_attn;
    cp.kv_unified = true; /* tokens shared by several sequences */
    cp.no_perf = false;   /* the default is true: we want the timings */
    m->ctx = llama_init_from_model(m->model, cp);
    if (!m->ctx) {
        snprintf(err, err_size, "%s: cannot create a context of %u tokens: %s",
                 uri, cp.n_ctx, last_error[0] ? last_error : "no reason given");
        rc = HFE_EBACKEND;
        goto fail;
    }
    m->load_ms = eng_now_ms() - t0;
    m->n_cells = llama_n_ctx(m->ctx);
    m->n_batch = llama_n_batch(m->ctx);
    m->n_seq = llama_n_seq_max(m->ctx) - 1;
    m->pad_seq = (int32_t)m->n_seq;
    m->n_threads = (int)op.threads_batch;
    /* one decode a plan: every token attends to every cell of the plan */
    m->plan_cells = m->n_batch;
    if (m->plan_cells > m->n_cells - ENG_MIN_ROWS)
        m->plan_cells = m->n_cells - ENG_MIN_ROWS;
    m->n_vocab = llama_vocab_n_tokens(m->vocab);
    m->add_bos = llama_vocab_get_add_bos(m->vocab);
    m->bos = llama_vocab_bos(m->vocab);
    m->batch = llama_batch_init((int32_t)m->n_batch, 0, (int32_t)m->n_seq);
    if (m->n_batch < ENG_MIN_ROWS || m->n_cells < m->n_window + ENG_MIN_ROWS) {
        snprintf(err, err_size,
                 "batch=%u and kv=%u: need batch >= %d and kv >= ctx + %d",
                 m->n_batch, m->n_cells, ENG_MIN_ROWS, ENG_MIN_ROWS);
        rc = HFE_EINVAL;
        goto fail;
    }
    *out = m;
    return HFE_OK;
fail:
    llm_close(m);
    return rc;
}

static int llm_info(struct hfe_model *m, struct hfe_model_info *info)
{
    uint32_t size = info->struct_size;
    int64_t i;

    if (!m->kv) {
        char type[32];

        size_t n = (size_t)m->meta->n_kv;

        m->kv = calloc(n ? n : 1, sizeof(*m->kv));
        m->kv_text = calloc(n ? n : 1, 2 * sizeof(char *));
        if (!m->kv || !m->kv_text) {
            free(m->kv);
            free(m->kv_text);
            m->kv = NULL;
            m->kv_text = NULL;
            return HFE_ENOMEM;
        }
        m->n_kv = n;
        for (i = 0; i < m->meta->n_kv; i++) {
            struct hfe_buf b = {0};

            hfe_gguf_value_json(m->meta, i, 0, &b);
            m->kv_text[2 * i] = b.s;
            m->kv_text[2 * i + 1] =
                strdup(hfe_gguf_type(m->meta, i, type, sizeof(type)));
            m->kv[i].key = hfe_gguf_key(m->meta, i);
            m->kv[i].type = m->kv_text[2 * i + 1];
            m->kv[i].value = m->kv_text[2 * i];
        }
    }
    /* Fill only what the caller's struct holds. */
    struct hfe_model_info v = {0};

    HFE_INIT(&v);
    v.name = hfe_gguf_str(m->meta, "general.name");
    if (!v.name)
        v.name = m->name;
    v.architecture = hfe_gguf_str(m->meta, "general.architecture");
    v.quantization = m->meta->quant;
    v.chat_template = m->chat_template
                          ? m->chat_template
                          : llama_model_chat_template(m->model, NULL);
    v.n_params = llama_model_n_params(m->model);
    v.file_size = m->meta->file_size;
    v.n_ctx_train = (uint32_t)llama_model_n_ctx_train(m->model);
    v.n_ctx = m->n_window;
    v.n_vocab = (uint32_t)llama_vocab_n_tokens(m->vocab);
    v.n_kv = m->n_kv;
    v.kv = m->kv;
    if (info->abi_major != HFE_ABI_MAJOR || size < 8)
        return HFE_EINVAL;
    if (size > sizeof(v))
        size = sizeof(v);
    v.struct_size = info->struct_size;
    memcpy((char *)info + 8, (char *)&v + 8, size - 8);
    return HFE_OK;
}

static int64_t llm_tokenize(struct hfe_model *m, const char *text, size_t len,
                            int add_special, int32_t *tokens, size_t cap)
{
    int32_t n;

    if (len > INT32_MAX || cap > INT32_MAX)
        return HFE_EINVAL;
    n = llama_tokenize(m->vocab, text, (int32_t)len, tokens, (int32_t)cap,
                       add_special != 0, false);
    if (n == INT32_MIN)
        return HFE_ETOOLONG;
    return n < 0 ? -(int64_t)n : n;
}

static int64_t llm_detokenize(struct hfe_model *m, const int32_t *tokens,
                              size_t n, char *text, size_t cap)
{
    int32_t r;

    if (n > INT32_MAX)
        return HFE_EINVAL;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    r = llama_detokenize(m->vocab, tokens, (int32_t)n, text, (int32_t)cap,
                         false, false);
    return r < 0 ? -(int64_t)r : r;
}

/* Which requests the engine answered, so that none is left without a
 * status and a done() call when a kind fails as a whole. */
struct track {
    const struct hfe_batch *host;
    unsigned char *answered;
};

static void track_done(void *ud, size_t i)
{
    struct track *t = ud;

    t->answered[i] = 1;
    if (t->host->done)
        t->host->done(t->host->ud, i);
}

static bool result_ok(const struct hfe_result *res)
{
    return res && res->abi_major == HFE_ABI_MAJOR &&
           HFE_HAS_FIELD(res, struct hfe_result, t_total_ms);
}

static int llm_submit(struct hfe_model *m, const struct hfe_batch *b)
{
    size_t n[4] = {0}, i, off[4], *idx;
    struct track t = {b, NULL};
    struct hfe_batch w;
    int kind, rc = HFE_OK;

    if (!b || b->abi_major != HFE_ABI_MAJOR ||
        !HFE_HAS_FIELD(b, struct hfe_batch, ud))
        return HFE_EINVAL;
    idx = malloc((b->n ? b->n : 1) * sizeof(*idx));
    t.answered = calloc(b->n ? b->n : 1, 1);
    if (!idx || !t.answered) {
        free(idx);
        free(t.answered);
        return HFE_ENOMEM;
    }
    memset(&w, 0, sizeof(w));
    HFE_INIT(&w);
    w.n = b->n;
    w.req = b->req;
    w.res = b->res;
    w.done = track_done;
    w.ud = &t;
    /* requests by kind, each kind in the host's order */
    for (i = 0; i < b->n; i++) {
        const struct hfe_request *r = b->req[i];
        struct hfe_result *res = b->res[i];

        if (!result_ok(res)) { /* nothing can be written into it */
            track_done(&t, i);
            continue;
        }
        if (!r || r->abi_major != HFE_ABI_MAJOR ||
            !HFE_HAS_FIELD(r, struct hfe_request, choice)) {
            eng_fail(res, HFE_EINVAL, "request of another ABI (%u.%u)",
                     r ? r->abi_major : 0, r ? r->abi_minor : 0);
            track_done(&t, i);
            continue;
        }
        if (r->kind >= 1 && r->kind <= 3) {
            n[r->kind]++;
        } else {
            eng_fail(res, HFE_EINVAL, "unknown request kind %u", r->kind);
            track_done(&t, i);
        }
    }
    off[1] = 0;
    off[2] = n[1];
    off[3] = n[1] + n[2];
    memset(n, 0, sizeof(n));
    for (i = 0; i < b->n; i++) {
        if (t.answered[i])
            continue;
        kind = (int)b->req[i]->kind;
        idx[off[kind] + n[kind]++] = i;
    }
    if (n[HFE_REQ_LOGLIK])
        rc = eng_loglik(m, &w, idx + off[1], n[1]);
    if (rc == HFE_OK && n[HFE_REQ_ROLLING])
        rc = eng_rolling(m, &w, idx + off[2], n[2]);
    if (rc == HFE_OK && n[HFE_REQ_GENERATE])
        rc = eng_generate(m, &w, idx + off[3], n[3]);
    /* what a failed kind left: failed too (cancelled ones stay silent) */
    for (i = 0; i < b->n; i++) {
        struct hfe_result *res = b->res[i];

        if (t.answered[i] || res->status == HFE_ECANCELED)
            continue;
        eng_fail(res, rc != HFE_OK ? rc : HFE_EBACKEND, "not answered: %s",
                 rc != HFE_OK ? "an earlier part of the batch failed"
                              : "the engine skipped it");
        track_done(&t, i);
    }
    free(idx);
    free(t.answered);
    return rc;
}

/* The KV cache's size, as llama.cpp sizes it: cells x layers x (K + V
 * widths) in F16, the widths from the model's key and value lengths
 * (default: the embedding over the heads) times its KV heads. */
static uint64_t kv_bytes(const struct hfe_model *m)
{
    const char *arch = hfe_gguf_str(m->meta, "general.architecture");
    int64_t n_embd = llama_model_n_embd(m->model),
            n_head = llama_model_n_head(m->model),
            n_kv = llama_model_n_head_kv(m->model), kl, vl;
    char key[160];

    if (!arch || n_head <= 0)
        return 0;
    snprintf(key, sizeof(key), "%s.attention.key_length", arch);
    kl = hfe_gguf_int(m->meta, key, n_embd / n_head);
    snprintf(key, sizeof(key), "%s.attention.value_length", arch);
    vl = hfe_gguf_int(m->meta, key, n_embd / n_head);
    return (uint64_t)m->n_cells * (uint64_t)llama_model_n_layer(m->model) *
           (uint64_t)((kl + vl) * n_kv) * 2u;
}

static int llm_measure(struct hfe_model *m, struct hfe_measure *out)
{
    struct llama_perf_context_data pd = llama_perf_context(m->ctx);
    struct hfe_measure v = {0};
    struct rusage ru;
    uint32_t size = out->struct_size;

    HFE_INIT(&v);
    v.load_ms = m->load_ms;
    v.n_prompt_tokens = (uint64_t)pd.n_p_eval;
    v.prompt_ms = pd.t_p_eval_ms;
    v.n_decode_tokens = (uint64_t)pd.n_eval;
    v.decode_ms = pd.t_eval_ms;
    /* our own counters: tokens evaluated while scoring, and generation
     * steps (prompt and decode tokens together) */
    if (m->score_ms > 0) {
        v.n_prompt_tokens = m->n_scored;
        v.prompt_ms = m->score_ms;
    }
    if (m->gen_ms > 0 && m->n_gen) {
        v.n_decode_tokens = m->n_gen;
        v.decode_ms = m->gen_ms;
    }
    m->mem[0] =
        (struct hfe_mem){"weights", "total", llama_model_size(m->model)};
    m->mem[1] = (struct hfe_mem){"kv", "total", kv_bytes(m)};
    getrusage(RUSAGE_SELF, &ru);
    m->mem[2] =
        (struct hfe_mem){"rss-peak", "host", (uint64_t)ru.ru_maxrss * 1024u};
    v.n_mem = 3;
    v.mem = m->mem;
    if (out->abi_major != HFE_ABI_MAJOR || size < 8)
        return HFE_EINVAL;
    if (size > sizeof(v))
        size = sizeof(v);
    memcpy((char *)out + 8, (char *)&v + 8, size - 8);
    return HFE_OK;
}

static const char *const handles[] = {".gguf", NULL};

static const struct hfe_backend backend = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_backend),
    .name = HFE_LLAMA_VARIANT,
    .version = HFEVAL_VERSION "+" HFE_LLAMA_BUILD,
    .description = "llama.cpp engine, in-process (GGUF files)",
    .caps = HFE_CAP_LOGLIK | HFE_CAP_ROLLING | HFE_CAP_TOPK | HFE_CAP_GENERATE |
            HFE_CAP_CHAT | HFE_CAP_SAMPLING | HFE_CAP_TOKENIZE |
            HFE_CAP_MEASURE | HFE_CAP_BATCH | HFE_CAP_DETERMINISTIC,
    .handles = handles,
    .options = option_keys,
    .probe = llm_probe,
    .open = llm_open,
    .close = llm_close,
    .info = llm_info,
    .tokenize = llm_tokenize,
    .detokenize = llm_detokenize,
    .submit = llm_submit,
    .measure = llm_measure,
};

HFE_EXPORT const struct hfe_backend *hfe_plugin_entry(const struct hfe_host *h)
{
    static int started;

    eng_host = h;
    if (!started && h->abi_major == HFE_ABI_MAJOR) {
        llama_log_set(on_log, NULL);
        llama_backend_init();
        started = 1;
    }
    return &backend;
}
