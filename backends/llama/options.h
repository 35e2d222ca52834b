/*
 * options.h - the option keys of the llama.cpp modules, shared by the
 * engine (llama.c) and the GPU modules' front (gpu.c), which must accept
 * the same keys when it stands in for an engine it could not load.
 */
#ifndef HFEVAL_LLAMA_OPTIONS_H
#define HFEVAL_LLAMA_OPTIONS_H

#define HFE_LLAMA_OPTION_KEYS                                                  \
    "ctx", "kv", "threads", "threads_batch", "ngl", "main_gpu", "split_mode",  \
        "batch", "ubatch", "parallel", "seed", "flash_attn", "chat_template",  \
        "repack", NULL

#define HFE_LLAMA_CAPS                                                         \
    (HFE_CAP_LOGLIK | HFE_CAP_ROLLING | HFE_CAP_TOPK | HFE_CAP_GENERATE |      \
     HFE_CAP_CHAT | HFE_CAP_SAMPLING | HFE_CAP_TOKENIZE | HFE_CAP_MEASURE |    \
     HFE_CAP_BATCH | HFE_CAP_DETERMINISTIC)

#endif
