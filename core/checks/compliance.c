/*
 * compliance.c - the checks, profiles and classes of compliance.h.
 */
#define _GNU_SOURCE /* strcasestr */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "card.h"
#include "json.h"
#include "compliance.h"

const char *const hfe_cc_sev_names[3] = {"error", "warning", "info"};
const char *const hfe_cc_result_names[3] = {"pass", "fail", "n/a"};
const char *const hfe_cc_profiles[3] = {"provenance", "transparency",
                                        "open-source-ai"};
const char *const hfe_cc_class_names[3] = {"restricted", "open weights",
                                           "open source"};

/* ---- licenses ----------------------------------------------------------- */

/* OSI-approved, among the Hub's license ids. */
static const char *const osi[] = {
    "apache-2.0",   "mit",       "bsd-2-clause", "bsd-3-clause", "mpl-2.0",
    "gpl-2.0",      "gpl-3.0",   "lgpl-2.1",     "lgpl-3.0",     "agpl-3.0",
    "isc",          "unlicense", "zlib",         "epl-2.0",      "eupl-1.2",
    "artistic-2.0", "bsl-1.0",   "osl-3.0",      "ofl-1.1",      "afl-3.0",
    "ecl-2.0",      NULL};
/* Open for data and documents, not OSI software licenses. */
static const char *const open_content[] = {"cc0-1.0", "cc-by-4.0",
                                           "cc-by-sa-4.0", "odc-by", NULL};
/* Other ids of the Hub's list: known, not open. */
static const char *const known_other[] = {"cc-by-nc-4.0",
                                          "cc-by-nc-sa-4.0",
                                          "cc-by-nc-nd-4.0",
                                          "cc-by-nd-4.0",
                                          "cc-by-nc-2.0",
                                          "cc-by-nc-3.0",
                                          "cc-by-nc-sa-3.0",
                                          "cc-by-3.0",
                                          "cc-by-2.0",
                                          "openrail",
                                          "openrail++",
                                          "bigscience-openrail-m",
                                          "creativeml-openrail-m",
                                          "bigscience-bloom-rail-1.0",
                                          "bigcode-openrail-m",
                                          "llama2",
                                          "llama3",
                                          "llama3.1",
                                          "llama3.2",
                                          "llama3.3",
                                          "llama4",
                                          "gemma",
                                          "deepseek",
                                          "wtfpl",
                                          "c-uda",
                                          "cdla-sharing-1.0",
                                          "cdla-permissive-1.0",
                                          "cdla-permissive-2.0",
                                          "pddl",
                                          "odbl",
                                          "lgpl-lr",
                                          "apple-ascl",
                                          "intel-research",
                                          "gfdl",
                                          "h-research",
                                          NULL};

static int in(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && !strncasecmp(*list, s, n))
            return 1;
    return 0;
}

/* Whether f holds for a license value: "apache-2.0", a Hub list "mit,
 * apache-2.0" (every id), or an SPDX expression "MIT OR Apache-2.0" (any
 * side of an OR; every term of an AND; "WITH exception" is skipped). */
static int each_id(const char *v, int (*f)(const char *, size_t))
{
    const char *p = v;
    int any = 0, all = 1, term = 0;

    while (*p) {
        size_t n;

        while (*p == ' ' || *p == ',' || *p == '(' || *p == ')')
            p++;
        if (!*p)
            break;
        n = strcspn(p, " ,()");
        if (n == 2 && !strncasecmp(p, "OR", 2)) { /* close a term */
            any |= term && all;
            all = 1, term = 0;
        } else if (n == 4 && !strncasecmp(p, "WITH", 4)) {
            p += n;
            while (*p == ' ')
                p++;
            n = strcspn(p, " ,()");
        } else if (!(n == 3 && !strncasecmp(p, "AND", 3))) {
            all &= f(p, n);
            term = 1;
        }
        p += n;
    }
    return any || (term && all);
}

static int is_osi(const char *s, size_t n)
{
    return in(osi, s, n);
}
static int is_open(const char *s, size_t n)
{
    return in(osi, s, n) || in(open_content, s, n);
}
static int is_known(const char *s, size_t n)
{
    return in(osi, s, n) || in(open_content, s, n) || in(known_other, s, n) ||
           (n == 5 && !strncasecmp(s, "other", 5));
}

/* ---- reading ------------------------------------------------------------ */

static const char *mstr(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static double mnum(const cJSON *o, const char *key, double def)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* A non-empty list (or string) at key. */
static const cJSON *mlist(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

    if ((cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) ||
        (cJSON_IsString(v) && v->valuestring[0]))
        return v;
    return NULL;
}

/* FNV-1a 64 over bytes. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;

    while (n--)
        h = (h ^ *c++) * 0x100000001b3ull;
    return h;
}

int hfe_cc_model_load(struct hfe_cc_model *m, const char *name,
                      const char *gguf, const char *card, const char *hub,
                      struct hfe_err *err)
{
    static const char *const tok_keys[] = {"tokenizer.ggml.model",
                                           "tokenizer.ggml.tokens",
                                           "tokenizer.ggml.token_type",
                                           "tokenizer.ggml.merges",
                                           "tokenizer.ggml.bos_token_id",
                                           "tokenizer.ggml.eos_token_id",
                                           "tokenizer.ggml.unknown_token_id",
                                           "tokenizer.ggml.padding_token_id",
                                           NULL};
    struct hfe_gguf *g = NULL;
    struct hfe_buf b = {0};
    uint64_t h = 0xcbf29ce484222325ull;
    int64_t i;
    int rc;

    memset(m, 0, sizeof(*m));
    m->name = name;
    m->meta = cJSON_CreateObject();
    if (gguf) {
        if ((rc = hfe_gguf_open(gguf, 1, &g, err)) != 0)
            return rc;
        m->n_params = g->n_params;
        snprintf(m->quant, sizeof(m->quant), "%s", g->quant);
        for (i = 0; i < g->n_kv; i++) {
            const char *k = hfe_gguf_key(g, i);
            cJSON *v;

            if (hfe_gguf_arr_n(g, i) > 256) { /* the vocabulary: its size */
                cJSON_AddNumberToObject(m->meta, k,
                                        (double)hfe_gguf_arr_n(g, i));
                continue;
            }
            b.len = 0;
            hfe_gguf_value_json(g, i, 0, &b);
            if ((v = cJSON_ParseWithLength(b.s, b.len)))
                cJSON_AddItemToObject(m->meta, k, v);
        }
        for (i = 0; tok_keys[i]; i++) {
            int64_t k = hfe_gguf_find(g, tok_keys[i]);

            b.len = 0;
            if (k >= 0)
                hfe_gguf_value_json(g, k, 0, &b);
            h = fnv(fnv(h, tok_keys[i], strlen(tok_keys[i]) + 1),
                    b.s ? b.s : "", b.len);
        }
        snprintf(m->tokenizer, sizeof(m->tokenizer), "%016llx",
                 (unsigned long long)h);
        hfe_gguf_close(g);
        hfe_buf_free(&b);
    }
    if (card && (rc = hfe_card_load(card, &m->card, err)) != 0)
        return rc;
    if (hub && (rc = hfe_hub_load(hub, &m->hub, err)) != 0)
        return rc;
    return 0;
}

void hfe_cc_model_free(struct hfe_cc_model *m)
{
    cJSON_Delete(m->meta);
    cJSON_Delete(m->card);
    cJSON_Delete(m->hub);
    memset(m, 0, sizeof(*m));
}

/* ---- checks ------------------------------------------------------------- */

/* The license a model claims: GGUF's, else the card's; *from names it. */
static const char *license_of1(const struct hfe_cc_model *m, const char **from);

/* "unknown" says nothing: as absent. */
static const char *license_of(const struct hfe_cc_model *m, const char **from)
{
    const char *v = license_of1(m, from);

    return v && strcasecmp(v, "unknown") ? v : NULL;
}

static const char *license_of1(const struct hfe_cc_model *m, const char **from)
{
    const char *v;

    if ((v = mstr(m->meta, "general.license"))) {
        *from = "general.license";
        return v;
    }
    if ((v = mstr(m->card, "license"))) {
        *from = "card license";
        return v;
    }
    if (m->hub &&
        (v = mstr(cJSON_GetObjectItem(m->hub, "cardData"), "license"))) {
        *from = "hub cardData.license";
        return v;
    }
    *from = NULL;
    return NULL;
}

/* "25M", "1.5B", "8x7B" as a parameter count; 0 when unreadable. */
static double size_label(const char *s)
{
    double x = 1, v;
    char *end;

    v = strtod(s, &end);
    if (end == s)
        return 0;
    if (*end == 'x' || *end == 'X') {
        x = v;
        s = end + 1;
        v = strtod(s, &end);
        if (end == s)
            return 0;
    }
    switch (toupper((unsigned char)*end)) {
    case 'K':
        v *= 1e3;
        break;
    case 'M':
        v *= 1e6;
        break;
    case 'B':
        v *= 1e9;
        break;
    case 'T':
        v *= 1e12;
        break;
    default:
        return 0;
    }
    return x * v;
}

static int quantized(const struct hfe_cc_model *m)
{
    static const char *const full[] = {"F32",     "F16",        "BF16",
                                       "ALL_F32", "MOSTLY_F16", NULL};
    const char *const *f;

    if (!m->quant[0])
        return 0;
    for (f = full; *f; f++)
        if (!strcasecmp(m->quant, *f))
            return 0;
    return 1;
}

/* What m says its base is: name, organization, repo URL (GGUF), or the
 * card's base_model; NULL when it says nothing. */
static const char *declared_base(const struct hfe_cc_model *m, char *buf,
                                 size_t n)
{
    const cJSON *c;
    const char *v;

    if (mnum(m->meta, "general.base_model.count", 0) >= 1) {
        const char *nm = mstr(m->meta, "general.base_model.0.name"),
                   *url = mstr(m->meta, "general.base_model.0.repo_url");

        snprintf(buf, n, "general.base_model.0 \"%s\"%s%s", nm ? nm : "unnamed",
                 url ? " at " : "", url ? url : "");
        return buf;
    }
    if ((c = mlist(m->card, "base_model"))) {
        v = cJSON_IsString(c) ? c->valuestring
            : cJSON_IsString(cJSON_GetArrayItem(c, 0))
                ? cJSON_GetArrayItem(c, 0)->valuestring
                : "?";
        snprintf(buf, n, "card base_model %s", v);
        return buf;
    }
    return NULL;
}

/* Does the declaration match the parent?  By name, repo URL or Hub id. */
static int matches_base(const struct hfe_cc_model *m,
                        const struct hfe_cc_model *b)
{
    const char *bn = mstr(b->meta, "general.name"),
               *bu = mstr(b->meta, "general.repo_url"),
               *bb = mstr(b->meta, "general.basename");
    const cJSON *c = mlist(m->card, "base_model");
    const char *hub = b->hub ? mstr(b->hub, "id") : NULL;
    int i, n = (int)mnum(m->meta, "general.base_model.count", 0);

    for (i = 0; i < n && i < 64; i++) { /* a merge names several */
        char kn[64], ku[64];
        const char *dn, *du;

        snprintf(kn, sizeof(kn), "general.base_model.%d.name", i);
        snprintf(ku, sizeof(ku), "general.base_model.%d.repo_url", i);
        dn = mstr(m->meta, kn);
        du = mstr(m->meta, ku);
        if ((dn && bn && !strcasecmp(dn, bn)) ||
            (du && bu && !strcmp(du, bu)) || (dn && bb && !strcasecmp(dn, bb)))
            return 1;
    }
    if (c && hub) {
        const cJSON *e;

        if (cJSON_IsString(c))
            return !strcmp(c->valuestring, hub);
        cJSON_ArrayForEach(e, c) if (cJSON_IsString(e) &&
                                     !strcmp(e->valuestring, hub)) return 1;
    }
    return 0;
}

/* The relation m states or its metadata implies, or NULL. */
static const char *relation(const struct hfe_cc_model *m)
{
    const char *v;

    if ((v = mstr(m->card, "base_model_relation")))
        return v;
    if ((v = mstr(m->meta, "general.type")) && !strcmp(v, "adapter"))
        return "adapter (general.type)";
    if (mstr(m->meta, "general.finetune"))
        return "finetune (general.finetune)";
    if (quantized(m) && (mstr(m->meta, "general.quantized_by") ||
                         mstr(m->meta, "quantize.imatrix.file")))
        return "quantized (a quantized file that says so)";
    return NULL;
}

static const char *arch_key(const struct hfe_cc_model *m, const char *what,
                            char *buf, size_t n)
{
    const char *a = mstr(m->meta, "general.architecture");

    snprintf(buf, n, "%s.%s", a ? a : "?", what);
    return buf;
}

/* What every check reads: the model, its lineage parent (NULL for a root)
 * and the license the model claims (NULL for none), with where it was
 * found. */
struct cc_in {
    const struct hfe_cc_model *m, *base;
    const char *lic, *lic_from;
};

/* Writes c's evidence; returns res, the check's result. */
static enum hfe_cc_result say(struct hfe_cc_check *c, enum hfe_cc_result res,
                              const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum hfe_cc_result say(struct hfe_cc_check *c, enum hfe_cc_result res,
                              const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->evidence, sizeof(c->evidence), fmt, ap);
    va_end(ap);
    return res;
}

/* The lineage checks of a model that has no parent. */
static enum hfe_cc_result root(struct hfe_cc_check *c)
{
    return say(c, HFE_CC_NA, "a root of the lineage");
}

/* ---- identity ----------------------------------------------------------- */

static enum hfe_cc_result identity_name(const struct cc_in *x,
                                        struct hfe_cc_check *c)
{
    const char *v = mstr(x->m->meta, "general.name");

    if (!v)
        return say(c, HFE_CC_FAIL, "no general.name");
    return say(c, HFE_CC_PASS, "general.name = \"%s\"", v);
}

static enum hfe_cc_result identity_architecture(const struct cc_in *x,
                                                struct hfe_cc_check *c)
{
    const char *v = mstr(x->m->meta, "general.architecture");

    if (!v)
        return say(c, HFE_CC_FAIL, "no general.architecture");
    return say(c, HFE_CC_PASS, "general.architecture = \"%s\"", v);
}

/* The label within a factor of 0.65 to 1.5 of the parameter count. */
static enum hfe_cc_result identity_size_label(const struct cc_in *x,
                                              struct hfe_cc_check *c)
{
    const char *v = mstr(x->m->meta, "general.size_label");
    unsigned long long n = x->m->n_params;
    double label;

    if (!v)
        return say(c, HFE_CC_FAIL, "no general.size_label");
    if (!n)
        return say(c, HFE_CC_NA,
                   "general.size_label = \"%s\", parameter count unknown", v);
    label = size_label(v);
    if (label > 0 && label / n > 0.65 && label / n < 1.5)
        return say(c, HFE_CC_PASS,
                   "general.size_label = \"%s\", %llu parameters", v, n);
    return say(c, HFE_CC_FAIL,
               "general.size_label = \"%s\", but %llu parameters", v, n);
}

/* ---- license ------------------------------------------------------------ */

static enum hfe_cc_result license_present(const struct cc_in *x,
                                          struct hfe_cc_check *c)
{
    if (!x->lic)
        return say(c, HFE_CC_FAIL, "no general.license%s",
                   x->m->card ? ", no card license" : "");
    return say(c, HFE_CC_PASS, "%s = \"%s\"", x->lic_from, x->lic);
}

/* "other" is known when a name and a link say which license it is. */
static enum hfe_cc_result license_other(const struct hfe_cc_model *m,
                                        struct hfe_cc_check *c)
{
    const cJSON *hc = m->hub ? cJSON_GetObjectItem(m->hub, "cardData") : NULL;
    const char *nm = mstr(m->meta, "general.license.name"),
               *ln = mstr(m->meta, "general.license.link");

    nm = nm ? nm : mstr(m->card, "license_name");
    ln = ln ? ln : mstr(m->card, "license_link");
    nm = nm ? nm : mstr(hc, "license_name");
    ln = ln ? ln : mstr(hc, "license_link");
    return say(c, nm && ln ? HFE_CC_PASS : HFE_CC_FAIL,
               "\"other\", name %s%s%s, link %s%s%s", nm ? "\"" : "",
               nm ? nm : "missing", nm ? "\"" : "", ln ? "\"" : "",
               ln ? ln : "missing", ln ? "\"" : "");
}

static enum hfe_cc_result license_known(const struct cc_in *x,
                                        struct hfe_cc_check *c)
{
    if (!x->lic)
        return say(c, HFE_CC_NA, "no license");
    if (!strcasecmp(x->lic, "other"))
        return license_other(x->m, c);
    if (each_id(x->lic, is_known))
        return say(c, HFE_CC_PASS, "\"%s\" is a known license id", x->lic);
    return say(c, HFE_CC_FAIL,
               "\"%s\" is not a known license id (nor \"other\" with a name "
               "and link)",
               x->lic);
}

static enum hfe_cc_result license_osi(const struct cc_in *x,
                                      struct hfe_cc_check *c)
{
    if (!x->lic)
        return say(c, HFE_CC_FAIL, "no license");
    if (each_id(x->lic, is_osi))
        return say(c, HFE_CC_PASS, "\"%s\" is OSI-approved", x->lic);
    return say(c, HFE_CC_FAIL, "\"%s\" is not an OSI-approved license", x->lic);
}

/* A derivative may restrict an open parent's license, not open up a
 * restrictive one. */
static enum hfe_cc_result license_compatible(const struct cc_in *x,
                                             struct hfe_cc_check *c)
{
    const char *v = x->lic, *bl, *bfrom;
    int open;

    if (!x->base)
        return say(c, HFE_CC_NA, "no lineage parent in the model list");
    if (!(bl = license_of(x->base, &bfrom)) || !v)
        return say(c, HFE_CC_NA, "%s has no license",
                   v ? x->base->name : x->m->name);
    if (!strcasecmp(v, bl) || each_id(bl, is_open))
        return say(c, HFE_CC_PASS, "\"%s\" under base %s's \"%s\"", v,
                   x->base->name, bl);
    open = each_id(v, is_open);
    return say(c, open ? HFE_CC_FAIL : HFE_CC_PASS,
               "\"%s\" %s base %s's restrictive \"%s\"", v,
               open ? "is more permissive than" : "keeps to", x->base->name,
               bl);
}

/* ---- lineage ------------------------------------------------------------ */

/* m names its parent, one the list agrees with, and how it derives. */
static enum hfe_cc_result lineage_declared(const struct cc_in *x,
                                           struct hfe_cc_check *c)
{
    const struct hfe_cc_model *m = x->m, *base = x->base;
    const char *rel, *d, *bn;
    char buf[256];

    if (!base)
        return root(c);
    rel = relation(m);
    if (!(d = declared_base(m, buf, sizeof(buf))))
        return say(c, HFE_CC_FAIL,
                   "no general.base_model.* nor card base_model, but the "
                   "list says base=%s",
                   base->name);
    if (!matches_base(m, base)) {
        bn = mstr(base->meta, "general.name");
        return say(c, HFE_CC_FAIL,
                   "declares %s, but the list's base %s is \"%s\"", d,
                   base->name, bn ? bn : "unnamed");
    }
    if (!rel)
        return say(c, HFE_CC_FAIL,
                   "declares %s, but not the relation (finetune, quantized, "
                   "adapter, merge)",
                   d);
    return say(c, HFE_CC_PASS, "declares %s, relation %s", d, rel);
}

/* The parent's architecture and tokenizer. */
static enum hfe_cc_result lineage_consistent(const struct cc_in *x,
                                             struct hfe_cc_check *c)
{
    const struct hfe_cc_model *m = x->m, *base = x->base;
    const char *ma, *ba;

    if (!base)
        return root(c);
    ma = mstr(m->meta, "general.architecture");
    ba = mstr(base->meta, "general.architecture");
    if (!ma || !ba || strcmp(ma, ba))
        return say(c, HFE_CC_FAIL, "architecture \"%s\", base %s's \"%s\"",
                   ma ? ma : "?", base->name, ba ? ba : "?");
    if (strcmp(m->tokenizer, base->tokenizer))
        return say(c, HFE_CC_FAIL,
                   "tokenizer %s differs from base %s's %s (tokens, types, "
                   "merges, special ids)",
                   m->tokenizer, base->name, base->tokenizer);
    return say(c, HFE_CC_PASS,
               "architecture \"%s\" and tokenizer %s as base %s's", ma,
               m->tokenizer, base->name);
}

static enum hfe_cc_result lineage_chat_template(const struct cc_in *x,
                                                struct hfe_cc_check *c)
{
    const char *mt, *bt;

    if (!x->base)
        return root(c);
    mt = mstr(x->m->meta, "tokenizer.chat_template");
    bt = mstr(x->base->meta, "tokenizer.chat_template");
    if (!mt && !bt)
        return say(c, HFE_CC_NA, "neither has a chat template");
    if (mt && bt && !strcmp(mt, bt))
        return say(c, HFE_CC_PASS, "the same as base %s's (%zu bytes)",
                   x->base->name, strlen(mt));
    return say(c, HFE_CC_FAIL, "differs from base %s's (%zu vs %zu bytes)",
               x->base->name, mt ? strlen(mt) : 0, bt ? strlen(bt) : 0);
}

/* No longer a window than the parent's. */
static enum hfe_cc_result lineage_context(const struct cc_in *x,
                                          struct hfe_cc_check *c)
{
    char k1[128], k2[128];
    double mc, bc;

    if (!x->base)
        return root(c);
    mc = mnum(x->m->meta, arch_key(x->m, "context_length", k1, sizeof(k1)), 0);
    bc = mnum(x->base->meta,
              arch_key(x->base, "context_length", k2, sizeof(k2)), 0);
    if (!mc || !bc)
        return say(c, HFE_CC_NA, "no context length on one side");
    return say(c, mc <= bc ? HFE_CC_PASS : HFE_CC_FAIL,
               "%s = %.0f, base %s's %.0f", k1, mc, x->base->name, bc);
}

/* ---- quantization, data, source ----------------------------------------- */

/* A quantized file says who quantized it, and from what. */
static enum hfe_cc_result quantization_attributed(const struct cc_in *x,
                                                  struct hfe_cc_check *c)
{
    const struct hfe_cc_model *m = x->m;
    const char *by, *src;
    char buf[256];

    if (!quantized(m))
        return say(c, HFE_CC_NA, "not quantized (%s)",
                   m->quant[0] ? m->quant : "type unknown");
    by = mstr(m->meta, "general.quantized_by");
    src = declared_base(m, buf, sizeof(buf));
    if (!src && mstr(m->meta, "quantize.imatrix.file"))
        src = "an imatrix file";
    return say(c, by && src ? HFE_CC_PASS : HFE_CC_FAIL,
               "%s: quantized_by %s%s%s, from %s", m->quant, by ? "\"" : "",
               by ? by : "missing", by ? "\"" : "",
               src ? src : "no declared source");
}

static enum hfe_cc_result data_disclosed(const struct cc_in *x,
                                         struct hfe_cc_check *c)
{
    const struct hfe_cc_model *m = x->m;
    const cJSON *hc = m->hub ? cJSON_GetObjectItem(m->hub, "cardData") : NULL;
    double n = mnum(m->meta, "general.dataset.count", 0);
    const char *first = mstr(m->meta, "general.dataset.0.name");

    if (n >= 1)
        return say(c, HFE_CC_PASS, "general.dataset.count = %.0f, first \"%s\"",
                   n, first ? first : "?");
    if (mlist(m->meta, "general.datasets"))
        return say(c, HFE_CC_PASS, "general.datasets");
    if (mlist(m->card, "datasets") || mlist(hc, "datasets"))
        return say(c, HFE_CC_PASS, "%s datasets",
                   mlist(m->card, "datasets") ? "card" : "hub");
    return say(c, HFE_CC_FAIL, "no general.dataset.*, general.datasets%s",
               m->card ? ", or card datasets" : "");
}

static enum hfe_cc_result source_declared(const struct cc_in *x,
                                          struct hfe_cc_check *c)
{
    static const char *const keys[] = {"general.repo_url",
                                       "general.source.url",
                                       "general.source.repo_url",
                                       "general.source.doi",
                                       "general.source.huggingface.repository",
                                       "general.url",
                                       "general.doi",
                                       NULL};
    const struct hfe_cc_model *m = x->m;
    const char *const *k;

    for (k = keys; *k && !mstr(m->meta, *k); k++)
        ;
    if (*k)
        return say(c, HFE_CC_PASS, "%s = \"%s\"", *k, mstr(m->meta, *k));
    if (m->hub && mstr(m->hub, "id"))
        return say(c, HFE_CC_PASS, "hub id \"%s\"", mstr(m->hub, "id"));
    return say(c, HFE_CC_FAIL,
               "no general.repo_url, general.source.*, url or doi");
}

/* ---- the table ---------------------------------------------------------- */

/* Profile bits: bit p is profile hfe_cc_profiles[p]. */
enum { P_PROVENANCE = 1 << 0, P_TRANSPARENCY = 1 << 1, P_OSAI = 1 << 2 };

/* A built-in check: its id, severity, profiles, and the function that
 * gives its result and writes its evidence. */
struct cc_check {
    const char *id;
    enum hfe_cc_sev sev;
    unsigned profiles;
    enum hfe_cc_result (*fn)(const struct cc_in *x, struct hfe_cc_check *c);
};

/* Every built-in check, in the order of the report. */
static const struct cc_check checks[] = {
    {"identity.name", HFE_CC_ERROR, P_PROVENANCE, identity_name},
    {"identity.architecture", HFE_CC_ERROR, P_PROVENANCE,
     identity_architecture},
    {"identity.size_label", HFE_CC_WARNING, P_PROVENANCE, identity_size_label},
    {"license.present", HFE_CC_ERROR, P_PROVENANCE, license_present},
    {"license.known", HFE_CC_WARNING, P_PROVENANCE, license_known},
    {"license.osi", HFE_CC_INFO, P_OSAI, license_osi},
    {"license.compatible", HFE_CC_ERROR, P_PROVENANCE, license_compatible},
    {"lineage.declared", HFE_CC_ERROR, P_PROVENANCE, lineage_declared},
    {"lineage.consistent", HFE_CC_ERROR, P_PROVENANCE, lineage_consistent},
    {"lineage.chat_template", HFE_CC_WARNING, P_PROVENANCE,
     lineage_chat_template},
    {"lineage.context", HFE_CC_WARNING, P_PROVENANCE, lineage_context},
    {"quantization.attributed", HFE_CC_WARNING, P_PROVENANCE,
     quantization_attributed},
    {"data.disclosed", HFE_CC_WARNING, P_TRANSPARENCY | P_OSAI, data_disclosed},
    {"source.declared", HFE_CC_WARNING, P_PROVENANCE | P_TRANSPARENCY | P_OSAI,
     source_declared},
};

#define N_CHECKS   (sizeof(checks) / sizeof(checks[0]))
#define N_PROFILES (sizeof(hfe_cc_profiles) / sizeof(hfe_cc_profiles[0]))

_Static_assert(N_CHECKS <= HFE_CC_MAX, "a report holds the built-in checks");

/* ---- the run ------------------------------------------------------------ */

/* Appends check k's result to r.  Returns 0, or HFE_EXIT_INTERNAL with
 * err when r is full (a bug: asserted in a Debug build). */
static int add(struct hfe_cc_report *r, const struct cc_check *k,
               const struct cc_in *x, struct hfe_err *err)
{
    struct hfe_cc_check *c;

    assert(r->n < HFE_CC_MAX);
    if (r->n >= HFE_CC_MAX) {
        hfe_err_set(err, "model '%s': check %s: the report is full (%d)",
                    x->m->name, k->id, HFE_CC_MAX);
        return HFE_EXIT_INTERNAL;
    }
    c = &r->v[r->n++];
    c->id = k->id;
    c->sev = k->sev;
    c->result = k->fn(x, c);
    return 0;
}

/* Passed over applicable, per profile.  r->v[i] is checks[i]'s. */
static void score_profiles(struct hfe_cc_report *r)
{
    size_t p, i;

    for (p = 0; p < N_PROFILES; p++) {
        r->prof[p].name = hfe_cc_profiles[p];
        for (i = 0; i < r->n; i++)
            if ((checks[i].profiles & 1u << p) && r->v[i].result != HFE_CC_NA) {
                r->prof[p].applicable++;
                r->prof[p].passed += r->v[i].result == HFE_CC_PASS;
            }
    }
}

/* Open source: every check of open-source-ai passes (an OSI license, the
 * data disclosed, the source declared).  Open weights: a license, and not
 * a non-commercial or no-derivatives one.  Else restricted. */
static enum hfe_cc_class classify(const struct cc_in *x,
                                  const struct hfe_cc_report *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if ((checks[i].profiles & P_OSAI) && r->v[i].result != HFE_CC_PASS)
            break;
    if (i == r->n)
        return HFE_CC_OPEN_SOURCE;
    if (x->lic && !strcasestr(x->lic, "-nc") && !strcasestr(x->lic, "-nd"))
        return HFE_CC_OPEN_WEIGHTS;
    return HFE_CC_RESTRICTED;
}

int hfe_cc_run(const struct hfe_cc_model *m, const struct hfe_cc_model *base,
               const struct hfe_cc_report *base_report, struct hfe_cc_report *r,
               struct hfe_err *err)
{
    struct cc_in x = {.m = m, .base = base};
    size_t i;
    int rc;

    memset(r, 0, sizeof(*r));
    /* a parent's report is run before its children's */
    assert(!base_report || base_report->n > 0);
    if (base_report && !base_report->n) {
        hfe_err_set(err, "model '%s': its base's report was not run", m->name);
        return HFE_EXIT_INTERNAL;
    }
    x.lic = license_of(m, &x.lic_from);
    for (i = 0; i < N_CHECKS; i++)
        if ((rc = add(r, &checks[i], &x, err)) != 0)
            return rc;
    score_profiles(r);
    r->class_ = classify(&x, r);
    if (base_report && base_report->class_ < r->class_) /* never above */
        r->class_ = base_report->class_;
    return 0;
}

int hfe_cc_in_profile(const char *id, int p)
{
    size_t i;

    if (p < 0 || (size_t)p >= N_PROFILES)
        return 0;
    for (i = 0; i < N_CHECKS; i++)
        if (!strcmp(checks[i].id, id))
            return !!(checks[i].profiles & 1u << p);
    return 0;
}

/* ---- output ------------------------------------------------------------- */

void hfe_cc_text(const struct hfe_cc_model *m, const char *base,
                 const struct hfe_cc_report *r, int p, struct hfe_buf *b)
{
    size_t i;

    hfe_buf_printf(b, "%s%s%s%s: %s\n", m->name, base ? " (base " : "",
                   base ? base : "", base ? ")" : "",
                   hfe_cc_class_names[r->class_]);
    for (i = 0; i < 3; i++)
        if (p < 0 || (int)i == p)
            hfe_buf_printf(b, "  %-15s %u/%u\n", r->prof[i].name,
                           r->prof[i].passed, r->prof[i].applicable);
    for (i = 0; i < r->n; i++)
        if (p < 0 || hfe_cc_in_profile(r->v[i].id, p))
            hfe_buf_printf(b, "  %-4s %-7s %-24s %s\n",
                           r->v[i].result == HFE_CC_PASS   ? "PASS"
                           : r->v[i].result == HFE_CC_FAIL ? "FAIL"
                                                           : "n/a",
                           hfe_cc_sev_names[r->v[i].sev], r->v[i].id,
                           r->v[i].evidence);
}

void hfe_cc_json(const struct hfe_cc_model *m, const char *base,
                 const struct hfe_cc_report *r, struct hfe_buf *b)
{
    size_t i;

    hfe_buf_puts(b, "{\"model\":");
    hfe_json_str(b, m->name, strlen(m->name));
    hfe_buf_puts(b, ",\"base\":");
    if (base)
        hfe_json_str(b, base, strlen(base));
    else
        hfe_buf_puts(b, "null");
    hfe_buf_printf(b, ",\"class\":\"%s\",\"profiles\":{",
                   hfe_cc_class_names[r->class_]);
    for (i = 0; i < 3; i++)
        hfe_buf_printf(b, "%s\"%s\":{\"passed\":%u,\"applicable\":%u}",
                       i ? "," : "", r->prof[i].name, r->prof[i].passed,
                       r->prof[i].applicable);
    hfe_buf_puts(b, "},\"checks\":[");
    for (i = 0; i < r->n; i++) {
        hfe_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        hfe_json_str(b, r->v[i].id, strlen(r->v[i].id));
        hfe_buf_printf(
            b, ",\"severity\":\"%s\",\"result\":\"%s\",\"evidence\":",
            hfe_cc_sev_names[r->v[i].sev], hfe_cc_result_names[r->v[i].result]);
        hfe_json_str(b, r->v[i].evidence, strlen(r->v[i].evidence));
        hfe_buf_puts(b, "}");
    }
    hfe_buf_puts(b, "]}");
}
