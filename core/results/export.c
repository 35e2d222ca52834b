/*
 * export.c - a run record as the Hub's .eval_results, a card's
 * model-index and Every Eval Ever JSON.  See export.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "compare.h"
#include "sha256.h"
#include "export.h"
#include "json.h"
#include "json_get.h"
#include "report_int.h"

#define EEE_SCHEMA "0.3.0"

/* What every file of a model is written from. */
/* An item of items.jsonl, by its suite, task and document. */
struct item {
    char *key; /* "suite\ttask\tdoc_id" */
    const cJSON *o;
};

struct ex {
    const struct hfe_export_opts *o;
    cJSON *run;
    const char *run_id, *started, *version;
    struct hfe_buf said; /* the tasks left out, said once each */
    /* --instances: the run's samples and items, sorted by key */
    char *dir;
    cJSON *samples, *items_doc;
    struct item *items;
    size_t n_items;
};

/* The model's result of metric in suite/task, or NULL. */
static const cJSON *result_of(const struct ex *x, const char *model,
                              const char *suite, const char *task,
                              const char *metric)
{
    const cJSON *r;

    cJSON_ArrayForEach(r, cJSON_GetObjectItem(x->run, "results"))
    {
        const char *m = hfe_json_get_str(r, "model"),
                   *s = hfe_json_get_str(r, "suite"),
                   *t = hfe_json_get_str(r, "task"),
                   *k = hfe_json_get_str(r, "metric");

        if (m && s && t && k && !strcmp(m, model) && !strcmp(s, suite) &&
            !strcmp(t, task) && !strcmp(k, metric) &&
            cJSON_IsNumber(cJSON_GetObjectItem(r, "value")))
            return r;
    }
    return NULL;
}

/* Says once a task, on stderr, why it is left out. */
static void left_out(struct ex *x, const char *suite, const char *task,
                     const char *why)
{
    char *key = hfe_xasprintf("\n%s/%s\n", suite, task);

    if (!x->said.s || !strstr(x->said.s, key)) {
        hfe_buf_puts(&x->said, key);
        fprintf(stderr, "hfeval: export: task '%s/%s' left out: %s\n", suite,
                task, why);
    }
    free(key);
}

/* "name" as YAML: a double-quoted scalar, escaped as JSON escapes. */
static void yq(struct hfe_buf *b, const char *s)
{
    hfe_json_strz(b, s);
}

static void yline(struct hfe_buf *b, const char *indent, const char *key,
                  const char *v)
{
    if (!v)
        return;
    hfe_buf_printf(b, "%s%s: ", indent, key);
    yq(b, v);
    hfe_buf_puts(b, "\n");
}

/* What the formats have no field for, in a sentence. */
static void notes(struct ex *x, const cJSON *m, const cJSON *su, const cJSON *t,
                  struct hfe_buf *b)
{
    const cJSON *info = cJSON_GetObjectItem(m, "info"),
                *be = cJSON_GetObjectItem(m, "backend"),
                *file = cJSON_GetObjectItem(m, "file"),
                *shots = cJSON_GetObjectItem(t, "shots");
    const char *q = hfe_json_get_str(info, "quantization"),
               *base = hfe_json_get_str(m, "base"),
               *fs = hfe_json_get_str(file, "sha256"),
               *ss =
                   hfe_json_get_str(cJSON_GetObjectItem(su, "file"), "sha256");

    if (cJSON_IsNumber(shots))
        hfe_buf_printf(b, "%d-shot; ", shots->valueint);
    hfe_buf_printf(b, "%.0f documents; ", hfe_json_get_num(t, "documents"));
    if (q)
        hfe_buf_printf(b, "quantization %s; ", q);
    hfe_buf_printf(b, "base model %s; ", base ? base : "none (a root)");
    hfe_buf_printf(
        b, "hfeval %s, backend %s %s; suite %s version %s", x->version,
        hfe_json_get_str(be, "name") ? hfe_json_get_str(be, "name") : "?",
        hfe_json_get_str(be, "version") ? hfe_json_get_str(be, "version") : "?",
        hfe_json_get_str(su, "name"),
        hfe_json_get_str(su, "version") ? hfe_json_get_str(su, "version")
                                        : "?");
    if (ss)
        hfe_buf_printf(b, " (sha256 %.16s)", ss);
    if (fs)
        hfe_buf_printf(b, "; model file sha256 %s", fs);
    hfe_buf_printf(b, "; run %s", x->run_id);
}

/* name as one path component: [A-Za-z0-9._-], never "." or "..". */
static char *safe_name(const char *name)
{
    char *s = hfe_xasprintf("%s%s", name && *name == '.' ? "_" : "",
                            name && *name ? name : "_"),
         *p;

    for (p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._-",
                    *p))
            *p = '_';
    return s;
}

/* Writes text to DIR/MODEL/NAME, making the folders. */
static int write_out(const struct ex *x, const char *model, const char *name,
                     const struct hfe_buf *text, struct hfe_err *err)
{
    char *dir = safe_name(model),
         *path = hfe_xasprintf("%s/%s/%s", x->o->out, dir, name),
         *slash = strrchr(path, '/');
    int rc = 0;

    free(dir);
    *slash = '\0';
    if (hfe_mkdirs(path) != 0) {
        hfe_err_set(err, "%s: cannot create it: %s", path, strerror(errno));
        rc = HFE_EXIT_IO;
    }
    *slash = '/';
    if (!rc && hfe_write_file(path, text->s ? text->s : "", text->len) != 0) {
        hfe_err_set(err, "%s: cannot write it: %s", path, strerror(errno));
        rc = HFE_EXIT_IO;
    }
    if (!rc)
        fprintf(stderr, "hfeval: export: %s\n", path);
    free(path);
    return rc;
}

/* The hub mapping's metric for task t, and its result for model m. */
static const cJSON *hub_value(struct ex *x, const cJSON *m, const cJSON *su,
                              const cJSON *t, const char **metric)
{
    const cJSON *hub = cJSON_GetObjectItem(t, "hub"), *r;
    const char *suite = hfe_json_get_str(su, "name"),
               *task = hfe_json_get_str(t, "name");

    *metric = hfe_json_get_str(hub, "metric");
    if (!*metric)
        *metric = hfe_json_get_str(t, "primary");
    if (!*metric) {
        left_out(x, suite, task,
                 "its hub mapping names no metric and the task no primary");
        return NULL;
    }
    if (!(r = result_of(x, hfe_json_get_str(m, "name"), suite, task, *metric)))
        left_out(x, suite, task, "the run has no value of its hub metric");
    return r;
}

/* ---- the Hub's .eval_results ------------------------------------------- */

static int export_hf(struct ex *x, const cJSON *m, struct hfe_err *err)
{
    const cJSON *su, *t;
    struct hfe_buf b = {0};
    size_t n = 0;
    int rc = 0;

    hfe_buf_puts(&b, "# hfeval export --format hf: this model's results on "
                     "the Hub's benchmarks\n");
    cJSON_ArrayForEach(su, cJSON_GetObjectItem(x->run, "suites"))
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(su, "tasks"))
    {
        const cJSON *hub = cJSON_GetObjectItem(t, "hub"), *r;
        const char *metric;
        struct hfe_buf nb = {0};

        if (!hub) {
            left_out(x, hfe_json_get_str(su, "name"),
                     hfe_json_get_str(t, "name"),
                     "its suite maps it to no Hub benchmark (hub = {dataset "
                     "= \"owner/name\", task_id = ...})");
            continue;
        }
        if (!(r = hub_value(x, m, su, t, &metric)))
            continue;
        hfe_buf_puts(&b, "- dataset:\n");
        yline(&b, "    ", "id", hfe_json_get_str(hub, "dataset"));
        yline(&b, "    ", "task_id",
              hfe_json_get_str(hub, "task_id")
                  ? hfe_json_get_str(hub, "task_id")
                  : "default");
        yline(&b, "    ", "config", hfe_json_get_str(hub, "config"));
        yline(&b, "    ", "split", hfe_json_get_str(hub, "split"));
        yline(&b, "    ", "revision", hfe_json_get_str(hub, "revision"));
        hfe_buf_printf(&b, "  value: %.10g\n", hfe_json_get_num(r, "value"));
        yline(&b, "  ", "date", x->started);
        if (x->o->source_url) {
            hfe_buf_puts(&b, "  source:\n");
            yline(&b, "    ", "url", x->o->source_url);
            yline(&b, "    ", "name", x->o->source_name);
        }
        yline(&b, "  ", "evaluation_framework", "hfeval");
        hfe_buf_printf(&nb, "%s; ", metric);
        notes(x, m, su, t, &nb);
        yline(&b, "  ", "notes", nb.s);
        hfe_buf_free(&nb);
        n++;
    }
    if (n)
        rc = write_out(x, hfe_json_get_str(m, "name"),
                       ".eval_results/hfeval.yaml", &b, err);
    hfe_buf_free(&b);
    return rc;
}

/* ---- the card's model-index --------------------------------------------- */

/* A metric the card shows: not a generation's truncated or looped share
 * (those say how it went, not how good it is). */
static int shown(const char *metric)
{
    return metric && strcmp(metric, "truncated") && strcmp(metric, "looped");
}

static const char *task_type(const cJSON *t)
{
    const char *k = hfe_json_get_str(t, "kind");

    return k && !strcmp(k, "choice") ? "multiple-choice" : "text-generation";
}

static int export_model_index(struct ex *x, const cJSON *m, struct hfe_err *err)
{
    const cJSON *su, *t, *r;
    const char *model = hfe_json_get_str(m, "name");
    struct hfe_buf b = {0};
    size_t n = 0;
    int rc = 0;

    hfe_buf_puts(&b, "model-index:\n- name: ");
    yq(&b, model);
    hfe_buf_puts(&b, "\n  results:\n");
    cJSON_ArrayForEach(su, cJSON_GetObjectItem(x->run, "suites"))
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(su, "tasks"))
    {
        const cJSON *hub = cJSON_GetObjectItem(t, "hub");
        const char *suite = hfe_json_get_str(su, "name"),
                   *task = hfe_json_get_str(t, "name"), *metric;
        size_t k = 0;

        if (!hub) {
            left_out(x, suite, task,
                     "its suite maps it to no Hub benchmark (hub = {dataset "
                     "= \"owner/name\", task_id = ...})");
            continue;
        }
        if (!hub_value(x, m, su, t, &metric))
            continue;
        hfe_buf_puts(&b, "  - task:\n");
        yline(&b, "      ", "type", task_type(t));
        hfe_buf_puts(&b, "    dataset:\n");
        yline(&b, "      ", "type", hfe_json_get_str(hub, "dataset"));
        yline(&b, "      ", "name",
              hfe_json_get_str(hub, "name") ? hfe_json_get_str(hub, "name")
                                            : task);
        yline(&b, "      ", "config", hfe_json_get_str(hub, "config"));
        yline(&b, "      ", "split", hfe_json_get_str(hub, "split"));
        yline(&b, "      ", "revision", hfe_json_get_str(hub, "revision"));
        if (cJSON_IsNumber(cJSON_GetObjectItem(t, "shots")))
            hfe_buf_printf(&b, "      args:\n        num_few_shot: %d\n",
                           cJSON_GetObjectItem(t, "shots")->valueint);
        hfe_buf_puts(&b, "    metrics:\n");
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(x->run, "results"))
        {
            const char *rm = hfe_json_get_str(r, "model"),
                       *rs = hfe_json_get_str(r, "suite"),
                       *rt = hfe_json_get_str(r, "task");

            if (!rm || !rs || !rt || strcmp(rm, model) || strcmp(rs, suite) ||
                strcmp(rt, task) ||
                !cJSON_IsNumber(cJSON_GetObjectItem(r, "value")) ||
                !shown(hfe_json_get_str(r, "metric")))
                continue;
            hfe_buf_puts(&b, "    - type: ");
            yq(&b, hfe_json_get_str(r, "metric"));
            hfe_buf_printf(&b, "\n      value: %.10g\n",
                           hfe_json_get_num(r, "value"));
            yline(&b, "      ", "name", hfe_json_get_str(r, "metric"));
            k++;
        }
        if (x->o->source_url) {
            hfe_buf_puts(&b, "    source:\n");
            yline(&b, "      ", "url", x->o->source_url);
            yline(&b, "      ", "name",
                  x->o->source_name ? x->o->source_name : "hfeval");
        }
        n += k > 0;
    }
    if (n)
        rc = write_out(x, model, "model-index.yaml", &b, err);
    hfe_buf_free(&b);
    return rc;
}

/* ---- Every Eval Ever ---------------------------------------------------- */

/* A string-valued entry of an additional_details object. */
static void detail(struct hfe_buf *b, int *first, const char *k, const char *v)
{
    if (!v)
        return;
    hfe_buf_puts(b, *first ? "" : ",");
    *first = 0;
    hfe_json_strz(b, k);
    hfe_buf_puts(b, ":");
    hfe_json_strz(b, v);
}

/* The metric's bounds and direction, as EEE's metric_config wants. */
static void metric_config(struct hfe_buf *b, const char *metric)
{
    int lower = hfe_cmp_lower_better(metric),
        share = hfe_rep_proportion(metric);

    hfe_buf_puts(b, "\"metric_config\":{\"metric_id\":");
    hfe_json_strz(b, metric);
    hfe_buf_puts(b, ",\"metric_name\":");
    hfe_json_strz(b, metric);
    if (share)
        hfe_buf_puts(b, ",\"metric_unit\":\"proportion\"");
    hfe_buf_printf(b, ",\"lower_is_better\":%s,\"score_type\":\"continuous\",",
                   lower ? "true" : "false");
    if (share)
        hfe_buf_puts(b, "\"min_score\":0,\"max_score\":1}");
    else if (!strncmp(metric, "delta_p", 7))
        hfe_buf_puts(b, "\"min_score\":-1,\"max_score\":1}");
    else
        hfe_buf_puts(b, "\"min_score\":0,\"max_score\":\"Infinity\"}");
}

/* One result row as an evaluation_results entry. */
static void eee_result(struct hfe_buf *b, const cJSON *r, const cJSON *hub,
                       const char *suite, const char *task, size_t k)
{
    double v = hfe_json_get_num(r, "value"), se = hfe_json_get_num(r, "stderr"),
           n = hfe_json_get_num(r, "n");
    const char *metric = hfe_json_get_str(r, "metric");

    hfe_buf_printf(b, "%s{\"evaluation_result_id\":", k ? "," : "");
    {
        char *id = hfe_xasprintf("%s/%s/%s", suite, task, metric);

        hfe_json_strz(b, id);
        free(id);
    }
    hfe_buf_puts(b, ",\"evaluation_name\":");
    hfe_json_strz(b, task);
    if (hub) {
        hfe_buf_puts(b, ",\"source_data\":{\"source_type\":\"hf_dataset\","
                        "\"dataset_name\":");
        hfe_json_strz(b, hfe_json_get_str(hub, "name")
                             ? hfe_json_get_str(hub, "name")
                             : hfe_json_get_str(hub, "dataset"));
        hfe_buf_puts(b, ",\"hf_repo\":");
        hfe_json_strz(b, hfe_json_get_str(hub, "dataset"));
        if (hfe_json_get_str(hub, "split")) {
            hfe_buf_puts(b, ",\"hf_split\":");
            hfe_json_strz(b, hfe_json_get_str(hub, "split"));
        }
        if (isfinite(n))
            hfe_buf_printf(b, ",\"samples_number\":%.0f", n);
    } else { /* the suite's own data */
        hfe_buf_puts(b, ",\"source_data\":{\"source_type\":\"other\","
                        "\"dataset_name\":");
        hfe_json_strz(b, suite);
    }
    hfe_buf_puts(b, "},");
    metric_config(b, metric);
    hfe_buf_printf(b, ",\"score_details\":{\"score\":%.17g", v);
    if (isfinite(se) || isfinite(n)) {
        hfe_buf_puts(b, ",\"uncertainty\":{");
        if (isfinite(se))
            hfe_buf_printf(b,
                           "\"standard_error\":{\"value\":%.17g,\"method\":"
                           "\"analytic\"},\"confidence_interval\":{\"lower\":"
                           "%.17g,\"upper\":%.17g,\"confidence_level\":0.95,"
                           "\"method\":\"normal: value +- 1.96 standard "
                           "errors\"}%s",
                           se, v - 1.96 * se, v + 1.96 * se,
                           isfinite(n) ? "," : "");
        if (isfinite(n))
            hfe_buf_printf(b, "\"num_samples\":%.0f", n);
        hfe_buf_puts(b, "}");
    }
    hfe_buf_puts(b, "}}");
}

/* The model as EEE's model_info: its list name (a local file has no Hub
 * id hfeval could know), the engine, and in additional_details the
 * lineage, quantization and file digest. */
static void eee_model(struct hfe_buf *b, const cJSON *m)
{
    const cJSON *info = cJSON_GetObjectItem(m, "info"),
                *be = cJSON_GetObjectItem(m, "backend"),
                *cc = cJSON_GetObjectItem(m, "compliance");
    const char *klass = hfe_json_get_str(cc, "class"),
               *uri = hfe_json_get_str(m, "uri");
    int first = 0;

    hfe_buf_puts(b, "\"model_info\":{\"name\":");
    hfe_json_strz(b, hfe_json_get_str(m, "name"));
    hfe_buf_puts(b, ",\"id\":");
    hfe_json_strz(b, hfe_json_get_str(m, "name"));
    hfe_buf_puts(b, ",\"inference_platform\":\"local\","
                    "\"inference_engine\":{\"name\":");
    hfe_json_strz(b, hfe_json_get_str(be, "name"));
    hfe_buf_puts(b, ",\"version\":");
    hfe_json_strz(b, hfe_json_get_str(be, "version"));
    hfe_buf_printf(
        b,
        "},\"additional_details\":{\"deployment_type\":"
        "\"%s\",\"model_availability\":\"%s\"",
        uri && strstr(uri, "://") ? "externally_managed" : "self_deployed",
        klass && strcmp(klass, "restricted") ? "open_weights" : "unknown");
    detail(b, &first, "base_model", hfe_json_get_str(m, "base"));
    detail(b, &first, "quantization", hfe_json_get_str(info, "quantization"));
    detail(b, &first, "architecture", hfe_json_get_str(info, "architecture"));
    detail(b, &first, "license", hfe_json_get_str(cc, "license"));
    detail(b, &first, "license_class", klass);
    detail(b, &first, "model_file_sha256",
           hfe_json_get_str(cJSON_GetObjectItem(m, "file"), "sha256"));
    hfe_buf_puts(b, "}}");
}

/* ---- Every Eval Ever's instance-level records --------------------------- */

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct item *)a)->key, ((const struct item *)b)->key);
}

static char *item_key(const char *suite, const char *task, double doc)
{
    return hfe_xasprintf("%s\t%s\t%.0f", suite ? suite : "", task ? task : "",
                         doc);
}

/* A JSONL file as a cJSON array; NULL with err set when a line is not
 * JSON. */
static cJSON *read_lines(const char *path, struct hfe_err *err)
{
    char *text = NULL, *p, *nl;
    size_t len = 0, line = 0;
    cJSON *all;

    if (hfe_read_file(path, &text, &len, err) != 0)
        return NULL;
    all = cJSON_CreateArray();
    for (p = text; p < text + len; p = nl + 1) {
        cJSON *o;

        line++;
        if (!(nl = memchr(p, '\n', (size_t)(text + len - p))))
            nl = text + len;
        if (nl == p)
            continue;
        if (!(o = cJSON_ParseWithLength(p, (size_t)(nl - p)))) {
            hfe_err_set(err, "%s:%zu: not a JSON record", path, line);
            cJSON_Delete(all);
            free(text);
            return NULL;
        }
        cJSON_AddItemToArray(all, o);
    }
    free(text);
    return all;
}

/* samples.jsonl and items.jsonl of the run, the items by key. */
static int load_records(struct ex *x, struct hfe_err *err)
{
    char *sp = hfe_xasprintf("%s/samples.jsonl", x->dir),
         *ip = hfe_xasprintf("%s/items.jsonl", x->dir);
    const cJSON *it;
    int rc = 0;

    if (!(x->samples = read_lines(sp, err)) ||
        !(x->items_doc = read_lines(ip, err)))
        rc = HFE_EXIT_DATA;
    x->items = hfe_xcalloc((size_t)cJSON_GetArraySize(x->items_doc) + 1,
                           sizeof(*x->items));
    cJSON_ArrayForEach(it, x->items_doc)
    {
        x->items[x->n_items].key = item_key(hfe_json_get_str(it, "suite"),
                                            hfe_json_get_str(it, "task"),
                                            hfe_json_get_num(it, "doc_id"));
        x->items[x->n_items++].o = it;
    }
    qsort(x->items, x->n_items, sizeof(*x->items), by_key);
    free(sp);
    free(ip);
    return rc;
}

/* A UUID (version 4's layout) drawn from the digest of s: the same
 * evaluation always gets the same name. */
static void uuid_of(const char *s, char out[37])
{
    struct hfe_sha256 c;
    char h[65];

    hfe_sha256_init(&c);
    hfe_sha256_add(&c, s, strlen(s));
    hfe_sha256_hex(&c, h);
    h[12] = '4';
    h[16] = "89ab"[h[16] % 4];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16,
             h + 20);
}

/* One sample record as an instance line. */
static void instance(struct hfe_buf *b, const char *eval_id, const char *model,
                     const char *task, const char *result_id, const cJSON *s,
                     const cJSON *item, const char *metric)
{
    const cJSON *ch = cJSON_GetObjectItem(item, "choices"),
                *outs = cJSON_GetObjectItem(s, "outputs"),
                *ex = cJSON_GetObjectItem(s, "extracted"),
                *mets = cJSON_GetObjectItem(s, "metrics"), *mv;
    const char *prompt = hfe_json_get_str(item, "prompt"),
               *target = hfe_json_get_str(s, "target"),
               *output = hfe_json_get_str(s, "output"),
               *id = hfe_json_get_str(s, "item_id"), *picked = NULL,
               *ref = NULL;
    double gold = hfe_json_get_num(s, "gold"),
           pick = hfe_json_get_num(s, "pick"), score;
    struct hfe_sha256 c;
    char hash[65];

    if (cJSON_IsArray(ch)) {
        if (isfinite(gold))
            ref = cJSON_GetStringValue(cJSON_GetArrayItem(ch, (int)gold));
        if (isfinite(pick))
            picked = cJSON_GetStringValue(cJSON_GetArrayItem(ch, (int)pick));
    } else {
        ref = target;
    }
    mv = cJSON_GetObjectItem(mets, metric);
    if (!cJSON_IsNumber(mv)) /* the first metric the record has */
        mv = mets ? mets->child : NULL;
    score = cJSON_IsNumber(mv) ? mv->valuedouble : 0;
    hfe_sha256_init(&c);
    hfe_sha256_add(&c, prompt ? prompt : "", strlen(prompt ? prompt : ""));
    hfe_sha256_add(&c, ref ? ref : "", strlen(ref ? ref : ""));
    hfe_sha256_hex(&c, hash);
    hfe_buf_puts(b,
                 "{\"schema_version\":\"" EEE_SCHEMA "\",\"evaluation_id\":");
    hfe_json_strz(b, eval_id);
    hfe_buf_puts(b, ",\"model_id\":");
    hfe_json_strz(b, model);
    hfe_buf_puts(b, ",\"evaluation_name\":");
    hfe_json_strz(b, task);
    hfe_buf_puts(b, ",\"evaluation_result_id\":");
    hfe_json_strz(b, result_id);
    hfe_buf_puts(b, ",\"sample_id\":");
    if (id)
        hfe_json_strz(b, id);
    else
        hfe_buf_printf(b, "\"%.0f\"", hfe_json_get_num(s, "doc_id"));
    hfe_buf_printf(b,
                   ",\"sample_hash\":\"%s\",\"interaction_type\":"
                   "\"single_turn\",\"input\":{\"raw\":",
                   hash);
    hfe_json_strz(b, prompt ? prompt : "");
    hfe_buf_puts(b, ",\"reference\":[");
    if (ref)
        hfe_json_strz(b, ref);
    hfe_buf_puts(b, "]");
    if (cJSON_IsArray(ch)) {
        char *t = cJSON_PrintUnformatted(ch);

        hfe_buf_printf(b, ",\"choices\":%s", t);
        free(t);
    }
    hfe_buf_puts(b, "},\"output\":{\"raw\":");
    if (cJSON_IsArray(outs)) {
        char *t = cJSON_PrintUnformatted(outs);

        hfe_buf_puts(b, t);
        free(t);
    } else {
        hfe_buf_puts(b, "[");
        hfe_json_strz(b, picked ? picked : output ? output : "");
        hfe_buf_puts(b, "]");
    }
    hfe_buf_puts(b, "},\"answer_attribution\":[{\"turn_idx\":0,\"source\":"
                    "\"output.raw\",\"extracted_value\":");
    hfe_json_strz(b, picked ? picked
                     : cJSON_GetStringValue(cJSON_GetArrayItem(ex, 0))
                         ? cJSON_GetStringValue(cJSON_GetArrayItem(ex, 0))
                     : output ? output
                              : "");
    hfe_buf_printf(b,
                   ",\"extraction_method\":\"%s\",\"is_terminal\":true}],"
                   "\"evaluation\":{\"score\":%.17g,\"is_correct\":%s}",
                   picked ? "largest summed log-likelihood"
                   : ex   ? "regex"
                          : "the whole output",
                   score, score >= 1 ? "true" : "false");
    if (isfinite(hfe_json_get_num(s, "prompt_tokens")) &&
        isfinite(hfe_json_get_num(s, "tokens")))
        hfe_buf_printf(b,
                       ",\"token_usage\":{\"input_tokens\":%.0f,"
                       "\"output_tokens\":%.0f,\"total_tokens\":%.0f}",
                       hfe_json_get_num(s, "prompt_tokens"),
                       hfe_json_get_num(s, "tokens"),
                       hfe_json_get_num(s, "prompt_tokens") +
                           hfe_json_get_num(s, "tokens"));
    if (isfinite(hfe_json_get_num(s, "latency_ms")))
        hfe_buf_printf(b, ",\"performance\":{\"latency_ms\":%.17g}",
                       hfe_json_get_num(s, "latency_ms"));
    hfe_buf_puts(b, "}\n");
}

/* --instances: the task's samples as EEE's instance-level JSONL beside
 * the aggregate file, which gets detailed_evaluation_results. */
static int eee_instances(struct ex *x, const cJSON *m, const cJSON *su,
                         const cJSON *t, const char *ss, const char *st,
                         struct hfe_buf *agg, struct hfe_err *err)
{
    const char *model = hfe_json_get_str(m, "name"),
               *suite = hfe_json_get_str(su, "name"),
               *task = hfe_json_get_str(t, "name"),
               *kind = hfe_json_get_str(t, "kind"),
               *metric = hfe_json_get_str(t, "primary");
    char *eval_id = hfe_xasprintf("%s/%s/%s/%s", suite, task, model, x->run_id),
         *rid, *sm = safe_name(model), *file, uuid[37], sum[65];
    struct hfe_buf b = {0};
    struct hfe_sha256 c;
    const cJSON *s;
    size_t n = 0;
    int rc = 0;

    if (!kind || (strcmp(kind, "choice") && strcmp(kind, "generate")))
        goto out; /* items are choices and generations */
    if (!x->samples && (rc = load_records(x, err)) != 0)
        goto out;
    rid = hfe_xasprintf("%s/%s/%s", suite, task, metric ? metric : "");
    cJSON_ArrayForEach(s, x->samples)
    {
        const char *sm2 = hfe_json_get_str(s, "model"),
                   *ss2 = hfe_json_get_str(s, "suite"),
                   *st2 = hfe_json_get_str(s, "task");
        struct item k, *it;

        if (!sm2 || !ss2 || !st2 || strcmp(sm2, model) || strcmp(ss2, suite) ||
            strcmp(st2, task))
            continue;
        k.key = item_key(suite, task, hfe_json_get_num(s, "doc_id"));
        it = bsearch(&k, x->items, x->n_items, sizeof(*x->items), by_key);
        free(k.key);
        instance(&b, eval_id, model, task, rid, s, it ? it->o : NULL, metric);
        n++;
    }
    free(rid);
    uuid_of(eval_id, uuid);
    file = hfe_xasprintf("eee/data/%s.%s/unknown/%s/%s_samples.jsonl", ss, st,
                         sm, uuid);
    if (n && (rc = write_out(x, model, file, &b, err)) == 0) {
        hfe_sha256_init(&c);
        hfe_sha256_add(&c, b.s, b.len);
        hfe_sha256_hex(&c, sum);
        hfe_buf_puts(agg, ",\"detailed_evaluation_results\":{\"format\":"
                          "\"jsonl\",\"file_path\":");
        hfe_json_strz(agg, file + 4);
        hfe_buf_printf(agg,
                       ",\"hash_algorithm\":\"sha256\",\"checksum\":\"%s\","
                       "\"total_rows\":%zu}",
                       sum, n);
    }
    free(file);
out:
    hfe_buf_free(&b);
    free(sm);
    free(eval_id);
    return rc;
}

/* DIR/MODEL/eee/SUITE.TASK.json: every metric of the task. */
static int eee_task(struct ex *x, const cJSON *m, const cJSON *su,
                    const cJSON *t, struct hfe_err *err)
{
    const char *model = hfe_json_get_str(m, "name"),
               *suite = hfe_json_get_str(su, "name"),
               *task = hfe_json_get_str(t, "name");
    const cJSON *hub = cJSON_GetObjectItem(t, "hub"), *r;
    struct hfe_buf b = {0}, nb = {0};
    char *id, *name;
    size_t k = 0;
    int rc = 0, first = 1;

    hfe_buf_puts(&b,
                 "{\"schema_version\":\"" EEE_SCHEMA "\",\"evaluation_id\":");
    id = hfe_xasprintf("%s/%s/%s/%s", suite, task, model, x->run_id);
    hfe_json_strz(&b, id);
    free(id);
    hfe_buf_puts(&b, ",\"evaluation_timestamp\":");
    hfe_json_strz(&b, x->started);
    hfe_buf_printf(&b, ",\"retrieved_timestamp\":\"%lld\"",
                   (long long)time(NULL));
    hfe_buf_puts(&b, ",\"source_metadata\":{\"source_name\":");
    hfe_json_strz(&b, x->o->source_name ? x->o->source_name : "hfeval run");
    hfe_buf_puts(&b, ",\"source_type\":\"evaluation_run\","
                     "\"source_organization_name\":");
    hfe_json_strz(&b, x->o->source_name ? x->o->source_name : "unknown");
    if (x->o->source_url) {
        hfe_buf_puts(&b, ",\"source_organization_url\":");
        hfe_json_strz(&b, x->o->source_url);
    }
    hfe_buf_puts(&b, ",\"evaluator_relationship\":\"other\","
                     "\"additional_details\":{");
    detail(&b, &first, "run_id", x->run_id);
    notes(x, m, su, t, &nb);
    detail(&b, &first, "notes", nb.s);
    hfe_buf_free(&nb);
    hfe_buf_puts(&b, "}},\"eval_library\":{\"name\":\"hfeval\","
                     "\"version\":");
    hfe_json_strz(&b, x->version);
    hfe_buf_puts(&b, "},");
    eee_model(&b, m);
    hfe_buf_puts(&b, ",\"evaluation_results\":[");
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(x->run, "results"))
    {
        const char *rm = hfe_json_get_str(r, "model"),
                   *rs = hfe_json_get_str(r, "suite"),
                   *rt = hfe_json_get_str(r, "task");

        if (rm && rs && rt && !strcmp(rm, model) && !strcmp(rs, suite) &&
            !strcmp(rt, task) &&
            cJSON_IsNumber(cJSON_GetObjectItem(r, "value")) &&
            hfe_json_get_str(r, "metric"))
            eee_result(&b, r, hub, suite, task, k++);
    }
    hfe_buf_puts(&b, "]");
    {
        char *ss = safe_name(suite), *st = safe_name(task);

        name = hfe_xasprintf("eee/%s.%s.json", ss, st);
        if (k && x->o->instances && !rc)
            rc = eee_instances(x, m, su, t, ss, st, &b, err);
        free(ss);
        free(st);
    }
    hfe_buf_puts(&b, "}\n");
    if (k && !rc)
        rc = write_out(x, model, name, &b, err);
    free(name);
    hfe_buf_free(&b);
    return rc;
}

static int export_eee(struct ex *x, const cJSON *m, struct hfe_err *err)
{
    const cJSON *su, *t;
    int rc = 0;

    cJSON_ArrayForEach(su, cJSON_GetObjectItem(x->run, "suites"))
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(su, "tasks")) if (!rc) rc =
            eee_task(x, m, su, t, err);
    return rc;
}

int hfe_export(const char *dir, const struct hfe_export_opts *o,
               struct hfe_err *err)
{
    const char *dot = strrchr(dir, '.');
    char *path = dot && !strcmp(dot, ".json")
                     ? hfe_xstrdup(dir)
                     : hfe_xasprintf("%s/run.json", dir);
    char *text = NULL;
    size_t len;
    struct ex x = {.o = o};
    const cJSON *m;
    int rc = 0;

    if (hfe_read_file(path, &text, &len, err) != 0) {
        free(path);
        return HFE_EXIT_DATA;
    }
    x.dir = hfe_xstrdup(path);
    *strrchr(x.dir, '/') = '\0';
    x.run = cJSON_ParseWithLength(text, len);
    free(text);
    x.run_id = hfe_json_get_str(x.run, "run_id");
    x.started = hfe_json_get_str(x.run, "started");
    x.version =
        hfe_json_get_str(cJSON_GetObjectItem(x.run, "hfeval"), "version");
    if (!x.run_id || !x.started || !x.version ||
        !cJSON_IsArray(cJSON_GetObjectItem(x.run, "models"))) {
        hfe_err_set(err,
                    "%s: not a run record (expected run.json with run_id, "
                    "started, hfeval.version and models)",
                    path);
        rc = HFE_EXIT_DATA;
    }
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(x.run, "models"))
    {
        if (rc || !hfe_json_get_str(m, "name"))
            continue;
        rc = o->format == HFE_EXPORT_HF ? export_hf(&x, m, err)
             : o->format == HFE_EXPORT_MODEL_INDEX
                 ? export_model_index(&x, m, err)
                 : export_eee(&x, m, err);
    }
    cJSON_Delete(x.run);
    cJSON_Delete(x.samples);
    cJSON_Delete(x.items_doc);
    while (x.n_items)
        free(x.items[--x.n_items].key);
    free(x.items);
    free(x.dir);
    hfe_buf_free(&x.said);
    free(path);
    return rc;
}
