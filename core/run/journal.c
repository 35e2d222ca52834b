/*
 * journal.c - the run's journal; see journal.h.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "journal.h"
#include "gguf_meta.h"
#include "json.h"
#include "json_get.h"
#include "sha256.h"

#define HEADER "hfeval/1"

struct entry {
    char *key; /* model \x1f suite \x1f task \x1f index */
    char digest[33];
    cJSON *r;
};

struct hfe_journal {
    char *path;
    int fd;
    struct entry *v; /* read back, in an open-addressing table */
    size_t cap, n_read, n_added;
    struct hfe_buf out;
    size_t n_out;
    time_t last_flush;
    int broken; /* a write failed: said once, nothing more is kept */
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static char *key_of(const char *model, const char *suite, const char *task,
                    size_t index)
{
    return hfe_xasprintf("%s\x1f%s\x1f%s\x1f%zu", model, suite ? suite : "",
                         task ? task : "", index);
}

static struct entry *slot(struct hfe_journal *j, const char *key)
{
    size_t i;

    if (!j->cap)
        return NULL;
    for (i = hash(key) & (j->cap - 1);; i = (i + 1) & (j->cap - 1))
        if (!j->v[i].key || !strcmp(j->v[i].key, key))
            return &j->v[i];
}

static void put(struct hfe_journal *j, char *key, const char *digest, cJSON *r)
{
    struct entry *e;

    if ((j->n_read + 1) * 2 > j->cap) { /* grow: keep it half empty */
        struct entry *old = j->v;
        size_t oc = j->cap, i;

        j->cap = oc ? oc * 2 : 1024;
        j->v = hfe_xcalloc(j->cap, sizeof(*j->v));
        for (i = 0; i < oc; i++)
            if (old[i].key)
                *slot(j, old[i].key) = old[i];
        free(old);
    }
    e = slot(j, key);
    if (e->key) { /* a later line for the same request wins */
        free(e->key);
        cJSON_Delete(e->r);
    } else {
        j->n_read++;
    }
    e->key = key;
    snprintf(e->digest, sizeof(e->digest), "%s", digest);
    e->r = r;
}

void hfe_journal_digest(const struct hfe_request *q, char out[33])
{
    struct hfe_sha256 c;
    char hex[65];
    uint32_t i;
    uint64_t nums[9] = {q->kind,  q->flags,  (uint64_t)q->doc_id,
                        q->top_k, q->n_ctx,  q->max_tokens,
                        q->seed,  q->sample, q->choice};
    float f[2] = {q->temperature, q->top_p};
    const char *strs[4] = {q->item_id, q->task, q->context, q->continuation};

    hfe_sha256_init(&c);
    hfe_sha256_add(&c, nums, sizeof(nums));
    hfe_sha256_add(&c, f, sizeof(f));
    for (i = 0; i < 4; i++) { /* each with its length: no two texts meet */
        uint64_t n = strs[i] ? strlen(strs[i]) : UINT64_MAX;

        hfe_sha256_add(&c, &n, sizeof(n));
        if (strs[i])
            hfe_sha256_add(&c, strs[i], n);
    }
    for (i = 0; i < q->n_stop; i++) {
        uint64_t n = strlen(q->stop[i]);

        hfe_sha256_add(&c, &n, sizeof(n));
        hfe_sha256_add(&c, q->stop[i], n);
    }
    hfe_sha256_hex(&c, hex);
    memcpy(out, hex, 32);
    out[32] = '\0';
}

/* Reads the journal at path.  Lines must be whole; a last line without
 * its newline was torn by a kill, and the file is cut back before it. */
static int load(struct hfe_journal *j, int *argc, char ***argv,
                struct hfe_err *err)
{
    char *text = NULL, *p, *nl;
    size_t len = 0, line = 0;
    int rc = 0;

    if (hfe_read_file(j->path, &text, &len, err) != 0)
        return HFE_EXIT_IO;
    for (p = text; p < text + len; p = nl + 1) {
        cJSON *o;

        line++;
        if (!(nl = memchr(p, '\n', (size_t)(text + len - p)))) {
            /* torn: cut it off, so that what we append starts a line */
            if (j->fd >= 0 && ftruncate(j->fd, (off_t)(p - text)) != 0) {
                hfe_err_set(err, "%s: cannot cut its torn last line: %s",
                            j->path, strerror(errno));
                rc = HFE_EXIT_IO;
            }
            hfe_log(HFE_LOG_WARN, NULL,
                    "%s:%zu: a torn last line (the run was killed while "
                    "writing it) is dropped",
                    j->path, line);
            break;
        }
        if (!(o = cJSON_ParseWithLength(p, (size_t)(nl - p)))) {
            hfe_err_set(err, "%s:%zu: expected a JSON object of the journal",
                        j->path, line);
            rc = HFE_EXIT_DATA;
            break;
        }
        if (line == 1) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "argv"), *e;
            const char *v = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(o, "journal"));
            int n = 0;

            if (!v || strcmp(v, HEADER) || !cJSON_IsArray(a)) {
                hfe_err_set(err,
                            "%s:1: expected the header "
                            "{\"journal\":\"" HEADER "\",\"argv\":[...]}",
                            j->path);
                cJSON_Delete(o);
                rc = HFE_EXIT_DATA;
                break;
            }
            if (argv) {
                *argv = hfe_xcalloc((size_t)cJSON_GetArraySize(a) + 1,
                                    sizeof(char *));
                cJSON_ArrayForEach(e, a)
                {
                    if (cJSON_IsString(e))
                        (*argv)[n++] = hfe_xstrdup(e->valuestring);
                }
                *argc = n;
            }
            cJSON_Delete(o);
            continue;
        }
        {
            const char *m =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "m"));
            const char *s =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "s"));
            const char *t =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "t"));
            const char *d =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "d"));
            const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, "i");
            cJSON *r = cJSON_DetachItemFromObjectCaseSensitive(o, "r");

            if (!m || !s || !t || !d || strlen(d) != 32 || !cJSON_IsNumber(i) ||
                i->valuedouble < 0 || !cJSON_IsObject(r)) {
                hfe_err_set(err,
                            "%s:%zu: expected a journal record "
                            "{\"m\",\"s\",\"t\",\"i\",\"d\",\"r\"}",
                            j->path, line);
                cJSON_Delete(r);
                cJSON_Delete(o);
                rc = HFE_EXIT_DATA;
                break;
            }
            if (j->v || !argv) /* only hfe_journal_open keeps them */
                put(j, key_of(m, s, t, (size_t)i->valuedouble), d, r);
            else
                cJSON_Delete(r);
            cJSON_Delete(o);
        }
    }
    free(text);
    return rc;
}

int hfe_journal_argv(const char *run_dir, int *argc, char ***argv,
                     struct hfe_err *err)
{
    struct hfe_journal j = {0};
    int rc;

    j.path = hfe_xasprintf("%s/journal.jsonl", run_dir);
    j.fd = -1;
    *argc = 0;
    *argv = NULL;
    rc = load(&j, argc, argv, err);
    if (rc == 0 && !*argv) {
        hfe_err_set(err, "%s: empty: there is nothing to resume", j.path);
        rc = HFE_EXIT_DATA;
    }
    if (rc != 0) { /* a header read before a bad line is not the caller's */
        hfe_journal_argv_free(*argc, *argv);
        *argc = 0;
        *argv = NULL;
    }
    free(j.path);
    return rc;
}

void hfe_journal_argv_free(int argc, char **argv)
{
    int i;

    for (i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
}

int hfe_journal_open(const char *run_dir, int argc, char **argv, int resume,
                     struct hfe_journal **out, struct hfe_err *err)
{
    struct hfe_journal *j = hfe_xcalloc(1, sizeof(*j));
    int rc, i;

    *out = NULL;
    j->path = hfe_xasprintf("%s/journal.jsonl", run_dir);
    j->fd =
        open(j->path,
             O_WRONLY | O_APPEND | O_CLOEXEC | (resume ? 0 : O_CREAT | O_TRUNC),
             0644);
    if (j->fd < 0) {
        hfe_err_set(err, "%s: %s%s", j->path, strerror(errno),
                    resume && errno == ENOENT ? " (no run to resume there)"
                                              : "");
        rc = HFE_EXIT_IO;
        goto fail;
    }
    if (resume) {
        int ac = 0;
        char **av = NULL;

        j->cap = 1024;
        j->v = hfe_xcalloc(j->cap, sizeof(*j->v));
        rc = load(j, &ac, &av, err);
        hfe_journal_argv_free(ac, av);
        if (rc)
            goto fail;
    } else {
        struct hfe_buf h = {0};

        hfe_buf_puts(&h, "{\"journal\":\"" HEADER "\",\"argv\":[");
        for (i = 0; i < argc; i++) {
            hfe_buf_puts(&h, i ? "," : "");
            hfe_json_str(&h, argv[i], strlen(argv[i]));
        }
        hfe_buf_puts(&h, "]}\n");
        if (write(j->fd, h.s, h.len) != (ssize_t)h.len) {
            hfe_err_set(err, "%s: %s", j->path, strerror(errno));
            hfe_buf_free(&h);
            rc = HFE_EXIT_IO;
            goto fail;
        }
        hfe_buf_free(&h);
    }
    j->last_flush = time(NULL);
    *out = j;
    return 0;
fail:
    hfe_journal_close(j);
    return rc;
}

static double num(const cJSON *r, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, k));
}

static uint32_t u32(const cJSON *r, const char *k)
{
    uint64_t v = hfe_json_get_u64(r, k);

    return v <= UINT32_MAX ? (uint32_t)v : 0;
}

void hfe_journal_result_read(const cJSON *r, struct hfe_result *res)
{
    const cJSON *tl, *x;

    res->status = HFE_OK;
    res->logprob = num(r, "lp");
    res->is_greedy = (int32_t)u32(r, "g");
    res->n_tokens = u32(r, "n");
    res->n_bytes = hfe_json_get_u64(r, "b");
    res->n_gen_tokens = u32(r, "ng");
    res->finish = u32(r, "f");
    res->n_prompt_tokens = u32(r, "np");
    res->t_first_token_ms = num(r, "t1");
    res->t_total_ms = num(r, "tt");
    if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(r, "x")))
        res->text = hfe_xstrdup(x->valuestring);
    tl = cJSON_GetObjectItemCaseSensitive(r, "tl");
    if (cJSON_IsArray(tl) &&
        (uint32_t)cJSON_GetArraySize(tl) == res->n_tokens) {
        const cJSON *v;
        size_t i = 0;

        res->token_logprobs = hfe_xcalloc(res->n_tokens + 1, sizeof(float));
        cJSON_ArrayForEach(v, tl) res->token_logprobs[i++] =
            (float)cJSON_GetNumberValue(v);
    }
}

int hfe_journal_get(struct hfe_journal *j, const char *model, const char *suite,
                    const char *task, size_t index, const char *digest,
                    struct hfe_result *res)
{
    char *key;
    struct entry *e;

    if (!j || !j->n_read)
        return 0;
    key = key_of(model, suite, task, index);
    e = slot(j, key);
    free(key);
    if (!e || !e->key || strcmp(e->digest, digest) != 0)
        return 0;
    hfe_journal_result_read(e->r, res);
    return 1;
}

void hfe_journal_result_json(struct hfe_buf *b, const struct hfe_result *res)
{
    uint32_t i;

    hfe_buf_printf(b,
                   "{\"lp\":%.17g,\"g\":%d,"
                   "\"n\":%u,\"b\":%llu,\"ng\":%u,\"f\":%u,\"np\":%u,"
                   "\"t1\":%.17g,\"tt\":%.17g",
                   res->logprob, res->is_greedy, res->n_tokens,
                   (unsigned long long)res->n_bytes, res->n_gen_tokens,
                   res->finish, res->n_prompt_tokens, res->t_first_token_ms,
                   res->t_total_ms);
    if (res->text) {
        hfe_buf_puts(b, ",\"x\":");
        hfe_json_str(b, res->text, strlen(res->text));
    }
    if (res->token_logprobs) {
        hfe_buf_puts(b, ",\"tl\":[");
        for (i = 0; i < res->n_tokens; i++)
            hfe_buf_printf(b, i ? ",%.9g" : "%.9g",
                           (double)res->token_logprobs[i]);
        hfe_buf_puts(b, "]");
    }
    hfe_buf_puts(b, "}");
}

void hfe_journal_add(struct hfe_journal *j, const char *model,
                     const char *suite, const char *task, size_t index,
                     const char *digest, const struct hfe_result *res)
{
    struct hfe_buf *b;

    if (!j || j->broken || res->status != HFE_OK || res->topk_logprobs ||
        res->topk_ids)
        return;
    b = &j->out;
    hfe_buf_puts(b, "{\"m\":");
    hfe_json_str(b, model, strlen(model));
    hfe_buf_puts(b, ",\"s\":");
    hfe_json_str(b, suite ? suite : "", strlen(suite ? suite : ""));
    hfe_buf_puts(b, ",\"t\":");
    hfe_json_str(b, task ? task : "", strlen(task ? task : ""));
    hfe_buf_printf(b, ",\"i\":%zu,\"d\":\"%s\",\"r\":", index, digest);
    hfe_journal_result_json(b, res);
    hfe_buf_puts(b, "}\n");
    j->n_added++;
    if (++j->n_out >= 64 || time(NULL) != j->last_flush)
        hfe_journal_flush(j);
}

int hfe_journal_flush(struct hfe_journal *j)
{
    size_t done = 0;
    struct stat st;

    if (!j || j->broken)
        return j ? -1 : 0;
    if (!j->out.len)
        return 0;
    j->last_flush = time(NULL);
    if (fstat(j->fd, &st) != 0)
        st.st_size = -1;
    while (done < j->out.len) {
        ssize_t k = write(j->fd, j->out.s + done, j->out.len - done);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            hfe_log(HFE_LOG_ERROR, NULL,
                    "%s: %s: the run stops here (what the journal holds is "
                    "kept)",
                    j->path, k < 0 ? strerror(errno) : "nothing written");
            j->broken = 1;
            j->out.len = 0;
            j->n_out = 0;
            /* no half line stays behind: the batch is kept whole for the
             * next flush */
            if (done && st.st_size >= 0 && ftruncate(j->fd, st.st_size) != 0)
                hfe_log(HFE_LOG_ERROR, NULL, "%s: %s", j->path,
                        strerror(errno));
            return -1;
        }
        done += (size_t)k;
    }
    j->out.len = 0;
    j->n_out = 0;
    return 0;
}

int hfe_journal_broken(const struct hfe_journal *j)
{
    return j && j->broken;
}

size_t hfe_journal_n_read(const struct hfe_journal *j)
{
    return j ? j->n_read : 0;
}

size_t hfe_journal_n_added(const struct hfe_journal *j)
{
    return j ? j->n_added : 0;
}

void hfe_journal_close(struct hfe_journal *j)
{
    size_t i;

    if (!j)
        return;
    if (j->fd >= 0) {
        hfe_journal_flush(j);
        close(j->fd);
    }
    for (i = 0; i < j->cap; i++) {
        free(j->v[i].key);
        cJSON_Delete(j->v[i].r);
    }
    free(j->v);
    hfe_buf_free(&j->out);
    free(j->path);
    free(j);
}
