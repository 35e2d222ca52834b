/*
 * llama.c - the llama.cpp engine backend (module hfe-llama.so).
 *
 * Runs GGUF models in-process through libllama.  This file is the one
 * source for the CPU, CUDA and ROCm modules: which it is depends only on
 * the llama.cpp build it links (HFE_LLAMA_VARIANT names it).
 *
 * Model-list options (key=value; the keys and their bounds: options.h):
 *   ctx=N            the window: the most tokens one sequence holds
 *                    (default: the model's training context, at most 4096)
 *   kv=N             KV-cache cells shared by all sequences (default: the
 *                    larger of ctx and 8192)
 *   parallel=N       sequences decoded together (default 64)
 *   threads=N        threads for decoding (default: online CPUs)
 *   threads_batch=N  threads for prompt processing (default: threads)
 *   ngl=N            layers on the GPU (-1 all; default 0, and -1 in the
 *                    GPU modules)
 *   main_gpu=N       the GPU that holds the model with split_mode=none
 *   split_mode=none|layer|row  how several GPUs share it (default layer)
 *   batch=N          tokens per llama_decode (default 512)
 *   ubatch=N         physical batch size (default 512)
 *   seed=N           default sampling seed (default 0)
 *   flash_attn=on|off|auto  (default off: on the CPU, flash attention
 *                    makes a log-likelihood depend on what shares its batch)
 *   repack=on|off    llama.cpp's repacked CPU weights (default off: they
 *                    too make a result depend on its batch; a few % faster)
 *   share_prompt=on|off  samples of one prompt (pass@k's n) decode it
 *                    once, as one sequence's cells shared by all of them
 *                    (default on)
 *   chat_template=S  template to use instead of the model's
 *
 * The cache is unified (kv_unified): a token shared by several sequences,
 * such as the context of a multiple-choice item, is stored and computed
 * once.  Scoring is in score.c, generation in generate.c.
 *
 * Memory.  measure() gives the weights and KV cache as llama.cpp sizes
 * them, and the peak RSS.  llama.cpp's loader says what each of its
 * buffers holds ("CUDA0 model buffer size = 812.50 MiB"); those lines are
 * read while a model opens and become the stat "buffers" (bytes, to
 * 0.005 MiB), and in the GPU modules the per-device rows weights_mib@CUDA0,
 * kv_mib@CUDA0, compute_mib@CUDA0, with device_peak_mib@CUDA0 from the
 * GPU's management library (gpumon.c).
 *
 * Build: see CMakeLists.txt (hfeval_module(llama ...)); it links libllama
 * and compiles core/gguf_meta.c and core/util.c in, hidden.  The GPU
 * modules compile the same files with HFE_LLAMA_GPU (and gpumon.c) against
 * a static GPU llama.cpp, behind gpu.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <ggml-backend.h>
#include <llama.h>

#include "gguf_meta.h"
#include "engine.h"
#include "gpumon.h"
#include "options.h"

#ifndef HFE_LLAMA_BUILD /* CMake says which llama.cpp */
#define HFE_LLAMA_BUILD "llama.cpp"
#endif

#ifndef HFE_LLAMA_VARIANT
#define HFE_LLAMA_VARIANT "llama"
#endif

const struct hfe_host *eng_host;

static const char *const option_keys[] = {HFE_LLAMA_OPTION_KEYS};

/* ---- llama.cpp's log: keep the first error for messages ----------------- */

static char last_error[512];
static struct hfe_model *opening; /* whose buffers the loader reports */

/* A name for the JSON of the record: no quote, backslash or control. */
static void clean(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            *s = '?';
}

/* "load_tensors:   CUDA0 model buffer size =   812.50 MiB": the buffer's
 * name, what it holds and its size, added to the opening model's list. */
static void read_buffer_line(const char *line)
{
    static const char *const kinds[][2] = {{"model", "weights"},
                                           {"KV", "kv"},
                                           {"RS", "kv"},
                                           {"compute", "compute"},
                                           {"output", "output"}};
    const char *at = strstr(line, " buffer size = "), *p, *w;
    char name[32], what[16];
    struct eng_buffer *b;
    size_t i, n;
    double mib;

    if (!opening || !at || !(p = strchr(line, ':')) || p > at)
        return;
    for (p++; *p == ' '; p++)
        ;
    for (w = p; w < at && *w != ' '; w++)
        ;
    n = (size_t)(w - p);
    if (!n || n >= sizeof(name))
        return;
    memcpy(name, p, n);
    name[n] = '\0';
    for (p = w; *p == ' '; p++)
        ;
    n = (size_t)(at - p);
    if (!n || n >= sizeof(what))
        return;
    memcpy(what, p, n);
    what[n] = '\0';
    mib = strtod(at + strlen(" buffer size = "), NULL);
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(what, kinds[i][0]))
            break;
    if (i == sizeof(kinds) / sizeof(kinds[0]) || !(mib >= 0))
        return;
    for (b = opening->buffers; b < opening->buffers + opening->n_buffers; b++)
        if (!strcmp(b->kind, kinds[i][1]) && !strcmp(b->name, name))
            break;
    if (b == opening->buffers + ENG_MAX_BUFFERS)
        return;
    if (b == opening->buffers + opening->n_buffers) {
        opening->n_buffers++;
        snprintf(b->kind, sizeof(b->kind), "%s", kinds[i][1]);
        snprintf(b->name, sizeof(b->name), "%s", name);
        clean(b->name);
        b->bytes = 0;
    }
    b->bytes += (uint64_t)(mib * 1048576.0 + 0.5);
}

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
    if (level == GGML_LOG_LEVEL_INFO)
        read_buffer_line(line);
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

/* key=WORD, one of a list: its value in *out */
struct word {
    const char *name;
    int value;
};
static const struct word split_words[] = {{"none", LLAMA_SPLIT_MODE_NONE},
                                          {"layer", LLAMA_SPLIT_MODE_LAYER},
                                          {"row", LLAMA_SPLIT_MODE_ROW},
                                          {NULL, 0}};
static const struct word fa_words[] = {{"on", LLAMA_FLASH_ATTN_TYPE_ENABLED},
                                       {"off", LLAMA_FLASH_ATTN_TYPE_DISABLED},
                                       {"auto", LLAMA_FLASH_ATTN_TYPE_AUTO},
                                       {NULL, 0}};
static const struct word on_off[] = {{"on", 1}, {"off", 0}, {NULL, 0}};

static int parse_word(const char *key, const char *v, const struct word *w,
                      const char *expected, int *out, char *err,
                      size_t err_size)
{
    for (; w->name; w++)
        if (!strcmp(v, w->name)) {
            *out = w->value;
            return 0;
        }
    snprintf(err, err_size, "option %s=%s: expected %s", key, v, expected);
    return -1;
}

struct opts {
    long n_ctx, kv, threads, threads_batch, ngl, batch, ubatch, parallel, seed;
    long main_gpu;
    int split_mode; /* enum llama_split_mode */
    int flash_attn; /* enum llama_flash_attn_type */
    int repack;
    int share_prompt;
    const char *chat_template;
};

/* How an option's value is read (options.h): its field is a long, an int
 * (the word lists) or a const char *. */
enum opt_kind { OPT_INT, OPT_SPLIT, OPT_FLASH, OPT_ON_OFF, OPT_STR };

/* The word lists, by kind. */
static const struct {
    const struct word *words;
    const char *expected;
} word_kinds[] = {
    [OPT_SPLIT] = {split_words, "none, layer or row"},
    [OPT_FLASH] = {fa_words, "on, off or auto"},
    [OPT_ON_OFF] = {on_off, "on or off"},
};

/* Each option's field has its kind's type. */
#define OPT_TYPE_INT    long
#define OPT_TYPE_SPLIT  int
#define OPT_TYPE_FLASH  int
#define OPT_TYPE_ON_OFF int
#define OPT_TYPE_STR    const char *
#define OPT_TYPE_CHECK(key, kind, min, max, field)                             \
    _Static_assert(                                                            \
        _Generic(((struct opts *)0)->field, OPT_TYPE_##kind : 1, default : 0), \
        "option " key ": the field's type is not its kind's");
HFE_LLAMA_OPTIONS(OPT_TYPE_CHECK)

/* One option of options.h. */
struct opt_spec {
    const char *key;
    enum opt_kind kind;
    long min, max; /* OPT_INT */
    size_t offset; /* of its field in struct opts */
};

static void opts_default(struct opts *op)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    memset(op, 0, sizeof(*op));
    op->threads = ncpu > 0 ? ncpu : 1;
    op->threads_batch = -1;
#ifdef HFE_LLAMA_GPU
    op->ngl = -1; /* a GPU module is chosen to run there: all of it */
#else
    op->ngl = 0;
#endif
    op->split_mode = LLAMA_SPLIT_MODE_LAYER;
    op->batch = 512;
    op->ubatch = 512;
    op->parallel = 64;
    op->share_prompt = 1;
    /* off: flash attention on the CPU makes results depend on the batch */
    op->flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED;
}

/* Reads value v of option s into its field of op. */
static int read_opt(const struct opt_spec *s, const char *v, struct opts *op,
                    char *err, size_t err_size)
{
    void *at = (char *)op + s->offset;

    switch (s->kind) {
    case OPT_INT:
        return parse_u(s->key, v, s->min, s->max, at, err, err_size);
    case OPT_STR:
        *(const char **)at = v;
        return 0;
    default:
        return parse_word(s->key, v, word_kinds[s->kind].words,
                          word_kinds[s->kind].expected, at, err, err_size);
    }
}

static int read_opts(const struct hfe_option *o, size_t n, struct opts *op,
                     char *err, size_t err_size)
{
#define OPT_SPEC(key, kind, min, max, field)                                   \
    {key, OPT_##kind, min, max, offsetof(struct opts, field)},
    /* not static: a bound may ask libllama */
    const struct opt_spec spec[] = {HFE_LLAMA_OPTIONS(OPT_SPEC)};
#undef OPT_SPEC
    const size_t n_spec = sizeof(spec) / sizeof(spec[0]);
    size_t i, k;
    int rc = 0;

    opts_default(op);
    for (i = 0; i < n && rc == 0; i++) {
        for (k = 0; k < n_spec && strcmp(spec[k].key, o[i].key); k++)
            ;
        if (k < n_spec) {
            rc = read_opt(&spec[k], o[i].value, op, err, err_size);
        } else {
            snprintf(err, err_size, "unknown option '%s'", o[i].key);
            rc = -1;
        }
    }
    if (op->threads_batch < 0)
        op->threads_batch = op->threads;
    return rc;
}

/* ---- methods ------------------------------------------------------------ */

#ifdef HFE_LLAMA_GPU
#define WANT_DEVICE(t) ((t) == GGML_BACKEND_DEVICE_TYPE_GPU)
#define NO_DEVICE      "llama.cpp found no GPU device"
#else
#define WANT_DEVICE(t) ((t) != GGML_BACKEND_DEVICE_TYPE_ACCEL)
#define NO_DEVICE      "libllama found no compute device"
#endif

static int llm_probe(char *why, size_t why_size)
{
    size_t i, n;

#ifndef HFE_LLAMA_GPU /* a GPU engine has its backends linked in */
    ggml_backend_load_all();
#endif
    n = ggml_backend_dev_count();
    for (i = 0; i < n; i++)
        if (WANT_DEVICE(ggml_backend_dev_type(ggml_backend_dev_get(i))))
            return 0;
    snprintf(why, why_size, "%s%s%s%s", NO_DEVICE, last_error[0] ? " (" : "",
             last_error, last_error[0] ? ")" : "");
    return -1;
}

/* The GPU devices llama.cpp sees, with what their memory holds now. */
static void gpu_devices(struct hfe_model *m)
{
#ifdef HFE_LLAMA_GPU
    size_t i, n = ggml_backend_dev_count();

    eng_gpu_open();
    for (i = 0; i < n && m->n_gpus < ENG_MAX_GPUS; i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        struct ggml_backend_dev_props pr;
        struct eng_gpu *g = &m->gpus[m->n_gpus];

        if (ggml_backend_dev_type(d) != GGML_BACKEND_DEVICE_TYPE_GPU)
            continue;
        ggml_backend_dev_get_props(d, &pr);
        snprintf(g->name, sizeof(g->name), "%s", pr.name ? pr.name : "?");
        snprintf(g->description, sizeof(g->description), "%s",
                 pr.description ? pr.description : "");
        snprintf(g->pci, sizeof(g->pci), "%s",
                 pr.device_id ? pr.device_id : "");
        clean(g->name);
        clean(g->description);
        clean(g->pci);
        g->total = pr.memory_total;
        g->peak = eng_gpu_used(g->pci[0] ? g->pci : NULL, &g->base);
        m->n_gpus++;
    }
#else
    (void)m;
#endif
}

/* The peak of this process's memory on each GPU, as the driver counts it
 * (or the device's growth since the model opened, where it cannot). */
static void gpu_sample(struct hfe_model *m)
{
#ifdef HFE_LLAMA_GPU
    size_t i;

    for (i = 0; i < m->n_gpus; i++) {
        struct eng_gpu *g = &m->gpus[i];
        uint64_t dev, own = eng_gpu_used(g->pci[0] ? g->pci : NULL, &dev);

        if (!own && dev > g->base)
            own = dev - g->base;
        if (own > g->peak)
            g->peak = own;
    }
#else
    (void)m;
#endif
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
    free(m->stats_text[0]);
    free(m->stats_text[1]);
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
    m->share_prompt = op.share_prompt != 0;
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
    mp.main_gpu = (int32_t)op.main_gpu;
    mp.split_mode = (enum llama_split_mode)op.split_mode;
    gpu_devices(m);
    opening = m; /* the loader's "buffer size" lines, until the context */
    /* repacked weights take other kernels for one token than for many */
    mp.use_extra_bufts = op.repack;
    t0 = eng_now_ms();
    last_error[0] = '\0';
    m->model = llama_model_load_from_file(uri, mp);
    if (!m->model) {
        opening = NULL;
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
    opening = NULL;
    if (!m->ctx) {
        snprintf(err, err_size, "%s: cannot create a context of %u tokens: %s",
                 uri, cp.n_ctx, last_error[0] ? last_error : "no reason given");
        rc = HFE_EBACKEND;
        goto fail;
    }
    m->load_ms = eng_now_ms() - t0;
    gpu_sample(m);
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
    opening = NULL;
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
    gpu_sample(m);
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

/* JSON for the run record: llama.cpp's buffers, and the GPUs. */
static void stats_render(struct hfe_model *m)
{
    struct hfe_buf b = {0};
    size_t i;

    free(m->stats_text[0]);
    free(m->stats_text[1]);
    m->stats_text[0] = m->stats_text[1] = NULL;
    hfe_buf_puts(&b, "[");
    for (i = 0; i < m->n_buffers; i++)
        hfe_buf_printf(&b,
                       "%s{\"kind\":\"%s\",\"buffer\":\"%s\",\"bytes\":%llu}",
                       i ? "," : "", m->buffers[i].kind, m->buffers[i].name,
                       (unsigned long long)m->buffers[i].bytes);
    hfe_buf_puts(&b, "]");
    m->stats_text[0] = b.s;
    m->stats[0] = (struct hfe_kv){"buffers", "json", m->stats_text[0]};
    m->n_stats = 1;
    if (!m->n_gpus)
        return;
    memset(&b, 0, sizeof(b));
    hfe_buf_printf(&b, "{\"driver\":\"%s\",\"source\":\"%s\",\"devices\":[",
                   eng_gpu_driver(), eng_gpu_source());
    for (i = 0; i < m->n_gpus; i++) {
        const struct eng_gpu *g = &m->gpus[i];

        hfe_buf_printf(&b,
                       "%s{\"name\":\"%s\",\"description\":\"%s\",\"pci\":"
                       "\"%s\",\"memory_total\":%llu,\"peak\":%llu}",
                       i ? "," : "", g->name, g->description, g->pci,
                       (unsigned long long)g->total,
                       (unsigned long long)g->peak);
    }
    hfe_buf_puts(&b, "]}");
    m->stats_text[1] = b.s;
    m->stats[1] = (struct hfe_kv){"gpu", "json", m->stats_text[1]};
    m->n_stats = 2;
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
    m->mem[3] = (struct hfe_mem){"compute", "total", 0};
    for (size_t i = 0; i < m->n_buffers; i++)
        if (!strcmp(m->buffers[i].kind, "compute"))
            m->mem[3].bytes += m->buffers[i].bytes;
    v.n_mem = 4;
#ifdef HFE_LLAMA_GPU /* by device: the rows of the GPU tables */
    {
        size_t i;

        for (i = 0; i < m->n_buffers; i++)
            m->mem[v.n_mem++] = (struct hfe_mem){
                m->buffers[i].kind, m->buffers[i].name, m->buffers[i].bytes};
        gpu_sample(m);
        for (i = 0; i < m->n_gpus; i++)
            m->mem[v.n_mem++] = (struct hfe_mem){"device-peak", m->gpus[i].name,
                                                 m->gpus[i].peak};
    }
#endif
    v.mem = m->mem;
    stats_render(m);
    v.n_stats = m->n_stats;
    v.stats = m->stats;
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
#ifdef HFE_LLAMA_GPU
    .description = "llama.cpp engine, in-process, on the GPU (GGUF files)",
    .caps = HFE_LLAMA_CAPS | HFE_CAP_GPU,
#else
    .description = "llama.cpp engine, in-process (GGUF files)",
    .caps = HFE_LLAMA_CAPS,
#endif
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
