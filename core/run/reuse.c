/*
 * reuse.c - a task's answers, a parent's distributions and a model's
 * facts, from the run's cache and back.  See reuse.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "journal.h"
#include "json.h"
#include "json_get.h"
#include "reuse.h"

struct answer {
    char d[33];
    cJSON *r;
};

struct hfe_reuse {
    struct hfe_cache *c;
    char key[65];
    struct answer *v;
    size_t n;
    struct hfe_buf text; /* the entry: what was read, then what is new */
    size_t added;
};

static int by_digest(const void *a, const void *b)
{
    return strcmp(((const struct answer *)a)->d, ((const struct answer *)b)->d);
}

/* The request's digest without top_k: what a kept answer answers. */
static void digest_plain(const struct hfe_request *q, char d[33])
{
    struct hfe_request p = *q;

    p.top_k = 0;
    hfe_journal_digest(&p, d);
}

struct hfe_reuse *hfe_reuse_open(struct hfe_cache *c, const char model_key[65],
                                 const char *suite, const char *task)
{
    struct hfe_reuse *u = hfe_xcalloc(1, sizeof(*u));
    const char *parts[2] = {suite ? suite : "", task ? task : ""};
    size_t lens[2] = {strlen(parts[0]), strlen(parts[1])}, len = 0, cap = 0;
    char *data = NULL, *p, *nl;
    int bad = 0;

    u->c = c;
    hfe_cache_key(model_key, "answers", parts, lens, 2, u->key);
    if (!hfe_cache_get(c, "answers", u->key, &data, &len))
        return u;
    for (p = data; p < data + len && !bad; p = nl + 1) {
        cJSON *o, *d, *r;

        if (!(nl = memchr(p, '\n', (size_t)(data + len - p))))
            nl = data + len;
        o = cJSON_ParseWithLength(p, (size_t)(nl - p));
        d = cJSON_GetObjectItemCaseSensitive(o, "d");
        r = cJSON_DetachItemFromObjectCaseSensitive(o, "r");
        if (!cJSON_IsString(d) || strlen(d->valuestring) != 32 ||
            !cJSON_IsObject(r)) {
            bad = 1; /* the checksum held: written so by another build */
        } else {
            if (u->n == cap) {
                cap = cap ? cap * 2 : 64;
                u->v = hfe_xrealloc(u->v, cap * sizeof(*u->v));
            }
            memcpy(u->v[u->n].d, d->valuestring, 33);
            u->v[u->n++].r = r;
            r = NULL;
        }
        cJSON_Delete(r);
        cJSON_Delete(o);
    }
    if (bad) { /* none of it is trusted */
        fprintf(stderr,
                "hfeval: cache entry answers/%s: a line is not an answer; "
                "the task's answers are computed again\n",
                u->key);
        while (u->n)
            cJSON_Delete(u->v[--u->n].r);
    } else {
        hfe_buf_add(&u->text, data, len);
    }
    free(data);
    qsort(u->v, u->n, sizeof(*u->v), by_digest);
    return u;
}

int hfe_reuse_get(struct hfe_reuse *u, const struct hfe_request *q,
                  struct hfe_result *res)
{
    struct answer k, *a;

    if (!u || q->top_k || !u->n)
        return 0;
    digest_plain(q, k.d);
    if (!(a = bsearch(&k, u->v, u->n, sizeof(*u->v), by_digest)))
        return 0;
    hfe_journal_result_read(a->r, res);
    return 1;
}

void hfe_reuse_add(struct hfe_reuse *u, const struct hfe_request *q,
                   const struct hfe_result *res)
{
    char d[33];

    if (!u || res->status != HFE_OK)
        return;
    digest_plain(q, d);
    hfe_buf_printf(&u->text, "{\"d\":\"%s\",\"r\":", d);
    hfe_journal_result_json(&u->text, res);
    hfe_buf_puts(&u->text, "}\n");
    u->added++;
}

void hfe_reuse_close(struct hfe_reuse *u)
{
    if (!u)
        return;
    if (u->added)
        hfe_cache_put(u->c, "answers", u->key, u->text.s, u->text.len);
    while (u->n)
        cJSON_Delete(u->v[--u->n].r);
    free(u->v);
    hfe_buf_free(&u->text);
    free(u);
}

/* ---- distributions ------------------------------------------------------ */

static void fid_key(const char model_key[65], const struct hfe_request *req,
                    size_t n, char key[65])
{
    char *all = hfe_xcalloc(32 * n + 1, 1);
    const char *part = all;
    size_t i, len = 32 * n;

    for (i = 0; i < n; i++) {
        char d[33];

        hfe_journal_digest(&req[i], d);
        memcpy(all + 32 * i, d, 32);
    }
    hfe_cache_key(model_key, "fid", &part, &len, 1, key);
    free(all);
}

int hfe_reuse_fid_get(struct hfe_cache *c, const char model_key[65],
                      const struct hfe_request *req, size_t n,
                      struct hfe_fid_base *b)
{
    char key[65], *data = NULL;
    size_t len;
    int ok;

    fid_key(model_key, req, n, key);
    if (!hfe_cache_get(c, "fid", key, &data, &len))
        return 0;
    if (!(ok = hfe_fid_unpack(data, len, b) == 0))
        fprintf(stderr,
                "hfeval: cache entry fid/%s: not distributions; computed "
                "again\n",
                key);
    free(data);
    return ok;
}

void hfe_reuse_fid_put(struct hfe_cache *c, const char model_key[65],
                       const struct hfe_request *req, size_t n,
                       const struct hfe_fid_base *b)
{
    char key[65];
    struct hfe_buf bytes = {0};

    fid_key(model_key, req, n, key);
    hfe_fid_pack(b, &bytes);
    hfe_cache_put(c, "fid", key, bytes.s, bytes.len);
    hfe_buf_free(&bytes);
}

/* ---- facts -------------------------------------------------------------- */

struct hfe_reuse_info {
    cJSON *doc;
};

static void info_key(const char model_key[65], char key[65])
{
    hfe_cache_key(model_key, "info", NULL, NULL, 0, key);
}

static const char *str_or_null(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(x) ? x->valuestring : NULL;
}

int hfe_reuse_info_get(struct hfe_cache *c, const char model_key[65],
                       struct hfe_model_info *info,
                       struct hfe_reuse_info **hold)
{
    char key[65], *data = NULL;
    size_t len;
    cJSON *o;

    *hold = NULL;
    info_key(model_key, key);
    if (!hfe_cache_get(c, "info", key, &data, &len))
        return 0;
    o = cJSON_ParseWithLength(data, len);
    free(data);
    if (!cJSON_IsObject(o) || !hfe_json_get_u64(o, "n_vocab")) {
        cJSON_Delete(o);
        return 0;
    }
    info->name = str_or_null(o, "name");
    info->architecture = str_or_null(o, "architecture");
    info->quantization = str_or_null(o, "quantization");
    info->chat_template = str_or_null(o, "chat_template");
    info->n_params = hfe_json_get_u64(o, "n_params");
    info->file_size = hfe_json_get_u64(o, "file_size");
    info->n_ctx_train = (uint32_t)hfe_json_get_u64(o, "n_ctx_train");
    info->n_ctx = (uint32_t)hfe_json_get_u64(o, "n_ctx");
    info->n_vocab = (uint32_t)hfe_json_get_u64(o, "n_vocab");
    info->n_kv = 0;
    info->kv = NULL;
    *hold = hfe_xcalloc(1, sizeof(**hold));
    (*hold)->doc = o;
    return 1;
}

static void put_str(struct hfe_buf *b, const char *k, const char *v, int first)
{
    hfe_buf_printf(b, "%s\"%s\":", first ? "" : ",", k);
    hfe_json_strz(b, v);
}

void hfe_reuse_info_put(struct hfe_cache *c, const char model_key[65],
                        const struct hfe_model_info *info)
{
    struct hfe_buf b = {0};
    char key[65];

    hfe_buf_puts(&b, "{");
    put_str(&b, "name", info->name, 1);
    put_str(&b, "architecture", info->architecture, 0);
    put_str(&b, "quantization", info->quantization, 0);
    put_str(&b, "chat_template", info->chat_template, 0);
    hfe_buf_printf(&b,
                   ",\"n_params\":%llu,\"file_size\":%llu,\"n_ctx_train\":%u,"
                   "\"n_ctx\":%u,\"n_vocab\":%u}",
                   (unsigned long long)info->n_params,
                   (unsigned long long)info->file_size, info->n_ctx_train,
                   info->n_ctx, info->n_vocab);
    info_key(model_key, key);
    hfe_cache_put(c, "info", key, b.s, b.len);
    hfe_buf_free(&b);
}

void hfe_reuse_info_free(struct hfe_reuse_info *hold)
{
    if (!hold)
        return;
    cJSON_Delete(hold->doc);
    free(hold);
}
