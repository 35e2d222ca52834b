/*
 * hfeval-plugin.h - the plugin ABI: the one header a backend includes.
 *
 * A backend is a shared object that exports one symbol,
 *
 *     const struct hfe_backend *hfe_plugin_entry(const struct hfe_host *host);
 *
 * The host (the hfeval core) calls it once after dlopen(), hands the
 * backend a table of services (allocation, logging, cancellation), and
 * receives the backend's method table.  The backend never links against
 * the host.
 *
 * Versioning.  Every struct crossing the boundary starts with the ABI major,
 * minor and its own struct_size.  A different major is refused by the host,
 * which reports both numbers: so hfe_plugin_entry returns its table even
 * when host->abi_major differs from its own (the table's first eight bytes
 * mean the same in every major), and returns NULL only when the backend
 * cannot start at all.  The host calls nothing else on a refused table.
 * Within a major the structs only grow at their end: a reader looks at a
 * field only after checking that struct_size covers it (HFE_HAS_FIELD).
 * Bump the minor when adding a field; bump the major for anything else.
 *
 * Ownership.  Memory that a backend hands to the host (result text, error
 * messages, log-probability arrays) is allocated with host->alloc and freed
 * by the host with host->free.  Strings in the backend's own structs (its
 * name, model information, option names) belong to the backend and stay
 * valid until the object they hang off is closed.  Sized calls return the
 * size they need, as llama_tokenize() does.
 *
 * Threads.  The host calls a model's methods from one thread at a time;
 * a backend may use as many threads of its own as it likes.  Host services
 * are thread-safe.
 *
 * This header is C99 and C++ clean and depends only on the C library.
 */
#ifndef HFEVAL_PLUGIN_H
#define HFEVAL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HFE_ABI_MAJOR 1
#define HFE_ABI_MINOR 2

/* The exported entry symbol, as a string for dlsym(). */
#define HFE_PLUGIN_ENTRY "hfe_plugin_entry"

#if defined(_WIN32)
#define HFE_EXPORT __declspec(dllexport)
#else
#define HFE_EXPORT __attribute__((visibility("default")))
#endif

/* True when a struct of the given (reader-side) size holds `field`. */
#define HFE_HAS_FIELD(ptr, type, field)                                        \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof((ptr)->field))

/* Status codes.  0 is success; the rest are negative. */
enum hfe_status {
    HFE_OK = 0,
    HFE_ENOTSUP = -1,   /* the backend does not do this                   */
    HFE_EINVAL = -2,    /* a bad argument or option                        */
    HFE_ENOMEM = -3,    /* out of memory                                   */
    HFE_EIO = -4,       /* a file or the network failed                    */
    HFE_EMODEL = -5,    /* the model file is missing, corrupt, unsupported */
    HFE_ENOTFOUND = -6, /* no answer for this request (replay)             */
    HFE_ECANCELED = -7, /* the host asked to stop                          */
    HFE_ETOOLONG = -8,  /* the input does not fit the context              */
    HFE_EBACKEND = -9   /* any other failure inside the backend            */
};

/* Capability bits (hfe_backend.caps). */
#define HFE_CAP_LOGLIK        (1u << 0) /* HFE_REQ_LOGLIK                    */
#define HFE_CAP_ROLLING       (1u << 1) /* HFE_REQ_ROLLING                   */
#define HFE_CAP_TOPK          (1u << 2) /* rolling with top_k > 0            */
#define HFE_CAP_GENERATE      (1u << 3) /* HFE_REQ_GENERATE                  */
#define HFE_CAP_CHAT          (1u << 4) /* HFE_REQF_CHAT                     */
#define HFE_CAP_SAMPLING      (1u << 5) /* temperature > 0                   */
#define HFE_CAP_TOKENIZE      (1u << 6) /* tokenize and detokenize           */
#define HFE_CAP_MEASURE       (1u << 7) /* measurements                      */
#define HFE_CAP_BATCH         (1u << 8) /* gains from many requests at once  */
#define HFE_CAP_DETERMINISTIC (1u << 9) /* equal input, equal output       */
/* Minor 2.  Runs the model on a GPU: `backend=auto` prefers such a module
 * among the usable ones that open the file. */
#define HFE_CAP_GPU (1u << 10)

/* Log levels for hfe_host.log. */
enum hfe_log_level {
    HFE_LOG_ERROR = 0,
    HFE_LOG_WARN = 1,
    HFE_LOG_INFO = 2,
    HFE_LOG_DEBUG = 3
};

/*
 * Services the host gives a backend.  Valid from the entry call until the
 * module is unloaded.  All members are required and thread-safe.
 */
struct hfe_host {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;

    void *(*alloc)(size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void (*free)(void *ptr);
    /* Copy of s in host memory, or NULL when out of memory. */
    char *(*strdup)(const char *s);

    /* printf-style; `who` names the backend or model, may be NULL. */
    void (*log)(int level, const char *who, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    /* Nonzero once the run is being stopped: finish or abandon early. */
    int (*cancelled)(void);
};

/* An option from the model list, `key=value`; neither is ever NULL. */
struct hfe_option {
    const char *key;
    const char *value;
};

/* Request kinds. */
enum hfe_req_kind {
    HFE_REQ_LOGLIK = 1,  /* log P(continuation | context)                  */
    HFE_REQ_ROLLING = 2, /* log P(text), windowed over the context         */
    HFE_REQ_GENERATE = 3 /* text after prompt, until a stop or a limit     */
};

/* Request flags. */
#define HFE_REQF_CHAT (1u << 0) /* apply the model's chat template */
/* ROLLING: llama-perplexity's windows (whole chunks of n_ctx tokens, the
 * first replaced by BOS, the second half of each scored). */
#define HFE_REQF_PPL_WINDOWS (1u << 1)
/* LOGLIK: score the tokens after the prefix that the full texts of all
 * the item's choices in the batch share (same task, doc_id, context), as
 * llama-perplexity --hellaswag does. */
#define HFE_REQF_CHOICE_PREFIX (1u << 2)

/*
 * One request.  Strings belong to the host and stay valid until submit()
 * returns.
 */
struct hfe_request {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;

    uint32_t kind;  /* enum hfe_req_kind                                  */
    uint32_t flags; /* HFE_REQF_*                                         */

    const char *item_id; /* the data item's own id, or NULL               */
    int64_t doc_id;      /* 0-based position in its data source, or -1    */
    const char *task;    /* task name within the suite, or NULL           */

    /* LOGLIK: context and continuation.  ROLLING: text in `context`.
     * GENERATE: the prompt in `context`. */
    const char *context;
    const char *continuation;

    /* ROLLING */
    uint32_t top_k; /* also return the k best log-probs a position     */
    uint32_t n_ctx; /* window in tokens, 0 = the model's context       */

    /* GENERATE */
    const char *const *stop; /* stop strings, not included in the text    */
    uint32_t n_stop;
    uint32_t max_tokens; /* 0 = backend default                       */
    float temperature;   /* 0 = greedy                                */
    float top_p;         /* 0 or 1 = off                              */
    uint64_t seed;

    /* Which of the n samples of one item this is (pass@k), from 0; and,
     * for LOGLIK, which choice of the item, from 0. */
    uint32_t sample;
    uint32_t choice;
};

/* Why a generation ended. */
enum hfe_finish {
    HFE_FINISH_NONE = 0,
    HFE_FINISH_STOP = 1,   /* a stop string                              */
    HFE_FINISH_LENGTH = 2, /* max_tokens                                 */
    HFE_FINISH_EOG = 3     /* an end-of-generation token                 */
};

/*
 * One result, filled by the backend.  The host zeroes it and sets the
 * header before submit().  Pointers are host memory (host->alloc).
 */
struct hfe_result {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;

    int32_t status; /* enum hfe_status                                    */
    char *error;    /* what went wrong, for this request; or NULL         */

    /* LOGLIK */
    double logprob;    /* sum over continuation tokens (natural log) */
    int32_t is_greedy; /* every continuation token was the argmax    */
    uint32_t n_tokens; /* continuation tokens scored                 */

    /* ROLLING: n_tokens positions scored; logprob is their sum.  When
     * top_k covers the vocabulary, topk_logprobs holds every token's
     * log-probability in vocabulary order and topk_ids is NULL. */
    float *token_logprobs; /* [n_tokens], or NULL                        */
    int32_t *topk_ids;     /* [n_tokens * top_k], best first, or NULL    */
    float *topk_logprobs;  /* [n_tokens * top_k], or NULL                */
    uint64_t n_bytes;      /* UTF-8 bytes of the scored text (bits/byte) */
    uint32_t top_k;        /* k returned per position                    */

    /* GENERATE */
    char *text; /* the completion, stop string excluded       */
    uint32_t n_gen_tokens;
    uint32_t finish; /* enum hfe_finish                            */

    /* Timings of this request, milliseconds; 0 when unknown. */
    uint32_t n_prompt_tokens;
    double t_first_token_ms;
    double t_total_ms;
};

/*
 * A batch: the backend may reorder, share prefixes and run requests
 * together, but each result must equal what the request alone would give.
 * done() is called once per request as it completes, from the thread that
 * called submit(); it may be NULL.  Requests left unanswered because the
 * host cancelled get status HFE_ECANCELED and no done() call.
 */
struct hfe_batch {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;

    size_t n;
    const struct hfe_request *const *req;
    struct hfe_result *const *res;

    void (*done)(void *ud, size_t index);
    void *ud;
};

/* One metadata key.  `value` is a string rendered as JSON: a JSON string
 * for strings, a number, true/false, or an array. */
struct hfe_kv {
    const char *key;
    const char *type; /* "str", "u32", "f32", "arr[str]", ...           */
    const char *value;
};

/* Model information.  Strings and arrays belong to the backend and stay
 * valid until close().  Unknown numbers are 0, unknown strings NULL. */
struct hfe_model_info {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;

    const char *name;
    const char *architecture;
    const char *quantization; /* "F32", "Q4_K_M", ...                   */
    const char *chat_template;
    uint64_t n_params;
    uint64_t file_size;
    uint32_t n_ctx_train;
    uint32_t n_ctx; /* the context in use                     */
    uint32_t n_vocab;
    size_t n_kv;
    const struct hfe_kv *kv; /* every metadata key, arrays included    */
};

/* Memory use by kind and device. */
struct hfe_mem {
    const char *kind;   /* "weights", "kv", "compute", "rss-peak", ...  */
    const char *device; /* "CPU", "CUDA0", ...                           */
    uint64_t bytes;
};

/* Measurements since the model was opened.  0 where unknown. */
struct hfe_measure {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;

    double load_ms;
    uint64_t n_prompt_tokens; /* evaluated in prompt processing         */
    double prompt_ms;
    uint64_t n_decode_tokens; /* generated one step at a time           */
    double decode_ms;
    size_t n_mem;
    const struct hfe_mem *mem; /* backend memory, valid until the next call */

    /* Minor 1.  What the backend counted, to go into the run record as it
     * is: its method, requests, retries, bytes.  `value` is JSON, as in
     * hfe_kv; valid until the next call.  Read after HFE_HAS_FIELD. */
    size_t n_stats;
    const struct hfe_kv *stats;
};

/* A loaded model; the backend defines it. */
struct hfe_model;

/*
 * The method table a backend returns.  `static const`, designated
 * initializers; NULL in an optional slot means "not supported".
 */
struct hfe_backend {
    uint16_t abi_major; /* HFE_ABI_MAJOR the backend was built with      */
    uint16_t abi_minor;
    uint32_t struct_size;

    const char *name;        /* required: "llama", "http", "replay"      */
    const char *version;     /* required                                  */
    const char *description; /* required: one line                        */
    uint64_t caps;           /* HFE_CAP_*                                 */
    /* URI schemes this backend opens ("replay:", "http://"), or file
     * suffixes (".gguf"); NULL-terminated; required. */
    const char *const *handles;
    /* Option keys the backend accepts; NULL-terminated; required. */
    const char *const *options;

    /* Optional.  Nonzero with a reason in `why` when this module cannot
     * run on this machine (a GPU module without a GPU). */
    int (*probe)(char *why, size_t why_size);

    /* Required.  Opens a model.  On failure returns a status, writes a
     * message to err (NUL-terminated, truncated to err_size) and sets
     * *out to NULL. */
    int (*open)(const char *uri, const struct hfe_option *opts, size_t n_opts,
                struct hfe_model **out, char *err, size_t err_size);
    /* Required.  Frees everything the model holds; NULL is a no-op. */
    void (*close)(struct hfe_model *m);

    /* Required.  Fills info; the strings stay valid until close(). */
    int (*info)(struct hfe_model *m, struct hfe_model_info *info);

    /* Optional.  Writes at most cap tokens; returns the number of tokens
     * the text needs, or a negative status.  A return larger than cap
     * means: call again with a larger buffer. */
    int64_t (*tokenize)(struct hfe_model *m, const char *text, size_t len,
                        int add_special, int32_t *tokens, size_t cap);
    /* Optional.  Writes at most cap bytes (no NUL); returns the bytes
     * needed, or a negative status. */
    int64_t (*detokenize)(struct hfe_model *m, const int32_t *tokens, size_t n,
                          char *text, size_t cap);

    /* Required.  Runs every request of the batch.  Per-request failures
     * go into that result's status and error; the return value is HFE_OK
     * or a failure that concerns the whole batch. */
    int (*submit)(struct hfe_model *m, const struct hfe_batch *batch);

    /* Optional.  Measurements; the pointers stay valid until the next
     * call on this model. */
    int (*measure)(struct hfe_model *m, struct hfe_measure *out);
};

/* Fill the version header of a struct the caller owns. */
#define HFE_INIT(ptr)                                                          \
    do {                                                                       \
        (ptr)->abi_major = HFE_ABI_MAJOR;                                      \
        (ptr)->abi_minor = HFE_ABI_MINOR;                                      \
        (ptr)->struct_size = (uint32_t)sizeof(*(ptr));                         \
    } while (0)

typedef const struct hfe_backend *(*hfe_plugin_entry_fn)(
    const struct hfe_host *host);

HFE_EXPORT const struct hfe_backend *
hfe_plugin_entry(const struct hfe_host *host);

#ifdef __cplusplus
}
#endif

#endif /* HFEVAL_PLUGIN_H */
