/*
 * engine.h - what the files of the llama.cpp backend share: the model
 * object, and the scoring and generation entry points.
 *
 *   llama.c     module table, options, open/close, info, tokenize, measure
 *   score.c     HFE_REQ_LOGLIK and HFE_REQ_ROLLING
 *   generate.c  HFE_REQ_GENERATE
 *
 * Not thread-safe: the host calls one model from one thread at a time.
 */
#ifndef HFEVAL_LLAMA_ENGINE_H
#define HFEVAL_LLAMA_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <llama.h>

#include "hfeval-plugin.h"

struct hfe_gguf;

#define ENG_MAX_BUFFERS 24
#define ENG_MAX_GPUS    16

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

    uint32_t n_cells;    /* KV cells, shared by every sequence (unified)   */
    uint32_t n_window;   /* longest one sequence may be: the ctx option    */
    uint32_t n_batch;    /* tokens per llama_decode                        */
    uint32_t plan_cells; /* cells a scoring plan fills before it runs: the
                            attention of every token spans them all      */
    uint32_t n_seq;      /* sequences per decode, pad_seq not counted      */
    int32_t pad_seq;     /* the sequence eng_pad() fills (n_seq)            */
    int n_threads;       /* for the work around the model (log-softmax)   */
    int32_t n_vocab;
    llama_token bos; /* LLAMA_TOKEN_NULL when the vocabulary has none  */
    bool add_bos;
    bool share_prompt; /* generate.c: one prefill for equal prompts */

    struct llama_batch batch; /* n_batch tokens, n_seq ids each      */

    /* Our own counters, for measure(). */
    uint64_t n_scored; /* tokens evaluated while scoring             */
    double score_ms;
    uint64_t n_gen; /* tokens generated                           */
    double gen_ms;

    struct hfe_kv *kv; /* info(): rendered once */
    char **kv_text;
    size_t n_kv;

    /* What llama.cpp's loader said its buffers hold, and the GPUs. */
    struct eng_buffer {
        char kind[16]; /* weights, kv, compute, output */
        char name[32]; /* the buffer type: CPU_Mapped, CUDA0, CUDA_Host */
        uint64_t bytes;
    } buffers[ENG_MAX_BUFFERS];
    size_t n_buffers;
    struct eng_gpu {
        char name[32], description[96], pci[32];
        uint64_t total, base, peak; /* base: the device's use at open */
    } gpus[ENG_MAX_GPUS];
    size_t n_gpus;

    struct hfe_mem mem[4 + ENG_MAX_BUFFERS + ENG_MAX_GPUS];
    struct hfe_kv stats[2];
    char *stats_text[2];
    size_t n_stats;
};

extern const struct hfe_host *eng_host;

double eng_now_ms(void);

/* Sets a result's status and message (host memory). */
void eng_fail(struct hfe_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Tokenizes text, with BOS where the model wants one when add_special;
 * special tokens written in the text (<|im_start|>) are tokens only with
 * parse_special, as for a rendered chat template.  *out is malloc'ed.
 * Returns the count, or a negative status. */
int32_t eng_tokenize(struct hfe_model *m, const char *text, bool add_special,
                     bool parse_special, llama_token **out);

/*
 * Batch shape and exactness.  llama.cpp's CPU backend multiplies one
 * column with ggml's own kernels and two or more with llamafile's
 * (which, for F16 and quantized weights, round the activations
 * differently), so a result would depend on how many tokens and outputs
 * shared its decode.  Every decode therefore carries at least
 * ENG_MIN_ROWS tokens and outputs: eng_pad() marks more outputs and, if
 * need be, adds tokens on the sequence pad_seq, which eng_unpad() clears.
 */
#define ENG_MIN_ROWS 4
/* Returns true when it added tokens. */
bool eng_pad(struct hfe_model *m);
void eng_unpad(struct hfe_model *m);

/* Requests idx[0..n) of batch b, all of the function's kind.  Each result
 * is filled and done() called for it.  Returns HFE_OK or a failure of the
 * whole batch (the engine could not decode at all). */
int eng_loglik(struct hfe_model *m, const struct hfe_batch *b,
               const size_t *idx, size_t n);
int eng_rolling(struct hfe_model *m, const struct hfe_batch *b,
                const size_t *idx, size_t n);
int eng_generate(struct hfe_model *m, const struct hfe_batch *b,
                 const size_t *idx, size_t n);

#endif /* HFEVAL_LLAMA_ENGINE_H */
