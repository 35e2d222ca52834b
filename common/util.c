/*
 * util.c - error messages, checked allocation, growable strings, logging.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hfeval.h"

void hfe_err_set(struct hfe_err *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

void hfe_err_prefix(struct hfe_err *e, const char *fmt, ...)
{
    char old[sizeof(e->msg)];
    va_list ap;
    int n;

    memcpy(old, e->msg, sizeof(old));
    va_start(ap, fmt);
    n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(e->msg))
        snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, "%s", old);
}

static void oom(size_t n)
{
    fprintf(stderr, "hfeval: out of memory (asked for %zu bytes)\n", n);
    exit(HFE_EXIT_INTERNAL);
}

void *hfe_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        oom(n);
    return p;
}

void *hfe_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        oom(n * size);
    return p;
}

void *hfe_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

char *hfe_xstrndup(const char *s, size_t n)
{
    char *d = hfe_xmalloc(n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *hfe_xstrdup(const char *s)
{
    return hfe_xstrndup(s, strlen(s));
}

char *hfe_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    s = hfe_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void hfe_buf_add(struct hfe_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;

        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = hfe_xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void hfe_buf_puts(struct hfe_buf *b, const char *s)
{
    hfe_buf_add(b, s, strlen(s));
}

void hfe_buf_printf(struct hfe_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    hfe_buf_add(b, "", 0); /* make sure b->s exists */
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap;

        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        b->s = hfe_xrealloc(b->s, cap);
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void hfe_buf_free(struct hfe_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

int hfe_read_file(const char *path, char **out, size_t *len,
                  struct hfe_err *err)
{
    struct hfe_buf b = {0};
    char chunk[65536];
    FILE *f = fopen(path, "rb");
    size_t n;

    *out = NULL;
    if (!f) {
        hfe_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    hfe_buf_add(&b, "", 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        hfe_buf_add(&b, chunk, n);
    if (ferror(f)) {
        hfe_err_set(err, "%s: read error: %s", path, strerror(errno));
        fclose(f);
        hfe_buf_free(&b);
        return -1;
    }
    fclose(f);
    *out = b.s;
    if (len)
        *len = b.len;
    return 0;
}

int hfe_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "w");
    int saved;

    if (!f)
        return -1;
    if (fwrite(data, 1, len, f) != len) {
        saved = errno; /* fclose may set its own */
        fclose(f);
        errno = saved;
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

int hfe_mkdirs(const char *path)
{
    char *p = hfe_xstrdup(path), *q;
    int rc = 0;

    for (q = p + 1; *q && !rc; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = -1;
        *q = '/';
    }
    if (!rc && mkdir(p, 0777) != 0 && errno != EEXIST)
        rc = -1;
    free(p);
    return rc;
}

size_t hfe_edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[64];

    if (lb >= sizeof(row) / sizeof(row[0]) || la >= 64)
        return cap;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0], best;

        row[0] = i;
        best = row[0];
        for (j = 1; j <= lb; j++) {
            size_t up = row[j], v;

            v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best >= cap)
            return cap;
    }
    return row[lb] < cap ? row[lb] : cap;
}

const char *hfe_exe_dir(void)
{
    static char dir[4096];
    ssize_t n;
    char *slash;

    if (dir[0])
        return dir;
    n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
    if (n <= 0) {
        strcpy(dir, ".");
        return dir;
    }
    dir[n] = '\0';
    slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    return dir;
}

const char *hfe_fmt_bytes(uint64_t n, char *buf, size_t size)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, size, "%.1f %s", v, unit[u]);
    return buf;
}

void hfe_buf_markup(struct hfe_buf *b, const char *s)
{
    static const char *const ref[] = {['&'] = "&amp;",
                                      ['<'] = "&lt;",
                                      ['>'] = "&gt;",
                                      ['"'] = "&quot;",
                                      ['\''] = "&#39;"};

    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < sizeof(ref) / sizeof(ref[0]) && ref[c])
            hfe_buf_puts(b, ref[c]);
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            hfe_buf_puts(b, "?");
        else
            hfe_buf_add(b, s, 1);
    }
}

uint64_t hfe_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int hfe_log_level = 1;

void hfe_log(int level, const char *who, const char *fmt, ...)
{
    static const char *name[] = {"error", "warning", "info", "debug"};
    va_list ap;

    if (level > hfe_log_level)
        return;
    if (level < 0 || level > 3)
        level = 3;
    fprintf(stderr, "hfeval: %s%s%s: ", who ? who : "", who ? ": " : "",
            name[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
