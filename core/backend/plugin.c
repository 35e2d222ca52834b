/*
 * plugin.c - the plugin loader: dlopen, entry symbol, ABI and slot checks.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models.h"
#include "plugin.h"

volatile sig_atomic_t hfe_plug_cancel;

static char *host_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void host_log(int level, const char *who, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    if (level > hfe_log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    hfe_log(level, who, "%s", line);
}

static int host_cancelled(void)
{
    return hfe_plug_cancel;
}

const struct hfe_host hfe_plug_host = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_host),
    .alloc = malloc,
    .realloc = realloc,
    .free = free,
    .strdup = host_strdup,
    .log = host_log,
    .cancelled = host_cancelled,
};

/* The smallest method table this core can use: ABI 1.0's last slot. */
#define MIN_BACKEND_SIZE                                                       \
    (offsetof(struct hfe_backend, measure) + sizeof(void (*)(void)))

static int broken(struct hfe_plugin *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int broken(struct hfe_plugin *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->why, sizeof(p->why), fmt, ap);
    va_end(ap);
    p->state = HFE_PLUG_BROKEN;
    p->be = NULL;
    if (p->dl)
        dlclose(p->dl);
    p->dl = NULL;
    return -1;
}

int hfe_plug_load(const char *path, struct hfe_plugin *p)
{
    hfe_plugin_entry_fn entry;
    const struct hfe_backend *be;
    const char *missing = NULL;
    void *sym;

    memset(p, 0, sizeof(*p));
    p->path = hfe_xstrdup(path);
    dlerror();
    /* RTLD_NODELETE: a module may have left a callback in a shared
     * library (llama.cpp's logger); its code must stay mapped even once
     * the module is refused or closed. */
    p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!p->dl) {
        const char *e = dlerror();

        return broken(p, "cannot load: %s", e ? e : "unknown dlopen error");
    }
    sym = dlsym(p->dl, HFE_PLUGIN_ENTRY);
    if (!sym)
        return broken(p, "not an hfeval plugin: no symbol %s",
                      HFE_PLUGIN_ENTRY);
    /* POSIX guarantees this conversion for dlsym results. */
    memcpy(&entry, &sym, sizeof(entry));
    be = entry(&hfe_plug_host);
    if (!be)
        return broken(p,
                      "the plugin declined to start (its entry returned "
                      "NULL; it may have been built for another ABI than "
                      "%d.%d)",
                      HFE_ABI_MAJOR, HFE_ABI_MINOR);
    if (be->abi_major != HFE_ABI_MAJOR)
        return broken(p,
                      "plugin ABI %u.%u, hfeval expects ABI %d.x: rebuild "
                      "the plugin against this hfeval",
                      be->abi_major, be->abi_minor, HFE_ABI_MAJOR);
    if (be->struct_size < MIN_BACKEND_SIZE)
        return broken(p,
                      "method table of %u bytes, ABI %d.0 needs at least %zu",
                      be->struct_size, HFE_ABI_MAJOR, MIN_BACKEND_SIZE);
    if (!be->name || !*be->name)
        missing = "name";
    else if (!be->version)
        missing = "version";
    else if (!be->description)
        missing = "description";
    else if (!be->handles)
        missing = "handles";
    else if (!be->options)
        missing = "options";
    else if (!be->open)
        missing = "open";
    else if (!be->close)
        missing = "close";
    else if (!be->info)
        missing = "info";
    else if (!be->submit)
        missing = "submit";
    if (missing)
        return broken(p, "required slot '%s' is empty", missing);
    p->be = be;
    p->state = HFE_PLUG_USABLE;
    if (be->probe && be->probe(p->why, sizeof(p->why)) != 0) {
        p->state = HFE_PLUG_UNUSABLE;
        if (!p->why[0])
            snprintf(p->why, sizeof(p->why), "its probe gave no reason");
        return -1;
    }
    return 0;
}

void hfe_plug_unload(struct hfe_plugin *p)
{
    if (p->dl)
        dlclose(p->dl);
    free(p->path);
    memset(p, 0, sizeof(*p));
}

const char *hfe_plug_default_dir(void)
{
    static char dir[4200];

    char path[sizeof(dir)];

    if (!dir[0]) {
        snprintf(path, sizeof(path), "%s/../lib/hfeval", hfe_exe_dir());
        if (!realpath(path, dir))
            snprintf(dir, sizeof(dir), "%s", path);
    }
    return dir;
}

static int is_module_name(const char *name)
{
    size_t n = strlen(name);

    return n > 7 && strncmp(name, "hfe-", 4) == 0 &&
           strcmp(name + n - 3, ".so") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_dir(struct hfe_plug_set *set, const char *dir)
{
    char **names = NULL;
    size_t n = 0, i;
    struct dirent *de;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (!is_module_name(de->d_name))
            continue;
        names = hfe_xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = hfe_xasprintf("%s/%s", dir, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str); /* a stable listing */
    for (i = 0; i < n; i++) {
        struct hfe_plugin *p;
        size_t j;

        set->v = hfe_xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
        p = &set->v[set->n++];
        hfe_plug_load(names[i], p);
        free(names[i]);
        if (!p->be)
            continue;
        for (j = 0; j + 1 < set->n; j++) {
            if (set->v[j].be && strcmp(set->v[j].be->name, p->be->name) == 0) {
                broken(p, "another module named '%s' was found first: %s",
                       set->v[j].be->name, set->v[j].path);
                break;
            }
        }
    }
    free(names);
}

void hfe_plug_scan(struct hfe_plug_set *set)
{
    const char *env = getenv("HFEVAL_PLUGIN_PATH");

    memset(set, 0, sizeof(*set));
    if (env && *env) {
        char *copy = hfe_xstrdup(env), *save = NULL, *dir;

        for (dir = strtok_r(copy, ":", &save); dir;
             dir = strtok_r(NULL, ":", &save))
            scan_dir(set, dir);
        free(copy);
    }
    scan_dir(set, hfe_plug_default_dir());
}

void hfe_plug_set_free(struct hfe_plug_set *set)
{
    size_t i;

    for (i = 0; i < set->n; i++)
        hfe_plug_unload(&set->v[i]);
    free(set->v);
    memset(set, 0, sizeof(*set));
}

struct hfe_plugin *hfe_plug_find(struct hfe_plug_set *set, const char *name)
{
    size_t i;

    for (i = 0; i < set->n; i++)
        if (set->v[i].state == HFE_PLUG_USABLE &&
            strcmp(set->v[i].be->name, name) == 0)
            return &set->v[i];
    return NULL;
}

static int handles(const struct hfe_backend *be, const char *uri)
{
    const char *const *h;
    size_t ul = strlen(uri);

    for (h = be->handles; *h; h++) {
        size_t hl = strlen(*h);

        if ((*h)[0] == '.') { /* a file suffix */
            if (ul > hl && strcmp(uri + ul - hl, *h) == 0)
                return 1;
        } else if (strncmp(uri, *h, hl) == 0) {
            return 1;
        }
    }
    return 0;
}

struct hfe_plugin *hfe_plug_for_uri(struct hfe_plug_set *set, const char *uri,
                                    struct hfe_err *err)
{
    struct hfe_plugin *unusable = NULL;
    size_t i;

    for (i = 0; i < set->n; i++) {
        struct hfe_plugin *p = &set->v[i];

        if (!p->be || !handles(p->be, uri))
            continue;
        if (p->state == HFE_PLUG_USABLE)
            return p;
        if (!unusable)
            unusable = p;
    }
    if (unusable)
        hfe_err_set(err, "backend '%s' handles '%s' but is not usable here: %s",
                    unusable->be->name, uri, unusable->why);
    else
        hfe_err_set(err,
                    "no backend handles '%s' (looked in %s and "
                    "HFEVAL_PLUGIN_PATH; `hfeval plugins` lists them)",
                    uri, hfe_plug_default_dir());
    return NULL;
}

struct hfe_plugin *hfe_plug_best_for_uri(struct hfe_plug_set *set,
                                         const char *uri, struct hfe_err *err)
{
    size_t i;

    for (i = 0; i < set->n; i++) {
        struct hfe_plugin *p = &set->v[i];

        if (p->state == HFE_PLUG_USABLE && (p->be->caps & HFE_CAP_GPU) &&
            handles(p->be, uri))
            return p;
    }
    return hfe_plug_for_uri(set, uri, err);
}

const char *hfe_plug_caps_str(uint64_t caps, char *buf, size_t size)
{
    static const char *name[] = {
        "loglik",   "rolling", "topk",  "generate",      "chat", "sampling",
        "tokenize", "measure", "batch", "deterministic", "gpu"};
    size_t i, off = 0;

    buf[0] = '\0';
    for (i = 0; i < sizeof(name) / sizeof(name[0]); i++) {
        if (!(caps & (1ull << i)))
            continue;
        off += (size_t)snprintf(buf + off, off < size ? size - off : 0, "%s%s",
                                off ? "," : "", name[i]);
    }
    if (!buf[0])
        snprintf(buf, size, "-");
    return buf;
}

int hfe_models_bind(const struct hfe_model_list *l, struct hfe_plug_set *set,
                    struct hfe_plugin **out, struct hfe_err *err)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        const struct hfe_model_ent *e = &l->v[i];
        const char *name = hfe_models_opt(e, "backend");
        struct hfe_plugin *p;

        if (name && !strcmp(name, "auto")) {
            /* the best usable module that opens it: a GPU one first, as
             * llama.cpp offloads to a GPU device before it falls back to
             * the CPU; then the order of the listing */
            if (!(p = hfe_plug_best_for_uri(set, e->resolved, err))) {
                hfe_err_prefix(err, "%s:%d:%d: ", l->file, e->line, e->col_uri);
                return HFE_EXIT_PLUGIN;
            }
        } else if (name) {
            p = hfe_plug_find(set, name);
            if (!p) {
                const struct hfe_plugin *q = NULL;
                size_t k;

                for (k = 0; k < set->n && !q; k++)
                    if (set->v[k].be && !strcmp(set->v[k].be->name, name))
                        q = &set->v[k];
                if (q)
                    hfe_err_set(err,
                                "%s:%d: backend '%s' is not usable here: %s",
                                l->file, e->line, name, q->why);
                else
                    hfe_err_set(err,
                                "%s:%d: no backend '%s' (`hfeval plugins` "
                                "lists them)",
                                l->file, e->line, name);
                return HFE_EXIT_PLUGIN;
            }
        } else if (!(p = hfe_plug_for_uri(set, e->resolved, err))) {
            hfe_err_prefix(err, "%s:%d:%d: ", l->file, e->line, e->col_uri);
            return HFE_EXIT_PLUGIN;
        }
        if (hfe_models_check_keys(l, e, p->be->name, p->be->options, err))
            return HFE_EXIT_MODELS;
        if (out)
            out[i] = p;
    }
    return 0;
}
