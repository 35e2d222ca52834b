/*
 * gguf_meta.c - reading GGUF metadata with ggml's gguf.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ggml.h>
#include <gguf.h>

#include "gguf_meta.h"
#include "json.h"

/* gguf.h reports its reasons through ggml's log; keep the last error. */
static char last_log[512];

static void capture_log(enum ggml_log_level level, const char *text, void *ud)
{
    size_t n;

    (void)ud;
    if (level != GGML_LOG_LEVEL_ERROR)
        return;
    snprintf(last_log, sizeof(last_log), "%s", text);
    n = strlen(last_log);
    while (n && (last_log[n - 1] == '\n' || last_log[n - 1] == ' '))
        last_log[--n] = '\0';
}

static const char *ftype_names[] = {
    [0] = "F32",        [1] = "F16",     [2] = "Q4_0",    [3] = "Q4_1",
    [7] = "Q8_0",       [8] = "Q5_0",    [9] = "Q5_1",    [10] = "Q2_K",
    [11] = "Q3_K_S",    [12] = "Q3_K_M", [13] = "Q3_K_L", [14] = "Q4_K_S",
    [15] = "Q4_K_M",    [16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K",
    [19] = "IQ2_XXS",   [20] = "IQ2_XS", [21] = "Q2_K_S", [22] = "IQ3_XS",
    [23] = "IQ3_XXS",   [24] = "IQ1_S",  [25] = "IQ4_NL", [26] = "IQ3_S",
    [27] = "IQ3_M",     [28] = "IQ2_S",  [29] = "IQ2_M",  [30] = "IQ4_XS",
    [31] = "IQ1_M",     [32] = "BF16",   [36] = "TQ1_0",  [37] = "TQ2_0",
    [38] = "MXFP4_MOE", [39] = "NVFP4",  [40] = "Q1_0",   [41] = "Q2_0",
};

const char *hfe_gguf_ftype_name(int64_t ftype)
{
    if (ftype < 0 ||
        (size_t)ftype >= sizeof(ftype_names) / sizeof(ftype_names[0]))
        return NULL;
    return ftype_names[ftype];
}

/* The type that holds the most weights, for files without file_type. */
static void main_tensor_type(struct hfe_gguf *g)
{
    uint64_t bytes[GGML_TYPE_COUNT] = {0};
    int64_t i;
    int best = -1;

    for (i = 0; i < g->n_tensors; i++) {
        enum ggml_type t = gguf_get_tensor_type(g->ctx, i);

        if ((int)t >= 0 && t < GGML_TYPE_COUNT)
            bytes[t] += gguf_get_tensor_size(g->ctx, i);
    }
    for (i = 0; i < GGML_TYPE_COUNT; i++)
        if (bytes[i] && (best < 0 || bytes[i] > bytes[best]))
            best = (int)i;
    if (best >= 0)
        snprintf(g->quant, sizeof(g->quant), "%s",
                 ggml_type_name((enum ggml_type)best));
}

int hfe_gguf_open(const char *path, int allow_truncated, struct hfe_gguf **out,
                  struct hfe_err *err)
{
    struct gguf_init_params params = {.no_alloc = true, .ctx = NULL};
    struct hfe_gguf *g;
    struct stat st;
    ggml_log_callback prev_log;
    void *prev_ud;
    const char *ft;
    int64_t i;

    *out = NULL;
    if (stat(path, &st) != 0) {
        hfe_err_set(err, "%s: %s", path, strerror(errno));
        return HFE_EXIT_MODEL;
    }
    if (!S_ISREG(st.st_mode)) {
        hfe_err_set(err, "%s: not a regular file", path);
        return HFE_EXIT_MODEL;
    }
    g = hfe_xcalloc(1, sizeof(*g));
    g->path = hfe_xstrdup(path);
    g->file_size = (uint64_t)st.st_size;

    last_log[0] = '\0';
    ggml_log_get(&prev_log, &prev_ud); /* the host's logger comes back */
    ggml_log_set(capture_log, NULL);
    g->ctx = gguf_init_from_file(path, params);
    ggml_log_set(prev_log, prev_ud);
    if (!g->ctx) {
        const char *why = last_log;

        /* "gguf_init_from_file_impl: reason" -> "reason" */
        if (strncmp(why, "gguf_", 5) == 0 && strstr(why, ": "))
            why = strstr(why, ": ") + 2;
        hfe_err_set(err, "%s: not a valid GGUF file: %s", path,
                    *why ? why : "unreadable header");
        hfe_gguf_close(g);
        return HFE_EXIT_MODEL;
    }
    g->version = gguf_get_version(g->ctx);
    g->n_kv = gguf_get_n_kv(g->ctx);
    g->n_tensors = gguf_get_n_tensors(g->ctx);
    g->data_end = gguf_get_data_offset(g->ctx);
    for (i = 0; i < g->n_tensors; i++) {
        const int64_t *ne = gguf_get_tensor_ne(g->ctx, i);
        uint64_t n = 1, end;
        int d;

        for (d = 0; d < GGML_MAX_DIMS; d++)
            n *= (uint64_t)ne[d];
        g->n_params += n;
        end = gguf_get_data_offset(g->ctx) + gguf_get_tensor_offset(g->ctx, i) +
              gguf_get_tensor_size(g->ctx, i);
        if (end > g->data_end)
            g->data_end = end;
    }
    if (g->n_tensors && g->data_end > g->file_size && !allow_truncated) {
        hfe_err_set(err,
                    "%s: truncated: its %" PRId64 " tensors need %" PRIu64
                    " bytes, the file has %" PRIu64,
                    path, g->n_tensors, g->data_end, g->file_size);
        hfe_gguf_close(g);
        return HFE_EXIT_MODEL;
    }
    ft = hfe_gguf_ftype_name(hfe_gguf_int(g, "general.file_type", -1));
    if (ft)
        snprintf(g->quant, sizeof(g->quant), "%s", ft);
    else
        main_tensor_type(g);
    *out = g;
    return 0;
}

void hfe_gguf_close(struct hfe_gguf *g)
{
    if (!g)
        return;
    if (g->ctx)
        gguf_free(g->ctx);
    free(g->path);
    free(g);
}

const char *hfe_gguf_key(const struct hfe_gguf *g, int64_t i)
{
    return gguf_get_key(g->ctx, i);
}

static const char *type_name(enum gguf_type t)
{
    switch (t) {
    case GGUF_TYPE_UINT8:
        return "u8";
    case GGUF_TYPE_INT8:
        return "i8";
    case GGUF_TYPE_UINT16:
        return "u16";
    case GGUF_TYPE_INT16:
        return "i16";
    case GGUF_TYPE_UINT32:
        return "u32";
    case GGUF_TYPE_INT32:
        return "i32";
    case GGUF_TYPE_FLOAT32:
        return "f32";
    case GGUF_TYPE_BOOL:
        return "bool";
    case GGUF_TYPE_STRING:
        return "str";
    case GGUF_TYPE_ARRAY:
        return "arr";
    case GGUF_TYPE_UINT64:
        return "u64";
    case GGUF_TYPE_INT64:
        return "i64";
    case GGUF_TYPE_FLOAT64:
        return "f64";
    default:
        return "?";
    }
}

const char *hfe_gguf_type(const struct hfe_gguf *g, int64_t i, char *buf,
                          size_t size)
{
    enum gguf_type t = gguf_get_kv_type(g->ctx, i);

    if (t == GGUF_TYPE_ARRAY)
        snprintf(buf, size, "arr[%s]", type_name(gguf_get_arr_type(g->ctx, i)));
    else
        snprintf(buf, size, "%s", type_name(t));
    return buf;
}

uint64_t hfe_gguf_arr_n(const struct hfe_gguf *g, int64_t i)
{
    if (gguf_get_kv_type(g->ctx, i) != GGUF_TYPE_ARRAY)
        return 0;
    return gguf_get_arr_n(g->ctx, i);
}

static void json_float(struct hfe_buf *b, double v, int digits)
{
    if (v != v || v - v != 0) /* NaN or inf: not JSON */
        hfe_buf_puts(b, "null");
    else
        hfe_buf_printf(b, "%.*g", digits, v);
}

/* One scalar of type t at p. */
static void scalar_json(struct hfe_buf *b, enum gguf_type t, const void *p)
{
    switch (t) {
    case GGUF_TYPE_UINT8:
        hfe_buf_printf(b, "%u", *(const uint8_t *)p);
        break;
    case GGUF_TYPE_INT8:
        hfe_buf_printf(b, "%d", *(const int8_t *)p);
        break;
    case GGUF_TYPE_UINT16:
        hfe_buf_printf(b, "%u", *(const uint16_t *)p);
        break;
    case GGUF_TYPE_INT16:
        hfe_buf_printf(b, "%d", *(const int16_t *)p);
        break;
    case GGUF_TYPE_UINT32:
        hfe_buf_printf(b, "%" PRIu32, *(const uint32_t *)p);
        break;
    case GGUF_TYPE_INT32:
        hfe_buf_printf(b, "%" PRId32, *(const int32_t *)p);
        break;
    case GGUF_TYPE_UINT64:
        hfe_buf_printf(b, "%" PRIu64, *(const uint64_t *)p);
        break;
    case GGUF_TYPE_INT64:
        hfe_buf_printf(b, "%" PRId64, *(const int64_t *)p);
        break;
    case GGUF_TYPE_FLOAT32:
        json_float(b, *(const float *)p, 9);
        break;
    case GGUF_TYPE_FLOAT64:
        json_float(b, *(const double *)p, 17);
        break;
    case GGUF_TYPE_BOOL:
        hfe_buf_puts(b, *(const int8_t *)p ? "true" : "false");
        break;
    default:
        hfe_buf_puts(b, "null");
        break;
    }
}

static size_t scalar_size(enum gguf_type t)
{
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_BOOL:
        return 1;
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16:
        return 2;
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_FLOAT32:
        return 4;
    default:
        return 8;
    }
}

void hfe_gguf_value_json(const struct hfe_gguf *g, int64_t i,
                         uint64_t max_items, struct hfe_buf *b)
{
    enum gguf_type t = gguf_get_kv_type(g->ctx, i), at;
    const char *s;
    uint64_t n, k;
    size_t esz;

    if (t == GGUF_TYPE_STRING) {
        s = gguf_get_val_str(g->ctx, i);
        hfe_json_str(b, s, strlen(s));
        return;
    }
    if (t != GGUF_TYPE_ARRAY) {
        scalar_json(b, t, gguf_get_val_data(g->ctx, i));
        return;
    }
    at = gguf_get_arr_type(g->ctx, i);
    n = gguf_get_arr_n(g->ctx, i);
    if (max_items && n > max_items)
        n = max_items;
    hfe_buf_add(b, "[", 1);
    if (at == GGUF_TYPE_STRING) {
        for (k = 0; k < n; k++) {
            if (k)
                hfe_buf_add(b, ",", 1);
            s = gguf_get_arr_str(g->ctx, i, k);
            hfe_json_str(b, s, strlen(s));
        }
    } else if (at != GGUF_TYPE_ARRAY) {
        const char *data = gguf_get_arr_data(g->ctx, i);

        esz = scalar_size(at);
        for (k = 0; k < n; k++) {
            if (k)
                hfe_buf_add(b, ",", 1);
            scalar_json(b, at, data + k * esz);
        }
    }
    hfe_buf_add(b, "]", 1);
}

int64_t hfe_gguf_find(const struct hfe_gguf *g, const char *key)
{
    return gguf_find_key(g->ctx, key);
}

const char *hfe_gguf_str(const struct hfe_gguf *g, const char *key)
{
    int64_t i = gguf_find_key(g->ctx, key);

    if (i < 0 || gguf_get_kv_type(g->ctx, i) != GGUF_TYPE_STRING)
        return NULL;
    return gguf_get_val_str(g->ctx, i);
}

int64_t hfe_gguf_int(const struct hfe_gguf *g, const char *key, int64_t def)
{
    int64_t i = gguf_find_key(g->ctx, key);

    if (i < 0)
        return def;
    switch (gguf_get_kv_type(g->ctx, i)) {
    case GGUF_TYPE_UINT8:
        return gguf_get_val_u8(g->ctx, i);
    case GGUF_TYPE_INT8:
        return gguf_get_val_i8(g->ctx, i);
    case GGUF_TYPE_UINT16:
        return gguf_get_val_u16(g->ctx, i);
    case GGUF_TYPE_INT16:
        return gguf_get_val_i16(g->ctx, i);
    case GGUF_TYPE_UINT32:
        return gguf_get_val_u32(g->ctx, i);
    case GGUF_TYPE_INT32:
        return gguf_get_val_i32(g->ctx, i);
    case GGUF_TYPE_UINT64:
        return (int64_t)gguf_get_val_u64(g->ctx, i);
    case GGUF_TYPE_INT64:
        return gguf_get_val_i64(g->ctx, i);
    default:
        return def;
    }
}
