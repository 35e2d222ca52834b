/*
 * replay.c - the `replay` reference backend: answers requests from a file of
 * recorded outputs.
 *
 * It re-scores saved generations, evaluates outputs made elsewhere, and is
 * what the scorer tests run on.  A model list names it as
 *
 *     replay:PATH.jsonl            (option: strict=1)
 *
 * PATH holds one JSON object a line; blank lines are skipped:
 *
 *     {"item_id": "HumanEval/0", "task": "humaneval", "completion": "..."}
 *     {"doc_id": 3, "continuation": " Paris", "logprob": -1.5,
 *      "is_greedy": true, "n_tokens": 2}
 *     {"prompt": "The quick brown fox", "logprob": -42.0, "n_tokens": 5}
 *
 * Key.  A record is indexed under the first of `item_id` (non-empty string),
 * `doc_id` (integer >= 0, the item's position in its data source) and
 * `prompt` (the exact request context) that it has.  A request is looked up
 * by its item_id, then its doc_id, then its context.  A record with `task`
 * serves only that task and is preferred over one without, which serves
 * every task.  LOGLIK records carry `continuation`, and match on it too.
 * `sample` (integer, default 0) tells the n samples of one item apart
 * (pass@k): it must equal the request's sample index.
 *
 * Answers.  GENERATE: `completion`, cut at the first of the request's stop
 * strings; nothing else in the request (max_tokens, sampling) is honoured.
 * LOGLIK: `logprob`, `is_greedy` (default false), `n_tokens` (optional).
 * ROLLING: `logprob` with no `continuation`; `n_tokens` and `n_bytes`
 * optional (n_bytes defaults to the length of the request's text).
 * A request with no record gets HFE_ENOTFOUND and a message naming its key.
 *
 * open() rejects the whole file on the first bad line, duplicate keys
 * included, with `PATH:LINE: expected ...`.  strict=1 also rejects members
 * it does not know (typos such as "complection") and repeated members.
 *
 * Build (add -DHFE_REPLAY_ZLIB and -lz to read gzip files as well):
 *
 *     cc -std=c11 -O2 -fPIC -shared -fvisibility=hidden -Iplugins \
 *        plugins/replay/replay.c -lcjson -o hfe-replay.so
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <float.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#ifdef HFE_REPLAY_ZLIB
#include <zlib.h>
#endif

#include "hfeval-plugin.h"

#define SCHEME "replay:"

/* Longest stretch of a prompt or continuation quoted in a message. */
#define SNIPPET_CHARS 40
/* Longest item_id or task quoted in a message. */
#define NAME_CHARS 80

enum key_kind { KEY_ITEM, KEY_DOC, KEY_PROMPT, N_KEY_KINDS };

static const char *const key_names[N_KEY_KINDS] = {"item_id", "doc_id",
                                                   "prompt"};

/* What a request is looked up by; strings are borrowed. */
struct key {
    int kind;
    const char *str; /* item_id or prompt; NULL for KEY_DOC */
    int64_t doc_id;  /* KEY_DOC only */
    const char *task;
    const char *cont;
    uint32_t sample; /* which of an item's samples (pass@k), from 0 */
};

/* One line of the file.  Strings are malloc()ed and owned by the record. */
struct record {
    uint64_t hash;
    char *str;
    int64_t doc_id;
    char *task;
    char *cont;
    char *completion;
    double logprob;
    uint64_t n_bytes;
    uint32_t n_tokens;
    uint32_t sample;
    uint32_t line;
    uint8_t kind;
    bool has_logprob;
    bool is_greedy;
    bool has_n_tokens;
    bool has_n_bytes;
};

struct hfe_model {
    char *uri;        /* as opened, for messages */
    const char *path; /* inside uri */
    const char *name; /* inside uri: the file's basename */
    bool strict;
    uint64_t file_size;

    struct record *rec;
    size_t n_rec;
    size_t cap_rec;
    size_t n_kind[N_KEY_KINDS];

    /* Open addressing, linear probing: record index + 1, 0 when empty. */
    uint32_t *slot;
    size_t n_slot; /* a power of two */

    char records_value[24];
    char *path_value; /* JSON string, cJSON memory */
    struct hfe_kv kv[2];
};

/* Set by hfe_plugin_entry(); valid until the module is unloaded. */
static const struct hfe_host *host;

/* ---- messages ----------------------------------------------------------- */

static int fail(char *err, size_t err_size, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int fail(char *err, size_t err_size, int status, const char *fmt, ...)
{
    va_list ap;

    if (err && err_size > 0) {
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* A bounded string builder: appends what fits, always NUL-terminated. */
struct sbuf {
    char *p;
    size_t cap;
    size_t len;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->len + 1 >= b->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len)
        b->len = b->cap - 1;
    else
        b->len += (size_t)n;
}

/* Appends s between quotes q, escaped, cut after max_chars code points. */
static void sb_quote(struct sbuf *b, const char *s, size_t max_chars, char q)
{
    size_t chars = 0;
    const unsigned char *u = (const unsigned char *)s;

    sb_printf(b, "%c", q);
    for (; *u; u++) {
        bool lead = (*u & 0xc0) != 0x80;

        if (lead && chars++ == max_chars) {
            sb_printf(b, "\xe2\x80\xa6"); /* U+2026 ellipsis */
            break;
        }
        if (*u == '\\' || *u == (unsigned char)q)
            sb_printf(b, "\\%c", *u);
        else if (*u == '\n')
            sb_printf(b, "\\n");
        else if (*u == '\t')
            sb_printf(b, "\\t");
        else if (*u == '\r')
            sb_printf(b, "\\r");
        else if (*u < 0x20 || *u == 0x7f)
            sb_printf(b, "\\x%02x", *u);
        else
            sb_printf(b, "%c", *u);
    }
    sb_printf(b, "%c", q);
}

/* `item_id 'X', continuation " a" (task 't')` */
static void describe_key(struct sbuf *b, const struct key *k)
{
    sb_printf(b, "%s ", key_names[k->kind]);
    if (k->kind == KEY_DOC)
        sb_printf(b, "%lld", (long long)k->doc_id);
    else if (k->kind == KEY_ITEM)
        sb_quote(b, k->str, NAME_CHARS, '\'');
    else
        sb_quote(b, k->str, SNIPPET_CHARS, '"');
    if (k->cont) {
        sb_printf(b, ", continuation ");
        sb_quote(b, k->cont, SNIPPET_CHARS, '"');
    }
    if (k->sample)
        sb_printf(b, ", sample %u", k->sample);
    if (k->task) {
        sb_printf(b, " (task ");
        sb_quote(b, k->task, NAME_CHARS, '\'');
        sb_printf(b, ")");
    }
}

/* ---- the index ---------------------------------------------------------- */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *u = p;

    while (n--) {
        h ^= *u++;
        h *= FNV_PRIME;
    }
    return h;
}

/* A NULL string and "" hash differently: a presence byte comes first. */
static uint64_t fnv_str(uint64_t h, const char *s)
{
    unsigned char present = s != NULL;

    h = fnv(h, &present, 1);
    return s ? fnv(h, s, strlen(s) + 1) : h;
}

static uint64_t key_hash(const struct key *k)
{
    unsigned char kind = (unsigned char)k->kind;
    uint64_t h = fnv(FNV_OFFSET, &kind, 1);

    if (k->kind == KEY_DOC)
        h = fnv(h, &k->doc_id, sizeof(k->doc_id));
    else
        h = fnv_str(h, k->str);
    h = fnv_str(h, k->task);
    h = fnv(h, &k->sample, sizeof(k->sample));
    return fnv_str(h, k->cont);
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static struct key record_key(const struct record *r)
{
    struct key k = {r->kind, r->str, r->doc_id, r->task, r->cont, r->sample};

    return k;
}

static bool key_eq(const struct record *r, const struct key *k)
{
    if (r->kind != k->kind)
        return false;
    if (k->kind == KEY_DOC ? r->doc_id != k->doc_id : !str_eq(r->str, k->str))
        return false;
    return r->sample == k->sample && str_eq(r->task, k->task) &&
           str_eq(r->cont, k->cont);
}

static const struct record *probe(const struct hfe_model *m,
                                  const struct key *k)
{
    uint64_t h = key_hash(k);
    size_t mask = m->n_slot - 1;
    size_t j;

    if (m->n_slot == 0)
        return NULL;
    for (j = h & mask; m->slot[j]; j = (j + 1) & mask) {
        const struct record *r = &m->rec[m->slot[j] - 1];

        if (r->hash == h && key_eq(r, k))
            return r;
    }
    return NULL;
}

static int build_index(struct hfe_model *m, char *err, size_t err_size)
{
    size_t n = 16, i, j, mask;

    if (m->n_rec >= UINT32_MAX / 2)
        return fail(err, err_size, HFE_EINVAL,
                    "%s: expected fewer than %u records", m->path,
                    UINT32_MAX / 2);
    while (n < 2 * m->n_rec)
        n *= 2;
    m->slot = calloc(n, sizeof(*m->slot));
    if (!m->slot)
        return fail(err, err_size, HFE_ENOMEM, "%s: out of memory", m->path);
    m->n_slot = n;
    mask = n - 1;

    for (i = 0; i < m->n_rec; i++) {
        struct record *r = &m->rec[i];
        struct key k = record_key(r);

        r->hash = key_hash(&k);
        for (j = r->hash & mask; m->slot[j]; j = (j + 1) & mask) {
            const struct record *o = &m->rec[m->slot[j] - 1];
            char buf[1024];
            struct sbuf b = {buf, sizeof(buf), 0};

            if (o->hash != r->hash || !key_eq(o, &k))
                continue;
            buf[0] = '\0';
            describe_key(&b, &k);
            return fail(
                err, err_size, HFE_EINVAL,
                "%s:%u: expected one record for %s; it is also at line %u",
                m->path, r->line, buf, o->line);
        }
        m->slot[j] = (uint32_t)(i + 1);
    }
    return HFE_OK;
}

/* ---- reading the file --------------------------------------------------- */

/* Lines of a plain file, or with zlib of a gzip file as well. */
struct reader {
#ifdef HFE_REPLAY_ZLIB
    gzFile gz;
#else
    FILE *fp;
#endif
    char *buf;
    size_t cap;
};

/* Returns 0, or an errno value. */
static int reader_open(struct reader *rd, const char *path)
{
    memset(rd, 0, sizeof(*rd));
    errno = 0;
#ifdef HFE_REPLAY_ZLIB
    rd->gz = gzopen(path, "rb");
    if (!rd->gz)
        return errno ? errno : ENOMEM;
#else
    rd->fp = fopen(path, "rb");
    if (!rd->fp)
        return errno;
#endif
    return 0;
}

static void reader_close(struct reader *rd)
{
#ifdef HFE_REPLAY_ZLIB
    if (rd->gz)
        gzclose(rd->gz);
#else
    if (rd->fp)
        fclose(rd->fp);
#endif
    free(rd->buf);
}

/*
 * Reads the next line into rd->buf, its newline included, and its length
 * into *len.  Returns 1 for a line, 0 at the end, or a negative status; on
 * a read error *why says what failed.
 */
static int reader_line(struct reader *rd, size_t *len, const char **why)
{
#ifdef HFE_REPLAY_ZLIB
    size_t n = 0;
    int zerr;

    for (;;) {
        if (rd->cap - n < 2) {
            size_t cap = rd->cap ? rd->cap * 2 : 4096;
            char *p;

            if (cap > INT32_MAX)
                return HFE_ENOMEM;
            p = realloc(rd->buf, cap);
            if (!p)
                return HFE_ENOMEM;
            rd->buf = p;
            rd->cap = cap;
        }
        if (!gzgets(rd->gz, rd->buf + n, (int)(rd->cap - n)))
            break;
        n += strlen(rd->buf + n);
        if (n > 0 && rd->buf[n - 1] == '\n')
            break;
    }
    *why = gzerror(rd->gz, &zerr);
    if (zerr != Z_OK && zerr != Z_BUF_ERROR)
        return zerr == Z_MEM_ERROR ? HFE_ENOMEM : HFE_EIO;
    *len = n;
    return n > 0;
#else
    ssize_t n;

    errno = 0;
    n = getline(&rd->buf, &rd->cap, rd->fp);
    if (n < 0) {
        if (ferror(rd->fp)) {
            *why = strerror(errno ? errno : EIO);
            return errno == ENOMEM ? HFE_ENOMEM : HFE_EIO;
        }
        return 0;
    }
    *len = (size_t)n;
    return 1;
#endif
}

static const char *json_type(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "something else";
}

/* Where a line is being read, for messages. */
struct at {
    const char *path;
    uint32_t line;
    char *err;
    size_t err_size;
};

static int wrong_type(const struct at *at, const char *name, const char *what,
                      const cJSON *v)
{
    return fail(at->err, at->err_size, HFE_EINVAL,
                "%s:%u: expected '%s' to be %s, got %s", at->path, at->line,
                name, what, json_type(v));
}

/* *out: a malloc()ed copy, or NULL when the member is absent. */
static int get_string(const struct at *at, const cJSON *obj, const char *name,
                      char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    *out = NULL;
    if (!v)
        return HFE_OK;
    if (!cJSON_IsString(v) || !v->valuestring)
        return wrong_type(at, name, "a string", v);
    *out = strdup(v->valuestring);
    if (!*out)
        return fail(at->err, at->err_size, HFE_ENOMEM, "%s:%u: out of memory",
                    at->path, at->line);
    return HFE_OK;
}

/* An integer in [0, max]; *present says whether the member is there. */
static int get_count(const struct at *at, const cJSON *obj, const char *name,
                     double max, uint64_t *out, bool *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    double d;

    *present = v != NULL;
    if (!v)
        return HFE_OK;
    d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!cJSON_IsNumber(v) || !(d >= 0 && d <= max) || (double)(uint64_t)d != d)
        return fail(
            at->err, at->err_size, HFE_EINVAL,
            "%s:%u: expected '%s' to be an integer from 0 to %.0f, got %s",
            at->path, at->line, name, max,
            cJSON_IsNumber(v) ? "a number out of range" : json_type(v));
    *out = (uint64_t)d;
    return HFE_OK;
}

static const char *const known_members[] = {
    "item_id",   "doc_id",   "prompt",  "task",         "completion", "logprob",
    "is_greedy", "n_tokens", "n_bytes", "continuation", "sample",
};

static int check_members(const struct at *at, const cJSON *obj)
{
    const cJSON *v, *w;
    size_t i, n = sizeof(known_members) / sizeof(known_members[0]);

    for (v = obj->child; v; v = v->next) {
        for (i = 0; i < n; i++)
            if (strcmp(v->string, known_members[i]) == 0)
                break;
        if (i == n)
            return fail(at->err, at->err_size, HFE_EINVAL,
                        "%s:%u: expected only known members (item_id, doc_id, "
                        "prompt, task, completion, continuation, sample, "
                        "logprob, is_greedy, n_tokens, n_bytes), got '%s' "
                        "(strict=1)",
                        at->path, at->line, v->string);
        for (w = obj->child; w != v; w = w->next)
            if (strcmp(v->string, w->string) == 0)
                return fail(
                    at->err, at->err_size, HFE_EINVAL,
                    "%s:%u: expected '%s' once, got it twice (strict=1)",
                    at->path, at->line, v->string);
    }
    return HFE_OK;
}

static void record_free(struct record *r)
{
    free(r->str);
    free(r->task);
    free(r->cont);
    free(r->completion);
}

/* Fills r from obj; on failure r holds what it got so far. */
static int parse_record(const struct at *at, const cJSON *obj, bool strict,
                        struct record *r)
{
    const cJSON *v;
    char *item = NULL, *prompt = NULL;
    uint64_t u;
    bool has_doc, has;
    int rc;

    if (!cJSON_IsObject(obj))
        return fail(at->err, at->err_size, HFE_EINVAL,
                    "%s:%u: expected a JSON object, got %s", at->path, at->line,
                    json_type(obj));
    if (strict && (rc = check_members(at, obj)) != HFE_OK)
        return rc;

    if ((rc = get_string(at, obj, "item_id", &item)) != HFE_OK)
        goto out;
    if ((rc = get_count(at, obj, "doc_id", 9007199254740992.0, &u, &has_doc)) !=
        HFE_OK)
        goto out;
    r->doc_id = has_doc ? (int64_t)u : -1;
    if ((rc = get_string(at, obj, "prompt", &prompt)) != HFE_OK)
        goto out;
    if ((rc = get_string(at, obj, "task", &r->task)) != HFE_OK)
        goto out;
    if ((rc = get_string(at, obj, "continuation", &r->cont)) != HFE_OK)
        goto out;
    if ((rc = get_string(at, obj, "completion", &r->completion)) != HFE_OK)
        goto out;
    if ((rc = get_count(at, obj, "sample", UINT32_MAX, &u, &has)) != HFE_OK)
        goto out;
    r->sample = has ? (uint32_t)u : 0;

    v = cJSON_GetObjectItemCaseSensitive(obj, "logprob");
    if (v) {
        /* cJSON reads 1e999 as infinity; JSON itself has none. */
        if (!cJSON_IsNumber(v) ||
            !(v->valuedouble >= -DBL_MAX && v->valuedouble <= DBL_MAX)) {
            rc = wrong_type(at, "logprob", "a finite number", v);
            goto out;
        }
        r->logprob = v->valuedouble;
        r->has_logprob = true;
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "is_greedy");
    if (v) {
        if (!cJSON_IsBool(v)) {
            rc = wrong_type(at, "is_greedy", "true or false", v);
            goto out;
        }
        r->is_greedy = cJSON_IsTrue(v);
    }
    if ((rc = get_count(at, obj, "n_tokens", UINT32_MAX, &u,
                        &r->has_n_tokens)) != HFE_OK)
        goto out;
    r->n_tokens = (uint32_t)u;
    if ((rc = get_count(at, obj, "n_bytes", 9007199254740992.0, &r->n_bytes,
                        &r->has_n_bytes)) != HFE_OK)
        goto out;

    rc = HFE_EINVAL;
    if (item && !*item) {
        fail(at->err, at->err_size, rc,
             "%s:%u: expected 'item_id' to be a non-empty string", at->path,
             at->line);
        goto out;
    }
    if (item) {
        r->kind = KEY_ITEM;
        r->str = item;
        item = NULL;
    } else if (has_doc) {
        r->kind = KEY_DOC;
    } else if (prompt) {
        r->kind = KEY_PROMPT;
        r->str = prompt;
        prompt = NULL;
    } else {
        fail(at->err, at->err_size, rc,
             "%s:%u: expected a key: 'item_id', 'doc_id' or 'prompt'", at->path,
             at->line);
        goto out;
    }
    has = cJSON_GetObjectItemCaseSensitive(obj, "is_greedy") != NULL;
    if (!r->has_logprob && (r->cont || has)) {
        fail(at->err, at->err_size, rc, "%s:%u: expected 'logprob' with '%s'",
             at->path, at->line, r->cont ? "continuation" : "is_greedy");
        goto out;
    }
    if (!r->has_logprob && !r->completion) {
        fail(at->err, at->err_size, rc,
             "%s:%u: expected an answer: 'completion' or 'logprob'", at->path,
             at->line);
        goto out;
    }
    rc = HFE_OK;
out:
    free(item);
    free(prompt);
    return rc;
}

static bool blank(const char *s, size_t n)
{
    for (; n > 0; s++, n--)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

static int load(struct hfe_model *m, char *err, size_t err_size)
{
    struct reader rd;
    struct at at = {m->path, 0, err, err_size};
    const char *why = "read error";
    cJSON *obj = NULL;
    size_t len;
    int rc, e;

    e = reader_open(&rd, m->path);
    if (e) {
        reader_close(&rd);
        return fail(err, err_size, HFE_EIO, "%s: cannot open: %s", m->path,
                    strerror(e));
    }

    while ((rc = reader_line(&rd, &len, &why)) > 0) {
        char *line = rd.buf;
        const char *end = NULL, *nul;
        struct record *r;

        at.line++;
        if (at.line == UINT32_MAX) {
            rc = fail(err, err_size, HFE_EINVAL, "%s:%u: expected fewer lines",
                      m->path, at.line);
            goto out;
        }
        nul = memchr(line, '\0', len);
        if (nul) {
            rc = fail(err, err_size, HFE_EINVAL,
                      "%s:%u: expected text, got a NUL byte at column %zu",
                      m->path, at.line, (size_t)(nul - line) + 1);
            goto out;
        }
        if (at.line == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0) {
            line += 3; /* a UTF-8 byte order mark */
            len -= 3;
        }
        if (blank(line, len))
            continue;

        obj = cJSON_ParseWithLengthOpts(line, len, &end, 0);
        if (!obj) {
            rc = fail(
                err, err_size, HFE_EINVAL,
                "%s:%u: expected a JSON object (invalid JSON at column %zu)",
                m->path, at.line,
                (size_t)((end && end >= line ? end : line) - line) + 1);
            goto out;
        }
        if (!blank(end, len - (size_t)(end - line))) {
            rc = fail(err, err_size, HFE_EINVAL,
                      "%s:%u: expected one JSON object a line (more text at "
                      "column %zu)",
                      m->path, at.line, (size_t)(end - line) + 1);
            goto out;
        }

        if (m->n_rec == m->cap_rec) {
            size_t cap = m->cap_rec ? m->cap_rec * 2 : 256;
            struct record *p = realloc(m->rec, cap * sizeof(*p));

            if (!p) {
                rc = fail(err, err_size, HFE_ENOMEM, "%s:%u: out of memory",
                          m->path, at.line);
                goto out;
            }
            m->rec = p;
            m->cap_rec = cap;
        }
        r = &m->rec[m->n_rec];
        memset(r, 0, sizeof(*r));
        r->line = at.line;
        rc = parse_record(&at, obj, m->strict, r);
        if (rc != HFE_OK) {
            record_free(r);
            goto out;
        }
        m->n_kind[r->kind]++;
        m->n_rec++;
        cJSON_Delete(obj);
        obj = NULL;
    }
    if (rc < 0) {
        fail(err, err_size, rc, "%s:%u: cannot read: %s", m->path, at.line + 1,
             rc == HFE_ENOMEM ? "out of memory" : why);
        goto out;
    }
    rc = HFE_OK;
out:
    cJSON_Delete(obj);
    reader_close(&rd);
    return rc;
}

/* ---- the backend -------------------------------------------------------- */

static void replay_close(struct hfe_model *m)
{
    size_t i;

    if (!m)
        return;
    for (i = 0; i < m->n_rec; i++)
        record_free(&m->rec[i]);
    free(m->rec);
    free(m->slot);
    if (m->path_value)
        cJSON_free(m->path_value);
    free(m->uri);
    free(m);
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"", "1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    size_t i;

    if (!s)
        s = "";
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return HFE_OK;
        }
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return HFE_OK;
        }
    }
    return HFE_EINVAL;
}

static int replay_open(const char *uri, const struct hfe_option *opts,
                       size_t n_opts, struct hfe_model **out, char *err,
                       size_t err_size)
{
    struct hfe_model *m = NULL;
    struct stat st;
    const char *slash;
    cJSON *s = NULL;
    size_t i;
    int rc;

    if (err && err_size > 0)
        err[0] = '\0';
    if (!out)
        return fail(err, err_size, HFE_EINVAL,
                    "replay: expected an out pointer");
    *out = NULL;
    if (!uri || (n_opts > 0 && !opts))
        return fail(err, err_size, HFE_EINVAL,
                    "replay: expected a URI 'replay:PATH.jsonl'");

    m = calloc(1, sizeof(*m));
    if (!m)
        return fail(err, err_size, HFE_ENOMEM, "replay: out of memory");
    rc = HFE_ENOMEM;
    m->uri = strdup(uri);
    if (!m->uri) {
        fail(err, err_size, rc, "replay: out of memory");
        goto out;
    }

    rc = HFE_EINVAL;
    for (i = 0; i < n_opts; i++) {
        const char *key = opts[i].key ? opts[i].key : "";

        if (strcmp(key, "strict") != 0) {
            fail(err, err_size, rc,
                 "%s: unknown option '%s' (replay accepts only 'strict')", uri,
                 key);
            goto out;
        }
        if (parse_bool(opts[i].value, &m->strict) != HFE_OK) {
            fail(err, err_size, rc,
                 "%s: expected strict=0 or strict=1, got strict=%s", uri,
                 opts[i].value);
            goto out;
        }
    }

    m->path = m->uri;
    if (strncmp(m->path, SCHEME, strlen(SCHEME)) == 0)
        m->path += strlen(SCHEME);
    if (!*m->path) {
        fail(err, err_size, rc, "%s: expected a path: 'replay:PATH.jsonl'",
             uri);
        goto out;
    }
    slash = strrchr(m->path, '/');
    m->name = slash ? slash + 1 : m->path;

    rc = load(m, err, err_size);
    if (rc != HFE_OK)
        goto out;
    rc = build_index(m, err, err_size);
    if (rc != HFE_OK)
        goto out;
    if (stat(m->path, &st) == 0 && S_ISREG(st.st_mode))
        m->file_size = (uint64_t)st.st_size;

    rc = HFE_ENOMEM;
    snprintf(m->records_value, sizeof(m->records_value), "%zu", m->n_rec);
    s = cJSON_CreateString(m->path);
    m->path_value = s ? cJSON_PrintUnformatted(s) : NULL;
    if (!m->path_value) {
        fail(err, err_size, rc, "replay: out of memory");
        goto out;
    }
    m->kv[0] = (struct hfe_kv){"replay.records", "u64", m->records_value};
    m->kv[1] = (struct hfe_kv){"replay.path", "str", m->path_value};

    if (host && host->log)
        host->log(HFE_LOG_DEBUG, "replay", "%s: %zu records", m->path,
                  m->n_rec);
    *out = m;
    m = NULL;
    rc = HFE_OK;
out:
    cJSON_Delete(s);
    replay_close(m);
    return rc;
}

#define SET(p, type, field, value)                                             \
    do {                                                                       \
        if (HFE_HAS_FIELD(p, type, field))                                     \
            (p)->field = (value);                                              \
    } while (0)

static int replay_info(struct hfe_model *m, struct hfe_model_info *info)
{
    if (!m || !info || info->abi_major != HFE_ABI_MAJOR)
        return HFE_EINVAL;
    SET(info, struct hfe_model_info, name, m->name);
    SET(info, struct hfe_model_info, architecture, "replay");
    SET(info, struct hfe_model_info, quantization, NULL);
    SET(info, struct hfe_model_info, chat_template, NULL);
    SET(info, struct hfe_model_info, n_params, 0);
    SET(info, struct hfe_model_info, file_size, m->file_size);
    SET(info, struct hfe_model_info, n_ctx_train, 0);
    SET(info, struct hfe_model_info, n_ctx, 0);
    SET(info, struct hfe_model_info, n_vocab, 0);
    /* kv before n_kv: a reader that sees n_kv > 0 also sees kv. */
    if (HFE_HAS_FIELD(info, struct hfe_model_info, kv)) {
        info->kv = m->kv;
        info->n_kv = sizeof(m->kv) / sizeof(m->kv[0]);
    }
    return HFE_OK;
}

/* Sets the result's status and, where it fits, a message in host memory. */
static void set_error(struct hfe_result *res, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void set_error(struct hfe_result *res, int status, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    int n;

    res->status = status;
    if (!HFE_HAS_FIELD(res, struct hfe_result, error))
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    msg = host->alloc((size_t)n + 1);
    if (!msg)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    res->error = msg;
}

/* Whether r can answer a request of this kind. */
static bool answers(const struct record *r, uint32_t kind)
{
    return kind == HFE_REQ_GENERATE ? r->completion != NULL : r->has_logprob;
}

/*
 * Tries the request's keys in order and returns the first record that can
 * answer it.  *k is set to the first key the request has, for messages, and
 * *n_keys to how many it has.
 */
static const struct record *lookup(const struct hfe_model *m,
                                   const struct hfe_request *req,
                                   const char *cont, struct key *k,
                                   size_t *n_keys)
{
    struct key t[N_KEY_KINDS];
    const struct record *r;
    size_t n = 0, i;
    uint32_t smp =
        HFE_HAS_FIELD(req, struct hfe_request, sample) ? req->sample : 0;

    if (req->item_id && *req->item_id)
        t[n++] = (struct key){KEY_ITEM, req->item_id, -1, req->task, cont, smp};
    if (req->doc_id >= 0)
        t[n++] = (struct key){KEY_DOC, NULL, req->doc_id, req->task, cont, smp};
    if (req->context)
        t[n++] =
            (struct key){KEY_PROMPT, req->context, -1, req->task, cont, smp};
    *n_keys = n;
    if (n == 0)
        return NULL;
    *k = t[0];

    for (i = 0; i < n; i++) {
        if (m->n_kind[t[i].kind] == 0)
            continue;
        r = t[i].task ? probe(m, &t[i]) : NULL;
        if (r && answers(r, req->kind))
            return r;
        t[i].task = NULL; /* a record without a task serves every task */
        r = probe(m, &t[i]);
        if (r && answers(r, req->kind))
            return r;
    }
    return NULL;
}

static void not_found(const struct hfe_model *m, struct hfe_result *res,
                      const struct key *k, size_t n_keys)
{
    char buf[1024];
    struct sbuf b = {buf, sizeof(buf), 0};

    buf[0] = '\0';
    if (n_keys == 0) {
        set_error(
            res, HFE_ENOTFOUND,
            "%s: no record for a request without item_id, doc_id or context",
            m->uri);
        return;
    }
    describe_key(&b, k);
    set_error(res, HFE_ENOTFOUND, "%s: no record for %s", m->uri, buf);
}

static void generate(const struct hfe_model *m, const struct hfe_request *req,
                     struct hfe_result *res)
{
    struct key k = {0};
    size_t n_keys = 0;
    const struct record *r = lookup(m, req, NULL, &k, &n_keys);
    const char *c;
    size_t cut, i, n_stop = 0;
    const char *const *stop = NULL;
    bool stopped = false;
    char *text;

    if (!r) {
        not_found(m, res, &k, n_keys);
        return;
    }
    if (!HFE_HAS_FIELD(res, struct hfe_result, finish)) {
        set_error(res, HFE_EINVAL, "%s: result struct too small for GENERATE",
                  m->uri);
        return;
    }
    if (HFE_HAS_FIELD(req, struct hfe_request, n_stop) && req->stop) {
        stop = req->stop;
        n_stop = req->n_stop;
    }

    c = r->completion;
    cut = strlen(c);
    for (i = 0; i < n_stop; i++) {
        const char *p;

        if (!stop[i] || !*stop[i])
            continue;
        p = strstr(c, stop[i]);
        if (p && (size_t)(p - c) < cut) {
            cut = (size_t)(p - c);
            stopped = true;
        }
    }

    text = host->alloc(cut + 1);
    if (!text) {
        set_error(res, HFE_ENOMEM, "%s: out of memory", m->uri);
        return;
    }
    memcpy(text, c, cut);
    text[cut] = '\0';
    res->text = text;
    res->finish = stopped ? HFE_FINISH_STOP : HFE_FINISH_NONE;
    /* A recorded count no longer holds once the text is cut. */
    res->n_gen_tokens = r->has_n_tokens && !stopped ? r->n_tokens : 0;
    res->status = HFE_OK;
}

static void loglik(const struct hfe_model *m, const struct hfe_request *req,
                   struct hfe_result *res)
{
    struct key k = {0};
    size_t n_keys = 0;
    const struct record *r;

    if (!req->continuation) {
        set_error(res, HFE_EINVAL,
                  "%s: expected a continuation in a LOGLIK request", m->uri);
        return;
    }
    r = lookup(m, req, req->continuation, &k, &n_keys);
    if (!r) {
        not_found(m, res, &k, n_keys);
        return;
    }
    if (!HFE_HAS_FIELD(res, struct hfe_result, n_tokens)) {
        set_error(res, HFE_EINVAL, "%s: result struct too small for LOGLIK",
                  m->uri);
        return;
    }
    res->logprob = r->logprob;
    res->is_greedy = r->is_greedy;
    res->n_tokens = r->has_n_tokens ? r->n_tokens : 0;
    res->status = HFE_OK;
}

static void rolling(const struct hfe_model *m, const struct hfe_request *req,
                    struct hfe_result *res)
{
    struct key k = {0};
    size_t n_keys = 0;
    const struct record *r;

    if (HFE_HAS_FIELD(req, struct hfe_request, top_k) && req->top_k > 0) {
        set_error(res, HFE_ENOTSUP,
                  "%s: replay records no top-k log-probs (top_k=%u)", m->uri,
                  req->top_k);
        return;
    }
    r = lookup(m, req, NULL, &k, &n_keys);
    if (!r) {
        not_found(m, res, &k, n_keys);
        return;
    }
    if (!HFE_HAS_FIELD(res, struct hfe_result, n_bytes)) {
        set_error(res, HFE_EINVAL, "%s: result struct too small for ROLLING",
                  m->uri);
        return;
    }
    res->logprob = r->logprob;
    res->n_tokens = r->has_n_tokens ? r->n_tokens : 0;
    res->n_bytes = r->has_n_bytes ? r->n_bytes
                   : req->context ? strlen(req->context)
                                  : 0;
    res->status = HFE_OK;
}

static void answer(const struct hfe_model *m, const struct hfe_request *req,
                   struct hfe_result *res)
{
    if (!req || req->abi_major != HFE_ABI_MAJOR ||
        !HFE_HAS_FIELD(req, struct hfe_request, continuation)) {
        set_error(res, HFE_EINVAL, "%s: expected a request of ABI %d, got %s",
                  m->uri, HFE_ABI_MAJOR, req ? "another ABI" : "NULL");
        return;
    }
    switch (req->kind) {
    case HFE_REQ_GENERATE:
        generate(m, req, res);
        break;
    case HFE_REQ_LOGLIK:
        loglik(m, req, res);
        break;
    case HFE_REQ_ROLLING:
        rolling(m, req, res);
        break;
    default:
        set_error(res, HFE_ENOTSUP, "%s: unknown request kind %u", m->uri,
                  req->kind);
    }
}

static int replay_submit(struct hfe_model *m, const struct hfe_batch *batch)
{
    void (*done)(void *, size_t) = NULL;
    void *ud = NULL;
    size_t i;
    int rc = HFE_OK;

    if (!m || !batch || batch->abi_major != HFE_ABI_MAJOR ||
        !HFE_HAS_FIELD(batch, struct hfe_batch, res))
        return HFE_EINVAL;
    if (batch->n > 0 && (!batch->req || !batch->res))
        return HFE_EINVAL;
    if (HFE_HAS_FIELD(batch, struct hfe_batch, ud)) {
        done = batch->done;
        ud = batch->ud;
    }

    for (i = 0; i < batch->n; i++) {
        struct hfe_result *res = batch->res[i];

        if (!res || res->abi_major != HFE_ABI_MAJOR ||
            !HFE_HAS_FIELD(res, struct hfe_result, error)) {
            rc = HFE_EINVAL; /* nowhere to put this one's answer */
            continue;
        }
        if (rc != HFE_ECANCELED && host->cancelled && host->cancelled())
            rc = HFE_ECANCELED;
        if (rc == HFE_ECANCELED) {
            res->status = HFE_ECANCELED;
            continue;
        }
        answer(m, batch->req[i], res);
        if (done)
            done(ud, i);
    }
    return rc;
}

static const char *const handles[] = {SCHEME, NULL};
static const char *const options[] = {"strict", NULL};

static const struct hfe_backend backend = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_backend),
    .name = "replay",
    .version = "1.0.0",
    .description = "answers requests from a JSONL file of recorded outputs",
    .caps = HFE_CAP_LOGLIK | HFE_CAP_ROLLING | HFE_CAP_GENERATE | HFE_CAP_CHAT |
            HFE_CAP_DETERMINISTIC,
    .handles = handles,
    .options = options,
    .probe = NULL,
    .open = replay_open,
    .close = replay_close,
    .info = replay_info,
    .tokenize = NULL,
    .detokenize = NULL,
    .submit = replay_submit,
    .measure = NULL,
};

HFE_EXPORT const struct hfe_backend *hfe_plugin_entry(const struct hfe_host *h)
{
    /* Another major: hand the table back so the host can refuse it with
     * both versions in its message; it calls nothing else then. */
    if (h && h->abi_major != HFE_ABI_MAJOR)
        return &backend;
    if (!h || !HFE_HAS_FIELD(h, struct hfe_host, cancelled) || !h->alloc ||
        !h->free || !h->strdup)
        return NULL;
    host = h;
    return &backend;
}
