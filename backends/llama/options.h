/*
 * options.h - the options of the llama.cpp modules, each written once.
 * The engine (llama.c) expands the list into its parser's table; the
 * engine and the GPU modules' front (gpu.c), which must accept the same
 * keys when it stands in for an engine it could not load, expand it into
 * the keys of their method tables.  What each option means: the header
 * of llama.c.
 *
 * HFE_LLAMA_OPTIONS(X) calls X(key, kind, min, max, field) for each
 * option, in the order the method table lists them:
 *   kind      how llama.c reads the value: INT, an integer from min to
 *             max; SPLIT, FLASH or ON_OFF, a word of that list; STR, as
 *             written
 *   min, max  INT only; they may call libllama, as only llama.c expands
 *             them
 *   field     the member of llama.c's struct opts the value sets
 */
#ifndef HFEVAL_LLAMA_OPTIONS_H
#define HFEVAL_LLAMA_OPTIONS_H

#define HFE_LLAMA_OPTIONS(X)                                                   \
    X("ctx", INT, 0, 1 << 24, n_ctx)                                           \
    X("kv", INT, 0, 1 << 26, kv)                                               \
    X("threads", INT, 1, 1024, threads)                                        \
    X("threads_batch", INT, 1, 1024, threads_batch)                            \
    X("ngl", INT, -1, 100000, ngl)                                             \
    X("main_gpu", INT, 0, (long)llama_max_devices() - 1, main_gpu)             \
    X("split_mode", SPLIT, 0, 0, split_mode)                                   \
    X("batch", INT, 1, 1 << 20, batch)                                         \
    X("ubatch", INT, 1, 1 << 20, ubatch)                                       \
    /* one sequence is kept for eng_pad() */                                   \
    X("parallel", INT, 1, (long)llama_max_parallel_sequences() - 1, parallel)  \
    X("seed", INT, 0, 0x7fffffffL, seed)                                       \
    X("flash_attn", FLASH, 0, 0, flash_attn)                                   \
    X("chat_template", STR, 0, 0, chat_template)                               \
    X("repack", ON_OFF, 0, 0, repack)                                          \
    X("share_prompt", ON_OFF, 0, 0, share_prompt)

/* The keys, NULL-terminated: the method table's options. */
#define HFE_LLAMA_OPTION_KEYS HFE_LLAMA_OPTIONS(HFE_LLAMA_OPTION_KEY) NULL
/* An X of HFE_LLAMA_OPTIONS: the key alone. */
#define HFE_LLAMA_OPTION_KEY(key, kind, min, max, field) key,

#define HFE_LLAMA_CAPS                                                         \
    (HFE_CAP_LOGLIK | HFE_CAP_ROLLING | HFE_CAP_TOPK | HFE_CAP_GENERATE |      \
     HFE_CAP_CHAT | HFE_CAP_SAMPLING | HFE_CAP_TOKENIZE | HFE_CAP_MEASURE |    \
     HFE_CAP_BATCH | HFE_CAP_DETERMINISTIC)

#endif
