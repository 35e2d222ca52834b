/*
 * gguf_meta.h - GGUF metadata without the tensors: every key, arrays
 * included, read with ggml's gguf.h (libllama's llama_model_meta_* skips
 * arrays), plus what the header implies: parameter count, quantization,
 * and whether the file holds all the tensor data it announces.
 *
 * Not thread-safe per object; separate objects are independent.
 */
#ifndef HFEVAL_GGUF_META_H
#define HFEVAL_GGUF_META_H

#include <stdint.h>

#include "hfeval.h"

struct gguf_context;

struct hfe_gguf {
    char *path;
    struct gguf_context *ctx;
    uint64_t file_size;
    uint64_t data_end; /* bytes the tensor data needs                */
    uint32_t version;
    int64_t n_kv;
    int64_t n_tensors;
    uint64_t n_params;
    char quant[32]; /* from general.file_type, else the main tensor type */
};

/* Reads the metadata of path.  Returns 0, or HFE_EXIT_MODEL with the
 * reason in err ("x.gguf: truncated: ..."), *out NULL.  A file whose tensor
 * data is cut short is an error unless allow_truncated. */
int hfe_gguf_open(const char *path, int allow_truncated, struct hfe_gguf **out,
                  struct hfe_err *err);
void hfe_gguf_close(struct hfe_gguf *g);

/* Key i's name and GGUF type ("str", "u32", "arr[str]"). */
const char *hfe_gguf_key(const struct hfe_gguf *g, int64_t i);
const char *hfe_gguf_type(const struct hfe_gguf *g, int64_t i, char *buf,
                          size_t size);
/* Number of items when key i is an array, else 0. */
uint64_t hfe_gguf_arr_n(const struct hfe_gguf *g, int64_t i);
/* Key i's value as JSON into b (appended).  Arrays stop after max_items
 * items when max_items > 0. */
void hfe_gguf_value_json(const struct hfe_gguf *g, int64_t i,
                         uint64_t max_items, struct hfe_buf *b);

/* Index of key, or -1. */
int64_t hfe_gguf_find(const struct hfe_gguf *g, const char *key);
/* String value of key, or NULL when absent or not a string. */
const char *hfe_gguf_str(const struct hfe_gguf *g, const char *key);
/* Integer value of key (any integer type), or def. */
int64_t hfe_gguf_int(const struct hfe_gguf *g, const char *key, int64_t def);

/* Name of a llama_ftype value ("Q4_K_M"), or NULL. */
const char *hfe_gguf_ftype_name(int64_t ftype);

#endif /* HFEVAL_GGUF_META_H */
