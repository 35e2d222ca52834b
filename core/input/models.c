/*
 * models.c - the model-list parser.  Untrusted input: every path through
 * it ends in a model or a message with the line and column.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gguf_meta.h"
#include "models.h"

const char *const hfe_models_core_keys[] = {
    "base", "backend", "card", "hub", "watchdog", NULL,
};

char *hfe_uri_shown(const char *uri)
{
    const char *auth = strstr(uri, "://"), *at;
    size_t len;

    if (!auth)
        return hfe_xstrdup(uri);
    auth += 3;
    len = strcspn(auth, "/?#");
    at = memchr(auth, '@', len);
    if (!at)
        return hfe_xstrdup(uri);
    return hfe_xasprintf("%.*s%s", (int)(auth - uri), uri, at + 1);
}

static int name_char(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

static int key_char(int c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* A token: a run of non-blank bytes, where a double-quoted part may hold
 * blanks.  Writes the unquoted text into *out.  Returns the end, or NULL
 * with err set. */
static const char *token(const char *p, const char *end, char **out,
                         const char *where, int line, int col,
                         struct hfe_err *err)
{
    struct hfe_buf b = {0};
    int q = 0;

    hfe_buf_add(&b, "", 0);
    while (p < end && (q || (*p != ' ' && *p != '\t'))) {
        if (*p == '"') {
            q = !q;
            p++;
            continue;
        }
        if (q && *p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\')) {
            hfe_buf_add(&b, p + 1, 1);
            p += 2;
            continue;
        }
        if (!q && *p == '#')
            break;
        hfe_buf_add(&b, p, 1);
        p++;
    }
    if (q) {
        hfe_err_set(err, "%s:%d:%d: unterminated quoted value", where, line,
                    col);
        hfe_buf_free(&b);
        return NULL;
    }
    *out = b.s;
    return p;
}

static char *resolve(const char *file, const char *uri)
{
    const char *slash = strrchr(file, '/');
    const char *path = uri;
    const char *scheme = "";

    const char *c = uri;

    if (strncmp(uri, "replay:", 7) == 0) {
        scheme = "replay:";
        path = uri + 7;
    } else {
        /* scheme:... (http:, https:, ...) is a URI, not a path */
        while (isalnum((unsigned char)*c) || *c == '+' || *c == '-' ||
               *c == '.')
            c++;
        if (*c == ':' && c > uri && isalpha((unsigned char)uri[0]))
            return hfe_xstrdup(uri);
    }
    if (path[0] == '/' || !slash)
        return hfe_xstrdup(uri);
    return hfe_xasprintf("%s%.*s/%s", scheme, (int)(slash - file), file, path);
}

static void free_ent(struct hfe_model_ent *e)
{
    size_t i;

    for (i = 0; i < e->n_opt; i++) {
        free(e->opt[i].key);
        free(e->opt[i].value);
    }
    free(e->opt);
    free(e->name);
    free(e->uri);
    free(e->resolved);
}

void hfe_models_free(struct hfe_model_list *l)
{
    size_t i;

    if (!l)
        return;
    for (i = 0; i < l->n; i++)
        free_ent(&l->v[i]);
    free(l->v);
    free(l->file);
    free(l);
}

static int parse_line(const char *file, const char *s, const char *end,
                      int line, struct hfe_model_ent *e, struct hfe_err *err)
{
    const char *p = s;
    char *tok;
    int col;

#define SKIP_BLANKS()                                                          \
    while (p < end && (*p == ' ' || *p == '\t'))                               \
    p++
#define COL() ((int)(p - s) + 1)

    memset(e, 0, sizeof(*e));
    e->line = line;
    e->base = -1;
    SKIP_BLANKS();
    col = COL();
    while (p < end && !(*p == ' ' || *p == '\t' || *p == '#'))
        p++;
    e->name = hfe_xstrndup(s + col - 1, (size_t)(p - s) - (size_t)(col - 1));
    for (tok = e->name; *tok; tok++) {
        if (!name_char((unsigned char)*tok)) {
            hfe_err_set(err,
                        "%s:%d:%d: model name '%s' may hold only letters, "
                        "digits, '.', '_' and '-'",
                        file, line, col, e->name);
            return -1;
        }
    }
    SKIP_BLANKS();
    if (p == end || *p == '#') {
        hfe_err_set(err,
                    "%s:%d:%d: expected a URI after the name '%s' (a "
                    ".gguf path, an http(s):// URL or replay:FILE)",
                    file, line, COL(), e->name);
        return -1;
    }
    e->col_uri = COL();
    if (!(p = token(p, end, &e->uri, file, line, e->col_uri, err)))
        return -1;
    if (!e->uri[0] || strcmp(e->uri, "replay:") == 0) {
        hfe_err_set(err, "%s:%d:%d: empty URI", file, line, e->col_uri);
        return -1;
    }
    e->resolved = resolve(file, e->uri);
    for (;;) {
        struct hfe_model_opt *o;
        char *eq;
        size_t i;

        SKIP_BLANKS();
        if (p == end || *p == '#')
            break;
        col = COL();
        if (!(p = token(p, end, &tok, file, line, col, err)))
            return -1;
        eq = strchr(tok, '=');
        if (!eq || eq == tok) {
            hfe_err_set(err, "%s:%d:%d: expected key=value, got '%s'", file,
                        line, col, tok);
            free(tok);
            return -1;
        }
        *eq = '\0';
        for (i = 0; tok[i]; i++) {
            if (!key_char((unsigned char)tok[i])) {
                hfe_err_set(err, "%s:%d:%d: bad character in key '%s'", file,
                            line, col, tok);
                free(tok);
                return -1;
            }
        }
        for (i = 0; i < e->n_opt; i++) {
            if (strcmp(e->opt[i].key, tok) == 0) {
                hfe_err_set(err,
                            "%s:%d:%d: key '%s' given twice (first at "
                            "column %d)",
                            file, line, col, tok, e->opt[i].col);
                free(tok);
                return -1;
            }
        }
        if (!strcmp(tok, "watchdog")) { /* seconds, for the core */
            char *end;
            double v = strtod(eq + 1, &end);

            if (end == eq + 1 || *end || !(v > 0) || v > 1e7) {
                hfe_err_set(err,
                            "%s:%d:%d: watchdog=%s: expected seconds, a "
                            "number above 0",
                            file, line, col, eq + 1);
                free(tok);
                return -1;
            }
        }
        e->opt = hfe_xrealloc(e->opt, (e->n_opt + 1) * sizeof(*e->opt));
        o = &e->opt[e->n_opt++];
        o->key = hfe_xstrdup(tok);
        o->value = hfe_xstrdup(eq + 1);
        o->col = col;
        free(tok);
    }
    return 0;
#undef SKIP_BLANKS
#undef COL
}

static const struct hfe_model_opt *find_opt(const struct hfe_model_ent *e,
                                            const char *key)
{
    size_t i;

    for (i = 0; i < e->n_opt; i++)
        if (strcmp(e->opt[i].key, key) == 0)
            return &e->opt[i];
    return NULL;
}

const char *hfe_models_opt(const struct hfe_model_ent *e, const char *key)
{
    const struct hfe_model_opt *o = find_opt(e, key);

    return o ? o->value : NULL;
}

/* Resolves base= names and refuses cycles. */
static int link_bases(struct hfe_model_list *l, struct hfe_err *err)
{
    size_t i, j;

    for (i = 0; i < l->n; i++) {
        const struct hfe_model_opt *o = find_opt(&l->v[i], "base");

        if (!o)
            continue;
        for (j = 0; j < l->n; j++)
            if (strcmp(l->v[j].name, o->value) == 0)
                break;
        if (j == l->n) {
            hfe_err_set(err, "%s:%d:%d: base '%s' is not a model of this list",
                        l->file, l->v[i].line, o->col, o->value);
            return -1;
        }
        if (j == i) {
            hfe_err_set(err, "%s:%d:%d: model '%s' names itself as its base",
                        l->file, l->v[i].line, o->col, o->value);
            return -1;
        }
        l->v[i].base = (long)j;
    }
    for (i = 0; i < l->n; i++) {
        long k = l->v[i].base;
        size_t steps = 0;

        while (k >= 0 && steps <= l->n) {
            k = l->v[k].base;
            steps++;
        }
        if (k >= 0) {
            hfe_err_set(err, "%s:%d: lineage cycle through model '%s'", l->file,
                        l->v[i].line, l->v[i].name);
            return -1;
        }
    }
    return 0;
}

int hfe_models_parse(const char *file, const char *text, size_t len,
                     struct hfe_model_list **out, struct hfe_err *err)
{
    struct hfe_model_list *l = hfe_xcalloc(1, sizeof(*l));
    const char *p = text, *end = text + len;
    int line = 0;

    *out = NULL;
    l->file = hfe_xstrdup(file);
    if (memchr(text, '\0', len)) {
        hfe_err_set(err, "%s: holds a NUL byte: not a text file", file);
        goto fail;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *q = p;
        struct hfe_model_ent e;
        size_t i;

        line++;
        if (le > p && le[-1] == '\r')
            le--;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if (q < le && *q != '#') {
            if (parse_line(file, p, le, line, &e, err) != 0) {
                free_ent(&e);
                goto fail;
            }
            for (i = 0; i < l->n; i++) {
                if (strcmp(l->v[i].name, e.name) == 0) {
                    hfe_err_set(err,
                                "%s:%d:1: model name '%s' is used twice "
                                "(first on line %d)",
                                file, line, e.name, l->v[i].line);
                    free_ent(&e);
                    goto fail;
                }
            }
            l->v = hfe_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
            l->v[l->n++] = e;
        }
        p = nl ? nl + 1 : end;
    }
    if (l->n == 0) {
        hfe_err_set(err,
                    "%s: no models (expected lines of NAME URI "
                    "[key=value ...])",
                    file);
        goto fail;
    }
    if (link_bases(l, err) != 0)
        goto fail;
    *out = l;
    return 0;
fail:
    hfe_models_free(l);
    return HFE_EXIT_MODELS;
}

/* Does GGUF metadata g name the model whose metadata is h as a base? */
static int declares(const struct hfe_gguf *g, const struct hfe_gguf *h)
{
    const char *hn = hfe_gguf_str(h, "general.name"),
               *hu = hfe_gguf_str(h, "general.repo_url"),
               *hb = hfe_gguf_str(h, "general.basename");
    int64_t i, n = hfe_gguf_int(g, "general.base_model.count", 0);

    for (i = 0; i < n && i < 64; i++) {
        char k[64];
        const char *v;

        snprintf(k, sizeof(k), "general.base_model.%lld.name", (long long)i);
        if ((v = hfe_gguf_str(g, k)) &&
            ((hn && !strcasecmp(v, hn)) || (hb && !strcasecmp(v, hb))))
            return 1;
        snprintf(k, sizeof(k), "general.base_model.%lld.repo_url",
                 (long long)i);
        if ((v = hfe_gguf_str(g, k)) && hu && !strcmp(v, hu))
            return 1;
    }
    return 0;
}

/* A model without base= whose GGUF names exactly one other model of the
 * list as its base (general.base_model.N.name or repo_url against that
 * model's general.name, basename or repo_url) gets it as its parent. */
static int infer_bases(struct hfe_model_list *l, struct hfe_err *err)
{
    struct hfe_gguf **g = hfe_xcalloc(l->n + 1, sizeof(*g));
    size_t i, j;
    int rc = 0;

    for (i = 0; i < l->n; i++) {
        const char *dot = strrchr(l->v[i].resolved, '.');
        struct hfe_err e;

        if (dot && !strcmp(dot, ".gguf"))
            (void)hfe_gguf_open(l->v[i].resolved, 1, &g[i], &e);
    }
    for (i = 0; i < l->n; i++) {
        long found = -1;
        int n = 0;

        if (l->v[i].base >= 0 || !g[i])
            continue;
        for (j = 0; j < l->n; j++)
            if (j != i && g[j] && declares(g[i], g[j]))
                found = (long)j, n++;
        if (n > 1) { /* quantized copies share the name: the full one */
            n = 0;
            for (j = 0; j < l->n; j++)
                if (j != i && g[j] && declares(g[i], g[j]) &&
                    (!strcmp(g[j]->quant, "F32") ||
                     !strcmp(g[j]->quant, "F16") ||
                     !strcmp(g[j]->quant, "BF16")))
                    found = (long)j, n++;
        }
        if (n == 1) {
            l->v[i].base = found;
            l->v[i].base_inferred = 1;
        }
    }
    for (i = 0; i < l->n && !rc; i++) { /* an inferred cycle is refused */
        long k = l->v[i].base;
        size_t steps = 0;

        while (k >= 0 && steps++ <= l->n)
            k = l->v[k].base;
        if (k >= 0) {
            hfe_err_set(err,
                        "%s:%d: lineage cycle through model '%s' (bases "
                        "read from the GGUF files' general.base_model: "
                        "set base= to say which is which)",
                        l->file, l->v[i].line, l->v[i].name);
            rc = HFE_EXIT_MODELS;
        }
    }
    for (i = 0; i < l->n; i++)
        hfe_gguf_close(g[i]);
    free(g);
    return rc;
}

int hfe_models_load(const char *file, struct hfe_model_list **out,
                    struct hfe_err *err)
{
    char *text;
    size_t len;
    int rc;

    *out = NULL;
    if (hfe_read_file(file, &text, &len, err) != 0)
        return HFE_EXIT_MODELS;
    rc = hfe_models_parse(file, text, len, out, err);
    free(text);
    if (rc == 0 && (rc = infer_bases(*out, err)) != 0) {
        hfe_models_free(*out);
        *out = NULL;
    }
    return rc;
}

static int in_list(const char *const *keys, const char *k)
{
    for (; keys && *keys; keys++)
        if (strcmp(*keys, k) == 0)
            return 1;
    return 0;
}

static const char *closest(const char *k, const char *const *a,
                           const char *const *b)
{
    const char *const *lists[2] = {a, b}, *best = NULL;
    size_t bd = 3, d;
    int i;

    for (i = 0; i < 2; i++) {
        const char *const *p;

        for (p = lists[i]; p && *p; p++) {
            d = hfe_edit_distance(k, *p, bd);
            if (d < bd) {
                bd = d;
                best = *p;
            }
        }
    }
    return best;
}

int hfe_models_check_keys(const struct hfe_model_list *l,
                          const struct hfe_model_ent *e,
                          const char *backend_name,
                          const char *const *backend_keys, struct hfe_err *err)
{
    size_t i;

    for (i = 0; i < e->n_opt; i++) {
        const char *k = e->opt[i].key, *hint;

        if (in_list(hfe_models_core_keys, k) || in_list(backend_keys, k))
            continue;
        hint = closest(k, hfe_models_core_keys, backend_keys);
        if (hint)
            hfe_err_set(err,
                        "%s:%d:%d: unknown key '%s' for backend '%s' (did "
                        "you mean '%s'?)",
                        l->file, e->line, e->opt[i].col, k, backend_name, hint);
        else
            hfe_err_set(err, "%s:%d:%d: unknown key '%s' for backend '%s'",
                        l->file, e->line, e->opt[i].col, k, backend_name);
        return HFE_EXIT_MODELS;
    }
    return 0;
}

char *hfe_models_path(const struct hfe_model_list *l, const char *path)
{
    return path ? resolve(l->file, path) : NULL;
}

int hfe_models_depth(const struct hfe_model_list *l, size_t i)
{
    int d = 0;
    long k = l->v[i].base;

    while (k >= 0) {
        d++;
        k = l->v[k].base;
    }
    return d;
}
