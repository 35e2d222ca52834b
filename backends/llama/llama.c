/*
 * llama.c - the llama.cpp engine backend (module hfe-llama.so).
 *
 * Runs GGUF models in-process through libllama.  This file is the one
 * source for the CPU, CUDA and ROCm modules: which it is depends only on
 * the llama.cpp build it links (HFE_LLAMA_VARIANT names it).
 *
 * Model-list options (key=value):
 *   ctx=N            context size in tokens (default: the model's, at most
 *                    4096)
 *   threads=N        threads for decoding (default: online CPUs)
 *   threads_batch=N  threads for prompt processing (default: threads)
 *   ngl=N            layers on the GPU (-1 all; default 0 on CPU builds)
 *   batch=N          logical batch size (default 2048)
 *   ubatch=N         physical batch size (default 512)
 *   parallel=N       sequences decoded together (default 1)
 *   seed=N           sampling seed (default 0)
 *   flash_attn=on|off|auto
 *   chat_template=S  template to use instead of the model's
 *
 * Request kinds arrive with the engine issue; until then this module opens
 * and describes models, tokenizes and measures, and its capability bits
 * say exactly that.
 *
 * Build: see CMakeLists.txt (hfeval_module(llama ...)); it links libllama
 * and compiles core/gguf_meta.c and core/util.c in, hidden.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <ggml-backend.h>
#include <llama.h>

#include "hfeval-plugin.h"
#include "../../core/gguf_meta.h"

#ifndef HFE_LLAMA_VARIANT
#define HFE_LLAMA_VARIANT "llama"
#endif

static const struct hfe_host *host;

struct hfe_model {
    struct llama_model *model;
    struct llama_context *ctx;
    const struct llama_vocab *vocab;
    struct hfe_gguf *meta;
    char *path;
    char *name;
    char *chat_template; /* override, or NULL */
    uint64_t seed;
    double load_ms;

    struct hfe_kv *kv; /* info(): rendered once */
    char **kv_text;
    size_t n_kv;
    struct hfe_mem mem[3];
};

static const char *const option_keys[] = {
    "ctx",      "threads", "threads_batch", "ngl",           "batch", "ubatch",
    "parallel", "seed",    "flash_attn",    "chat_template", NULL,
};

/* ---- llama.cpp's log: keep the last error for messages ----------------- */

static char last_error[512];

static void on_log(enum ggml_log_level level, const char *text, void *ud)
{
    size_t n;

    (void)ud;
    if (level == GGML_LOG_LEVEL_ERROR) {
        snprintf(last_error, sizeof(last_error), "%s", text);
        n = strlen(last_error);
        while (n && (last_error[n - 1] == '\n' || last_error[n - 1] == ' '))
            last_error[--n] = '\0';
    }
    if (host && level == GGML_LOG_LEVEL_ERROR)
        host->log(HFE_LOG_DEBUG, "llama.cpp", "%s", last_error);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
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
    long n_ctx, threads, threads_batch, ngl, batch, ubatch, parallel, seed;
    int flash_attn; /* enum llama_flash_attn_type */
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
    op->batch = 2048;
    op->ubatch = 512;
    op->parallel = 1;
    op->flash_attn = LLAMA_FLASH_ATTN_TYPE_AUTO;
    for (i = 0; i < n && rc == 0; i++) {
        const char *k = o[i].key, *v = o[i].value;

        if (!strcmp(k, "ctx"))
            rc = parse_u(k, v, 0, 1 << 24, &op->n_ctx, err, err_size);
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
            rc = parse_u(k, v, 1, (long)llama_max_parallel_sequences(),
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
        } else if (!strcmp(k, "chat_template"))
            op->chat_template = v;
        else if (!strcmp(k, "base") || !strcmp(k, "backend") ||
                 !strcmp(k, "card") || !strcmp(k, "hub"))
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
    t0 = now_ms();
    last_error[0] = '\0';
    m->model = llama_model_load_from_file(uri, mp);
    if (!m->model) {
        snprintf(err, err_size, "%s: the engine cannot load it: %s", uri,
                 last_error[0] ? last_error : "no reason given");
        rc = HFE_EMODEL;
        goto fail;
    }
    m->vocab = llama_model_get_vocab(m->model);

    cp.n_ctx = (uint32_t)op.n_ctx;
    if (!cp.n_ctx) {
        int32_t train = llama_model_n_ctx_train(m->model);

        cp.n_ctx = train > 0 && train < 4096 ? (uint32_t)train : 4096;
    }
    cp.n_batch = (uint32_t)op.batch;
    cp.n_ubatch = (uint32_t)op.ubatch;
    cp.n_seq_max = (uint32_t)op.parallel;
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
    m->load_ms = now_ms() - t0;
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

        m->n_kv = (size_t)m->meta->n_kv;
        m->kv = calloc(m->n_kv ? m->n_kv : 1, sizeof(*m->kv));
        m->kv_text = calloc(m->n_kv ? m->n_kv : 1, 2 * sizeof(char *));
        if (!m->kv || !m->kv_text)
            return HFE_ENOMEM;
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
    v.n_ctx = llama_n_ctx(m->ctx);
    v.n_vocab = (uint32_t)llama_vocab_n_tokens(m->vocab);
    v.n_kv = m->n_kv;
    v.kv = m->kv;
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

static int llm_submit(struct hfe_model *m, const struct hfe_batch *b)
{
    size_t i;

    (void)m;
    for (i = 0; i < b->n; i++) {
        struct hfe_result *r = b->res[i];

        r->status = HFE_ENOTSUP;
        r->error = host->strdup("this build of the llama backend does not "
                                "score or generate yet (see its caps)");
        if (b->done)
            b->done(b->ud, i);
    }
    return HFE_OK;
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
    m->mem[0] =
        (struct hfe_mem){"weights", "total", llama_model_size(m->model)};
    m->mem[1] = (struct hfe_mem){"state", "total",
                                 (uint64_t)llama_state_get_size(m->ctx)};
    getrusage(RUSAGE_SELF, &ru);
    m->mem[2] =
        (struct hfe_mem){"rss-peak", "host", (uint64_t)ru.ru_maxrss * 1024u};
    v.n_mem = 3;
    v.mem = m->mem;
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
    .version = HFEVAL_VERSION,
    .description = "llama.cpp engine, in-process (GGUF files)",
    .caps = HFE_CAP_TOKENIZE | HFE_CAP_MEASURE | HFE_CAP_DETERMINISTIC,
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

    host = h;
    if (!started && h->abi_major == HFE_ABI_MAJOR) {
        llama_log_set(on_log, NULL);
        llama_backend_init();
        started = 1;
    }
    return &backend;
}
