/*
 * cache.c - the run's cache of answers, distributions and model facts:
 * checksummed, deflated entry files, bounded by least recent use.  See
 * cache.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cache.h"
#include "sha256.h"

#define MAGIC     "HFECACH1"
#define HEAD_SIZE 28 /* magic, raw and stored lengths, CRC-32 */

static const char *const kinds[] = {"answers", "fid", "info", "digest"};

struct hfe_cache {
    char *dir;
    uint64_t max;
};

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    int i;

    for (i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    int i;

    for (i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int hfe_cache_open(const char *dir, uint64_t max_bytes, struct hfe_cache **out,
                   struct hfe_err *err)
{
    struct hfe_cache *c;
    const char *root = getenv("HFEVAL_CACHE"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    char *d;
    size_t k;

    *out = NULL;
    if (dir)
        d = hfe_xstrdup(dir);
    else if (root && *root)
        d = hfe_xstrdup(root);
    else if (xdg && *xdg == '/')
        d = hfe_xasprintf("%s/hfeval", xdg);
    else if (home && *home)
        d = hfe_xasprintf("%s/.cache/hfeval", home);
    else {
        hfe_err_set(err, "no cache directory: HOME is not set (give --cache "
                         "DIR, or --no-cache)");
        return HFE_EXIT_IO;
    }
    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        char *sub = hfe_xasprintf("%s/%s", d, kinds[k]);
        int bad = hfe_mkdirs(sub) != 0;

        free(sub);
        if (bad) {
            hfe_err_set(err, "cache directory %s: %s", d, strerror(errno));
            free(d);
            return HFE_EXIT_IO;
        }
    }
    c = hfe_xcalloc(1, sizeof(*c));
    c->dir = d;
    c->max = max_bytes;
    *out = c;
    return 0;
}

const char *hfe_cache_dir(const struct hfe_cache *c)
{
    return c->dir;
}

void hfe_cache_key(const char model_key[65], const char *kind,
                   const char *const *parts, const size_t *lens, size_t n,
                   char key[65])
{
    struct hfe_sha256 s;
    size_t i;

    hfe_sha256_init(&s);
    hfe_sha256_add(&s, model_key, 64);
    hfe_sha256_add(&s, kind, strlen(kind) + 1);
    for (i = 0; i < n; i++) { /* each with its length: no two parts meet */
        uint64_t len = lens[i];

        hfe_sha256_add(&s, &len, sizeof(len));
        hfe_sha256_add(&s, parts[i], lens[i]);
    }
    hfe_sha256_hex(&s, key);
}

static char *entry_path(const struct hfe_cache *c, const char *kind,
                        const char key[65])
{
    return hfe_xasprintf("%s/%s/%.2s/%s", c->dir, kind, key, key);
}

/* A bad entry: said, removed, a miss. */
static int bad_entry(const char *path, const char *why)
{
    fprintf(stderr,
            "hfeval: cache entry %s: %s; it is removed and computed "
            "again\n",
            path, why);
    unlink(path);
    return 0;
}

int hfe_cache_get(struct hfe_cache *c, const char *kind, const char key[65],
                  char **data, size_t *len)
{
    char *path = entry_path(c, kind, key), *file = NULL, *raw = NULL;
    size_t flen = 0;
    uint64_t rlen, slen;
    uLongf got;
    struct hfe_err err;
    int rc = 0;

    *data = NULL;
    *len = 0;
    if (access(path, F_OK) != 0)
        goto out;
    if (hfe_read_file(path, &file, &flen, &err) != 0) {
        rc = bad_entry(path, err.msg);
        goto out;
    }
    if (flen < HEAD_SIZE || memcmp(file, MAGIC, 8) != 0) {
        rc = bad_entry(path, "not a cache entry (no HFECACH1 header)");
        goto out;
    }
    rlen = get_le((unsigned char *)file + 8, 8);
    slen = get_le((unsigned char *)file + 16, 8);
    if (slen != flen - HEAD_SIZE || rlen > SIZE_MAX - 1) {
        rc = bad_entry(path, "truncated (its length is not the header's)");
        goto out;
    }
    raw = hfe_xmalloc((size_t)rlen + 1);
    got = (uLongf)rlen;
    if (uncompress((Bytef *)raw, &got, (const Bytef *)file + HEAD_SIZE,
                   (uLong)slen) != Z_OK ||
        got != rlen ||
        crc32_z(0, (const Bytef *)raw, (z_size_t)rlen) !=
            get_le((unsigned char *)file + 24, 4)) {
        rc = bad_entry(path, "corrupt (its CRC-32 does not match)");
        goto out;
    }
    raw[rlen] = '\0';
    *data = raw;
    *len = (size_t)rlen;
    raw = NULL;
    utimensat(AT_FDCWD, path, NULL, 0); /* recently used */
    rc = 1;
out:
    free(raw);
    free(file);
    free(path);
    return rc;
}

int hfe_cache_put(struct hfe_cache *c, const char *kind, const char key[65],
                  const void *data, size_t len)
{
    char *path = entry_path(c, kind, key), *tmp = NULL, *sub;
    uLongf zlen = compressBound((uLong)len);
    unsigned char *buf = hfe_xmalloc(HEAD_SIZE + zlen);
    int rc = -1;

    if (compress2(buf + HEAD_SIZE, &zlen, data, (uLong)len, 6) != Z_OK ||
        HEAD_SIZE + (uint64_t)zlen > c->max) /* could never stay */
        goto out;
    memcpy(buf, MAGIC, 8);
    put_le(buf + 8, len, 8);
    put_le(buf + 16, zlen, 8);
    put_le(buf + 24, crc32_z(0, data, (z_size_t)len), 4);
    sub = hfe_xasprintf("%s/%s/%.2s", c->dir, kind, key);
    hfe_mkdirs(sub);
    free(sub);
    tmp = hfe_xasprintf("%s.%ld.tmp", path, (long)getpid());
    if (hfe_write_file(tmp, buf, HEAD_SIZE + zlen) != 0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "hfeval: cache entry %s: %s (not kept)\n", path,
                strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    free(tmp);
    free(path);
    return rc;
}

/* A regular file's SHA-256, remembered by its device, inode, size and
 * modification time (a rewritten file is hashed again).  -1 when path is
 * not a regular file. */
static int file_digest(struct hfe_cache *c, const char *path, char hex[65])
{
    struct stat st;
    char id[160], key[65], zero[65], *got = NULL;
    const char *part = id;
    size_t len, idn;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    idn = (size_t)snprintf(id, sizeof(id), "%llu:%llu:%lld:%lld.%09ld",
                           (unsigned long long)st.st_dev,
                           (unsigned long long)st.st_ino, (long long)st.st_size,
                           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    memset(zero, '0', 64);
    zero[64] = '\0';
    hfe_cache_key(zero, "digest", &part, &idn, 1, key);
    if (hfe_cache_get(c, "digest", key, &got, &len) && len == 64) {
        memcpy(hex, got, 65);
        free(got);
        return 0;
    }
    free(got);
    if (hfe_sha256_file(path, hex) != 0)
        return -1;
    hfe_cache_put(c, "digest", key, hex, 64);
    return 0;
}

int hfe_cache_model_key(struct hfe_cache *c, const char *backend_name,
                        const char *backend_version, const char *plugin_path,
                        const char *model_path, const struct hfe_option *opts,
                        size_t n_opts, char key[65], char file_sha256[65])
{
    char plug[65], model[65], zero[65] = {0};
    const char **kv = hfe_xcalloc(2 * n_opts + 5, sizeof(*kv));
    size_t *lens = hfe_xcalloc(2 * n_opts + 5, sizeof(*lens)), n = 0, i, k;
    const size_t *order;
    size_t *ord = hfe_xcalloc(n_opts + 1, sizeof(*ord));
    int rc = -1;

    if (file_digest(c, model_path, model) != 0 ||
        file_digest(c, plugin_path, plug) != 0)
        goto out;
    memcpy(file_sha256, model, 65);
    for (i = 0; i < n_opts; i++) /* sorted by key: the order is not asked */
        ord[i] = i;
    for (i = 1; i < n_opts; i++)
        for (k = i; k > 0 && strcmp(opts[ord[k - 1]].key, opts[ord[k]].key) > 0;
             k--) {
            size_t t = ord[k];

            ord[k] = ord[k - 1];
            ord[k - 1] = t;
        }
    order = ord;
    kv[n++] = backend_name;
    kv[n++] = backend_version;
    kv[n++] = plug;
    kv[n++] = model;
    for (i = 0; i < n_opts; i++) {
        kv[n++] = opts[order[i]].key;
        kv[n++] = opts[order[i]].value;
    }
    for (i = 0; i < n; i++)
        lens[i] = strlen(kv[i]);
    memset(zero, '0', 64);
    hfe_cache_key(zero, "model", kv, lens, n, key);
    rc = 0;
out:
    free(ord);
    free(kv);
    free(lens);
    return rc;
}

/* ---- the bound -------------------------------------------------------- */

struct ent {
    char *path;
    off_t size;
    struct timespec used;
};

static int by_use(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;

    if (x->used.tv_sec != y->used.tv_sec)
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    return (x->used.tv_nsec > y->used.tv_nsec) -
           (x->used.tv_nsec < y->used.tv_nsec);
}

/* Every entry file under DIR/KIND/XX/ into *v. */
static void list_kind(const char *dir, struct ent **v, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir), *e;
    struct dirent *de, *fe;

    if (!d)
        return;
    while ((de = readdir(d))) {
        char *sub;

        if (de->d_name[0] == '.')
            continue;
        sub = hfe_xasprintf("%s/%s", dir, de->d_name);
        if ((e = opendir(sub))) {
            while ((fe = readdir(e))) {
                struct stat st;
                char *f;

                if (fe->d_name[0] == '.')
                    continue;
                f = hfe_xasprintf("%s/%s", sub, fe->d_name);
                if (stat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
                    free(f);
                    continue;
                }
                if (*n == *cap) {
                    *cap = *cap ? *cap * 2 : 64;
                    *v = hfe_xrealloc(*v, *cap * sizeof(**v));
                }
                (*v)[(*n)++] = (struct ent){f, st.st_size, st.st_mtim};
            }
            closedir(e);
        }
        free(sub);
    }
    closedir(d);
}

void hfe_cache_close(struct hfe_cache *c)
{
    struct ent *v = NULL;
    size_t n = 0, cap = 0, i, k;
    uint64_t total = 0;

    if (!c)
        return;
    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        char *d = hfe_xasprintf("%s/%s", c->dir, kinds[k]);

        list_kind(d, &v, &n, &cap);
        free(d);
    }
    for (i = 0; i < n; i++)
        total += (uint64_t)v[i].size;
    qsort(v, n, sizeof(*v), by_use);
    for (i = 0; i < n && total > c->max; i++)
        if (unlink(v[i].path) == 0)
            total -= (uint64_t)v[i].size;
    for (i = 0; i < n; i++)
        free(v[i].path);
    free(v);
    free(c->dir);
    free(c);
}
