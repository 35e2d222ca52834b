/*
 * cmd_inspect.c - `hfeval inspect` (a GGUF file's metadata, a model
 * list's models, the compliance checks) and `hfeval models` (a list's
 * lineage as a tree).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compliance.h"
#include "gguf_meta.h"
#include "json.h"
#include "models.h"
#include "plugin.h"

static const char *fmt_params(uint64_t n, char *buf, size_t size)
{
    if (n >= 1000000000ull)
        snprintf(buf, size, "%.2fB", n / 1e9);
    else if (n >= 1000000ull)
        snprintf(buf, size, "%.1fM", n / 1e6);
    else if (n >= 1000ull)
        snprintf(buf, size, "%.1fK", n / 1e3);
    else
        snprintf(buf, size, "%" PRIu64, n);
    return buf;
}

static void inspect_json(const struct hfe_gguf *g, struct hfe_buf *b)
{
    char type[32];
    int64_t i;

    hfe_buf_puts(b, "{\"file\":");
    hfe_json_str(b, g->path, strlen(g->path));
    hfe_buf_printf(b,
                   ",\"gguf_version\":%" PRIu32 ",\"file_size\":%" PRIu64
                   ",\"n_tensors\":%" PRId64 ",\"n_params\":%" PRIu64
                   ",\"quantization\":",
                   g->version, g->file_size, g->n_tensors, g->n_params);
    hfe_json_str(b, g->quant, strlen(g->quant));
    hfe_buf_puts(b, ",\"metadata\":{");
    for (i = 0; i < g->n_kv; i++) {
        const char *k = hfe_gguf_key(g, i);

        if (i)
            hfe_buf_puts(b, ",");
        hfe_json_str(b, k, strlen(k));
        hfe_buf_puts(b, ":");
        hfe_gguf_value_json(g, i, 0, b);
    }
    hfe_buf_puts(b, "},\"types\":{");
    for (i = 0; i < g->n_kv; i++) {
        const char *k = hfe_gguf_key(g, i);

        if (i)
            hfe_buf_puts(b, ",");
        hfe_json_str(b, k, strlen(k));
        hfe_buf_printf(b, ":\"%s\"", hfe_gguf_type(g, i, type, sizeof(type)));
    }
    hfe_buf_puts(b, "}}\n");
}

/* Long values are cut in text output unless --full. */
#define TEXT_MAX_ITEMS 16
#define TEXT_MAX_CHARS 160

static void inspect_text(const struct hfe_gguf *g, int full, struct hfe_buf *b)
{
    char size[32], params[32], type[32];
    size_t width = 0;
    int64_t i;

    for (i = 0; i < g->n_kv; i++) {
        size_t n = strlen(hfe_gguf_key(g, i));

        if (n > width)
            width = n;
    }
    hfe_buf_printf(
        b,
        "%s: GGUF v%" PRIu32 ", %s, %" PRId64 " tensors, %s "
        "parameters, %s, %" PRId64 " keys\n",
        g->path, g->version, hfe_fmt_bytes(g->file_size, size, sizeof(size)),
        g->n_tensors, fmt_params(g->n_params, params, sizeof(params)),
        g->quant[0] ? g->quant : "no tensors", g->n_kv);
    for (i = 0; i < g->n_kv; i++) {
        struct hfe_buf v = {0};
        uint64_t n = hfe_gguf_arr_n(g, i);
        int cut = !full && n > TEXT_MAX_ITEMS;

        hfe_gguf_value_json(g, i, full ? 0 : TEXT_MAX_ITEMS, &v);
        if (!full && v.len > TEXT_MAX_CHARS) {
            v.len = TEXT_MAX_CHARS;
            /* do not cut a UTF-8 sequence in half */
            while (v.len && ((unsigned char)v.s[v.len] & 0xc0) == 0x80)
                v.len--;
            v.s[v.len] = '\0';
            cut = 1;
        }
        hfe_buf_printf(b, "  %-*s  %-9s  %s%s", (int)width, hfe_gguf_key(g, i),
                       hfe_gguf_type(g, i, type, sizeof(type)), v.s,
                       cut ? "..." : "");
        if (cut && n)
            hfe_buf_printf(b, " (%" PRIu64 " items)", n);
        hfe_buf_puts(b, "\n");
        hfe_buf_free(&v);
    }
}

static int inspect_files(int json, int full, int n, char **files)
{
    int rc = HFE_EXIT_OK, i;

    for (i = 0; i < n; i++) {
        struct hfe_buf b = {0};
        struct hfe_gguf *g;
        struct hfe_err err;

        if (hfe_gguf_open(files[i], 0, &g, &err) != 0) {
            fprintf(stderr, "hfeval: %s\n", err.msg);
            rc = HFE_EXIT_MODEL;
            continue;
        }
        hfe_buf_add(&b, "", 0);
        if (json)
            inspect_json(g, &b);
        else
            inspect_text(g, full, &b);
        if (!json && i + 1 < n)
            hfe_buf_puts(&b, "\n");
        fputs(b.s, stdout);
        hfe_buf_free(&b);
        hfe_gguf_close(g);
    }
    return rc;
}

static int is_gguf_uri(const char *uri)
{
    size_t n = strlen(uri);

    return n > 5 && strcmp(uri + n - 5, ".gguf") == 0 &&
           strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0;
}

/* One model of a list as a JSON line; g NULL when its file could not be
 * read (err says why) or it is no GGUF. */
static void model_json(struct hfe_buf *b, const struct hfe_model_list *l,
                       size_t i, const struct hfe_gguf *g,
                       const struct hfe_err *err)
{
    const struct hfe_model_ent *e = &l->v[i];
    char *shown = hfe_uri_shown(e->uri);

    hfe_buf_puts(b, "{\"model\":");
    hfe_json_strz(b, e->name);
    hfe_buf_puts(b, ",\"base\":");
    hfe_json_strz(b, e->base >= 0 ? l->v[e->base].name : NULL);
    hfe_buf_printf(b, ",\"base_from\":\"%s\"",
                   e->base < 0        ? "none"
                   : e->base_inferred ? "gguf"
                                      : "list");
    hfe_buf_puts(b, ",\"uri\":");
    hfe_json_strz(b, shown);
    if (g) {
        hfe_buf_printf(b,
                       ",\"file_size\":%" PRIu64 ",\"n_params\":%" PRIu64
                       ",\"quantization\":",
                       g->file_size, g->n_params);
        hfe_json_strz(b, g->quant);
        hfe_buf_puts(b, ",\"architecture\":");
        hfe_json_strz(b, hfe_gguf_str(g, "general.architecture"));
        hfe_buf_puts(b, ",\"license\":");
        hfe_json_strz(b, hfe_gguf_str(g, "general.license"));
    } else if (is_gguf_uri(e->resolved)) {
        hfe_buf_puts(b, ",\"error\":");
        hfe_json_strz(b, err->msg);
    }
    hfe_buf_puts(b, "}\n");
    free(shown);
}

/* One model of a list as a row of the table, indented under its parent
 * ("(gguf)": the parent read from general.base_model.*). */
static void model_row(struct hfe_buf *b, const struct hfe_model_list *l,
                      size_t i, const struct hfe_gguf *g)
{
    const struct hfe_model_ent *e = &l->v[i];
    const char *lic = g ? hfe_gguf_str(g, "general.license") : NULL,
               *arch = g ? hfe_gguf_str(g, "general.architecture") : NULL;
    char size[32], params[32], name[64], ctx[24] = "-", base[96] = "-";
    char *shown = hfe_uri_shown(e->uri);

    if (e->base >= 0)
        snprintf(base, sizeof(base), "%s%s", l->v[e->base].name,
                 e->base_inferred ? " (gguf)" : "");
    snprintf(name, sizeof(name), "%*s%s", 2 * hfe_models_depth(l, i), "",
             e->name);
    if (g && arch) {
        char k[96];

        snprintf(k, sizeof(k), "%s.context_length", arch);
        if (hfe_gguf_int(g, k, 0) > 0)
            snprintf(ctx, sizeof(ctx), "%lld",
                     (long long)hfe_gguf_int(g, k, 0));
    }
    hfe_buf_printf(b, "%-22s %-14s %-7s %-7s %-8s %-6s %-10s %-12s %s\n", name,
                   base, arch ? arch : "-", g ? g->quant : "-",
                   g ? fmt_params(g->n_params, params, sizeof(params)) : "-",
                   ctx,
                   g ? hfe_fmt_bytes(g->file_size, size, sizeof(size)) : "-",
                   g ? (lic ? lic : "(none)") : "-", shown);
    free(shown);
}

static int inspect_models(int json, const char *list_file)
{
    struct hfe_model_list *l;
    struct hfe_err err;
    struct hfe_plug_set plugins;
    struct hfe_buf b = {0};
    int rc;
    size_t i;

    if ((rc = hfe_models_load(list_file, &l, &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        return rc;
    }
    hfe_plug_scan(&plugins);
    if ((rc = hfe_models_bind(l, &plugins, NULL, &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        goto out;
    }
    hfe_buf_add(&b, "", 0);
    if (!json)
        hfe_buf_printf(&b, "%-22s %-14s %-7s %-7s %-8s %-6s %-10s %-12s %s\n",
                       "MODEL", "BASE", "ARCH", "QUANT", "PARAMS", "CTX",
                       "SIZE", "LICENSE", "URI");
    for (i = 0; i < l->n; i++) {
        const struct hfe_model_ent *e = &l->v[i];
        struct hfe_gguf *g = NULL;

        if (is_gguf_uri(e->resolved) &&
            hfe_gguf_open(e->resolved, 0, &g, &err) != 0) {
            fprintf(stderr, "hfeval: %s:%d: model '%s': %s\n", l->file, e->line,
                    e->name, err.msg);
            rc = HFE_EXIT_MODEL;
        }
        if (json)
            model_json(&b, l, i, g, &err);
        else
            model_row(&b, l, i, g);
        hfe_gguf_close(g);
    }
    fputs(b.s, stdout);
out:
    hfe_buf_free(&b);
    hfe_plug_set_free(&plugins);
    hfe_models_free(l);
    return rc;
}

/* ---- inspect --compliance ----------------------------------------------- */

/* Checks models[i] for each i, parents first; prints and returns 0, or 1
 * when a check of severity error fails (4 when a model cannot be read, 9
 * on a bug). */
static int compliance(int json, int profile, struct hfe_cc_model *ms,
                      const long *base, size_t n)
{
    struct hfe_cc_report *r = hfe_xcalloc(n + 1, sizeof(*r));
    char *done = hfe_xcalloc(n + 1, 1);
    struct hfe_buf b = {0};
    struct hfe_err err;
    size_t i, k, left = n;
    int rc = 0;

    hfe_buf_add(&b, "", 0);
    while (left && !rc) { /* parents before children */
        size_t before = left;

        for (i = 0; i < n && !rc; i++) {
            long p = base ? base[i] : -1;

            if (done[i] || (p >= 0 && !done[p]))
                continue;
            rc = hfe_cc_run(&ms[i], p >= 0 ? &ms[p] : NULL,
                            p >= 0 ? &r[p] : NULL, &r[i], &err);
            done[i] = 1;
            left--;
        }
        if (left == before)
            break;
    }
    if (rc) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        goto out;
    }
    for (i = 0; i < n; i++) {
        long p = base ? base[i] : -1;

        if (json) {
            hfe_cc_json(&ms[i], p >= 0 ? ms[p].name : NULL, &r[i], &b);
            hfe_buf_puts(&b, "\n");
        } else {
            hfe_cc_text(&ms[i], p >= 0 ? ms[p].name : NULL, &r[i], profile, &b);
        }
        for (k = 0; k < r[i].n; k++)
            if (r[i].v[k].sev == HFE_CC_ERROR &&
                r[i].v[k].result == HFE_CC_FAIL &&
                (profile < 0 || hfe_cc_in_profile(r[i].v[k].id, profile)))
                rc = HFE_EXIT_FAIL;
    }
    fputs(b.s, stdout);
out:
    hfe_buf_free(&b);
    free(r);
    free(done);
    return rc;
}

static int inspect_compliance(int json, const char *prof, const char *card,
                              const char *hub, const char *list_file, int n,
                              char **files)
{
    struct hfe_model_list *l = NULL;
    struct hfe_cc_model *ms;
    struct hfe_err err;
    long *base = NULL;
    int profile = -1, rc = 0, i;
    size_t count;

    for (i = 0; prof && i < 3; i++)
        if (!strcmp(prof, hfe_cc_profiles[i]))
            profile = i;
    if (prof && profile < 0)
        return hfe_cli_usage(
            "inspect: --profile: expected provenance, transparency "
            "or open-source-ai, got '%s'",
            prof);
    if ((card || hub) && (list_file || n != 1))
        return hfe_cli_usage(
            "inspect: --card and --hub go with one file; in a model "
            "list, use card= and hub=",
            NULL);
    if (list_file && (rc = hfe_models_load(list_file, &l, &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        return rc;
    }
    count = l ? l->n : (size_t)n;
    ms = hfe_xcalloc(count + 1, sizeof(*ms));
    if (l)
        base = hfe_xcalloc(count + 1, sizeof(*base));
    for (i = 0; i < (int)count && rc == 0; i++) {
        const char *uri = l ? l->v[i].resolved : files[i];

        if (l)
            base[i] = l->v[i].base;
        {
            char *c = l ? hfe_models_path(l, hfe_models_opt(&l->v[i], "card"))
                        : NULL,
                 *h = l ? hfe_models_path(l, hfe_models_opt(&l->v[i], "hub"))
                        : NULL;

            /* an HTTP or replay model: its card and hub info, if any */
            rc = hfe_cc_model_load(&ms[i], l ? l->v[i].name : files[i],
                                   is_gguf_uri(uri) ? uri : NULL, l ? c : card,
                                   l ? h : hub, &err);
            free(c);
            free(h);
        }
        if (rc) {
            if (l)
                fprintf(stderr, "hfeval: %s:%d: model '%s': %s\n", l->file,
                        l->v[i].line, l->v[i].name, err.msg);
            else
                fprintf(stderr, "hfeval: %s\n", err.msg);
        }
    }
    if (rc == 0)
        rc = compliance(json, profile, ms, base, count);
    for (i = 0; i < (int)count; i++)
        hfe_cc_model_free(&ms[i]);
    free(ms);
    free(base);
    hfe_models_free(l);
    return rc;
}

int hfe_cmd_inspect(int argc, char **argv)
{
    const char *list = NULL, *prof = NULL, *card = NULL, *hub = NULL;
    int json = 0, full = 0, i, nfiles = 0, cc = 0;
    char **files = hfe_xcalloc((size_t)argc, sizeof(*files));
    int rc;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--full") == 0) {
            full = 1;
        } else if (strcmp(argv[i], "--compliance") == 0) {
            cc = 1;
        } else if (!strcmp(argv[i], "--profile") ||
                   !strcmp(argv[i], "--card") || !strcmp(argv[i], "--hub")) {
            if (++i == argc) {
                free(files);
                return hfe_cli_usage("inspect: %s needs a value", argv[i - 1]);
            }
            *(!strcmp(argv[i - 1], "--profile") ? &prof
              : !strcmp(argv[i - 1], "--card")  ? &card
                                                : &hub) = argv[i];
        } else if (strcmp(argv[i], "--models") == 0) {
            if (++i == argc) {
                free(files);
                return hfe_cli_usage("inspect: --models needs a file", NULL);
            }
            list = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(files);
            return hfe_cli_usage("inspect: unknown option '%s'", argv[i]);
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (!list && !nfiles)
        rc = hfe_cli_usage("inspect: name a .gguf file or --models LIST", NULL);
    else if (list && nfiles)
        rc = hfe_cli_usage("inspect: give files or --models, not both", NULL);
    else if (cc)
        rc = inspect_compliance(json, prof, card, hub, list, nfiles, files);
    else if (prof || card || hub)
        rc = hfe_cli_usage(
            "inspect: --profile, --card and --hub go with --compliance", NULL);
    else if (list)
        rc = inspect_models(json, list);
    else
        rc = inspect_files(json, full, nfiles, files);
    free(files);
    return rc;
}

/* `hfeval models [--json] LIST`: the lineage of a list. */
int hfe_cmd_models(int argc, char **argv)
{
    if (argc == 2)
        return inspect_models(0, argv[1]);
    if (argc == 3 && !strcmp(argv[1], "--json"))
        return inspect_models(1, argv[2]);
    return hfe_cli_usage("models: expected [--json] LIST", NULL);
}
