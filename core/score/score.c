/*
 * score.c - metrics, means and per-document records of one task on one
 * model.  See score.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "sandbox.h"
#include "score.h"
#include "sha256.h"

struct hfe_stat *hfe_stat_new(struct hfe_stats *st, int corpus, const char *fmt,
                              ...)
{
    struct hfe_stat *s;
    va_list ap;

    /* every task's metrics fit (score.h); the last slot absorbs a bug */
    s = &st->v[st->n < HFE_MAX_STATS ? st->n++ : HFE_MAX_STATS - 1];
    memset(s, 0, sizeof(*s));
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof(s->name), fmt, ap);
    va_end(ap);
    s->corpus = corpus;
    return s;
}

static void stat_add(struct hfe_stat *s, double x)
{
    s->sum += x;
    s->sum2 += x * x;
    s->n++;
}

double hfe_stat_mean(const struct hfe_stat *s)
{
    return s->corpus ? s->sum : s->n ? s->sum / s->n : 0;
}

double hfe_stat_stderr(const struct hfe_stat *s)
{
    double mean, var;

    if (s->n < 2 || s->corpus)
        return 0;
    mean = s->sum / s->n;
    var = (s->sum2 - s->n * mean * mean) / (s->n - 1);
    return var > 0 ? sqrt(var / s->n) : 0;
}

static char *strip(const char *s)
{
    size_t a = 0, b = strlen(s);

    while (a < b &&
           (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' ||
                     s[b - 1] == '\r'))
        b--;
    return hfe_xstrndup(s + a, b - a);
}

/* The answer a completion gives: the pattern's first non-empty group (or
 * its whole match) of its first match, or of its last with `last`;
 * "[invalid]" when it does not match. */
static char *extract(const struct hfe_extractor *e, const char *text)
{
    pcre2_match_data *md;
    PCRE2_SIZE *ov, at = 0, len = strlen(text);
    char *out = NULL, *s;
    int rc;

    if (!e->re)
        return strip(text);
    md = pcre2_match_data_create_from_pattern(e->re, NULL);
    while (at <= len && (rc = pcre2_match(e->re, (PCRE2_SPTR)text, len, at, 0,
                                          md, NULL)) >= 0) {
        int g = 0, k;

        ov = pcre2_get_ovector_pointer(md);
        for (k = 1; k < rc && !g; k++)
            if (ov[2 * k] != PCRE2_UNSET && ov[2 * k + 1] > ov[2 * k])
                g = k;
        free(out);
        out = hfe_xstrndup(text + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        if (!e->last)
            break;
        at = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    pcre2_match_data_free(md);
    if (!out)
        return hfe_xstrdup("[invalid]");
    s = strip(out);
    free(out);
    return s;
}

/* s with every match of the patterns removed. */
static char *scrub(char *s, pcre2_code *const *re, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        PCRE2_SIZE outlen = strlen(s) + 1;
        char *out = hfe_xmalloc(outlen);

        /* removing only shortens: the output fits the input's size */
        if (pcre2_substitute(re[i], (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0,
                             PCRE2_SUBSTITUTE_GLOBAL, NULL, NULL,
                             (PCRE2_SPTR) "", 0, (PCRE2_UCHAR *)out,
                             &outlen) >= 0) {
            free(s);
            s = out;
        } else {
            free(out);
        }
    }
    return s;
}

/* The unbiased estimator of pass@k from n samples, c of them correct
 * (Chen et al. 2021), as a product to stay exact for large n. */
static double pass_at_k(uint32_t n, uint32_t c, uint32_t k)
{
    double p = 1;
    uint32_t i;

    if (n - c < k)
        return 1;
    for (i = n - c + 1; i <= n; i++)
        p *= 1 - (double)k / i;
    return 1 - p;
}

/* The most frequent of n answers; on a tie, the one seen first. */
static const char *majority(char *const *v, size_t n)
{
    size_t i, j, best = 0, best_n = 0;

    for (i = 0; i < n; i++) {
        size_t c = 0;

        for (j = 0; j < n; j++)
            c += strcmp(v[i], v[j]) == 0;
        if (c > best_n) {
            best_n = c;
            best = i;
        }
    }
    return v[best];
}

static void record_start(struct hfe_job *j, const struct hfe_item *it)
{
    struct hfe_buf *b = j->rec;

    hfe_buf_puts(b, "{\"model\":");
    hfe_json_str(b, j->model, strlen(j->model));
    hfe_buf_puts(b, ",\"suite\":");
    hfe_json_str(b, j->s->name, strlen(j->s->name));
    hfe_buf_puts(b, ",\"task\":");
    hfe_json_str(b, j->t->name, strlen(j->t->name));
    hfe_buf_printf(b, ",\"doc_id\":%lld,\"item_id\":", (long long)it->doc_id);
    if (it->item_id)
        hfe_json_str(b, it->item_id, strlen(it->item_id));
    else
        hfe_buf_puts(b, "null");
    if (it->prompt) { /* which prompt, without repeating it */
        struct hfe_sha256 c;
        char hex[65];

        hfe_sha256_init(&c);
        hfe_sha256_add(&c, it->prompt, strlen(it->prompt));
        hfe_sha256_hex(&c, hex);
        hfe_buf_printf(b, ",\"prompt_sha256\":\"%s\"", hex);
    }
}

/* Appends ,"name":value to a record's metrics. */
static void record_metric(struct hfe_job *j, int *first, const char *name,
                          double v)
{
    hfe_buf_puts(j->rec, *first ? "" : ",");
    hfe_json_str(j->rec, name, strlen(name));
    if (isfinite(v))
        hfe_buf_printf(j->rec, ":%.9g", v);
    else /* NaN and infinities are not JSON */
        hfe_buf_puts(j->rec, ":null");
    *first = 0;
}

/* The Lua metrics of one item on what the model answered (call.h): each
 * one's value into its stat and the record. */
static int suite_metrics(struct hfe_job *j, const struct hfe_item *it,
                         const struct hfe_suite_out *out,
                         struct hfe_stat *first_stat, int *first_rec)
{
    double v[HFE_MAX_NAMED];
    size_t x;
    int rc;

    if ((rc = hfe_suite_call_metrics(j->s, j->t, it, out, v, j->err)) != 0)
        return rc;
    for (x = 0; x < j->t->n_lua; x++) {
        stat_add(&first_stat[x], v[x]);
        record_metric(j, first_rec, j->t->lua_metric[x], v[x]);
    }
    return 0;
}

static struct hfe_stat *suite_stats(struct hfe_job *j)
{
    struct hfe_stat *first = &j->st.v[j->st.n];
    size_t x;

    for (x = 0; x < j->t->n_lua; x++)
        hfe_stat_new(&j->st, 0, "%s", j->t->lua_metric[x]);
    return first;
}

/* Characters (code points) of UTF-8 text, as lm-evaluation-harness's
 * acc_norm counts them; at least 1. */
static double chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n ? (double)n : 1;
}

static int score_choice(struct hfe_job *j, const struct hfe_result *res)
{
    const struct hfe_task *t = j->t;
    struct hfe_stat *acc = hfe_stat_new(&j->st, 0, "acc"),
                    *norm = hfe_stat_new(&j->st, 0, "acc_norm"),
                    *tok = hfe_stat_new(&j->st, 0, "acc_tok"),
                    *ls = suite_stats(j);
    size_t i, k, r = 0;
    int rc = 0;

    for (i = 0; i < t->n && rc == 0; i++) {
        const struct hfe_item *it = &t->items[i];
        size_t best = 0, bn = 0, bt = 0;
        int first = 1;

        for (k = 0; k < it->n_choices; k++) {
            const struct hfe_result *x = &res[r + k], *y;

            if (x->logprob > res[r + best].logprob)
                best = k;
            y = &res[r + bn];
            if (x->logprob / chars(it->choices[k]) >
                y->logprob / chars(it->choices[bn]))
                bn = k;
            y = &res[r + bt];
            if ((x->n_tokens ? x->logprob / x->n_tokens : -INFINITY) >
                (y->n_tokens ? y->logprob / y->n_tokens : -INFINITY))
                bt = k;
        }
        stat_add(acc, best == (size_t)it->gold);
        stat_add(norm, bn == (size_t)it->gold);
        stat_add(tok, bt == (size_t)it->gold);
        record_start(j, it);
        hfe_buf_printf(j->rec, ",\"gold\":%ld,\"pick\":%zu,\"metrics\":{",
                       it->gold, best);
        record_metric(j, &first, "acc", best == (size_t)it->gold);
        record_metric(j, &first, "acc_norm", bn == (size_t)it->gold);
        record_metric(j, &first, "acc_tok", bt == (size_t)it->gold);
        if (t->n_lua) {
            struct hfe_suite_out out = {&res[r], it->n_choices, best, NULL};

            rc = suite_metrics(j, it, &out, ls, &first);
        }
        hfe_buf_puts(j->rec, "},\"logprobs\":[");
        for (k = 0; k < it->n_choices; k++)
            hfe_buf_printf(j->rec,
                           isfinite(res[r + k].logprob) ? "%s%.9g" : "%snull",
                           k ? "," : "", res[r + k].logprob);
        hfe_buf_puts(j->rec, "]}\n");
        r += it->n_choices;
    }
    return rc;
}

static void exec_job(const struct hfe_execute *x, struct hfe_sb_job *jb,
                     char *source, double timeout)
{
    memset(jb, 0, sizeof(*jb));
    jb->argv = (const char *const *)x->argv;
    jb->file = x->file;
    jb->source = source;
    jb->source_len = strlen(source);
    jb->lim.timeout_s = timeout;
    jb->lim.mem_bytes = x->memory;
}

static void free_jobs(struct hfe_sb_job *jobs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free((char *)jobs[i].source);
        free(jobs[i].output);
    }
    free(jobs);
}

/* Runs each document's reference once, for the timeout rule: max(timeout,
 * factor x the reference's time).  A reference that fails is reported;
 * its document keeps the plain timeout. */
static int measure_references(struct hfe_job *j)
{
    struct hfe_execute *x = j->t->exec;
    const struct hfe_task *t = j->t;
    struct hfe_sb_job *jobs = hfe_xcalloc(t->n + 1, sizeof(*jobs));
    size_t i, bad = 0;
    double lo = 1e300, hi = 0;
    char why[256];
    int rc = 0;

    for (i = 0; x->ref_status && i < t->n; i++) /* an earlier try's */
        free(x->ref_status[i]);
    free(x->ref_status);
    free(x->limit_s);
    x->limit_s = hfe_xcalloc(t->n + 1, sizeof(double));
    x->ref_status = hfe_xcalloc(t->n + 1, sizeof(char *));
    for (i = 0; i < t->n; i++)
        x->limit_s[i] = x->timeout;
    if (!x->reference) {
        x->measured = 1;
        goto out;
    }
    for (i = 0; i < t->n && rc == 0; i++) {
        char *ref = NULL, *src = NULL;

        if ((rc = hfe_suite_call_exec(j->s, t, &t->items[i], "reference", NULL,
                                      &ref, j->err)) == 0)
            rc = hfe_suite_call_exec(j->s, t, &t->items[i], "program", ref,
                                     &src, j->err);
        free(ref);
        exec_job(x, &jobs[i], src ? src : hfe_xstrdup(""),
                 x->timeout * x->factor * 4);
    }
    if (rc == 0 && hfe_sb_run(jobs, t->n, 0, why, sizeof(why)) != 0) {
        hfe_err_set(j->err, "task '%s': the sandbox: %s", t->name, why);
        rc = HFE_EXIT_INTERNAL;
    }
    for (i = 0; i < t->n && rc == 0; i++) {
        double lim = x->factor * jobs[i].wall_ms / 1e3;

        x->ref_status[i] = hfe_xstrdup(hfe_sb_status_names[jobs[i].status]);
        if (jobs[i].status != HFE_SB_OK) {
            bad++;
            hfe_log(HFE_LOG_WARN, "sandbox",
                    "task '%s', document %zu: the reference solution fails "
                    "in the sandbox (%s): %.200s",
                    t->name, i, x->ref_status[i], jobs[i].output);
            continue;
        }
        if (lim > x->limit_s[i])
            x->limit_s[i] = lim;
        lo = x->limit_s[i] < lo ? x->limit_s[i] : lo;
        hi = x->limit_s[i] > hi ? x->limit_s[i] : hi;
    }
    x->measured = rc == 0; /* else the next model tries again */
    if (rc == 0)
        hfe_log(HFE_LOG_INFO, "sandbox",
                "task '%s': %zu of %zu reference solutions pass in the "
                "sandbox (%s); timeouts %.1f to %.1f s",
                t->name, t->n - bad, t->n, hfe_sb_isolation(),
                lo < hi ? lo : x->timeout, hi > 0 ? hi : x->timeout);
out:
    free_jobs(jobs, t->n);
    return rc;
}

/* Runs every sample's program; (*jobs)[i * samples + k] says how each
 * ended. */
static int execute(struct hfe_job *j, const struct hfe_result *res,
                   struct hfe_sb_job **jobs)
{
    const struct hfe_task *t = j->t;
    struct hfe_execute *x = t->exec;
    size_t i, k, ns = t->samples, n = t->n * ns;
    char why[256];
    int rc = 0;

    if (!x->measured && (rc = measure_references(j)) != 0)
        return rc;
    *jobs = hfe_xcalloc(n + 1, sizeof(**jobs));
    for (i = 0; i < t->n; i++)
        for (k = 0; k < ns; k++) {
            char *src = NULL;

            if (rc == 0)
                rc = hfe_suite_call_exec(
                    j->s, t, &t->items[i], "program",
                    res[i * ns + k].text ? res[i * ns + k].text : "", &src,
                    j->err);
            exec_job(x, &(*jobs)[i * ns + k], src ? src : hfe_xstrdup(""),
                     x->limit_s[i]);
        }
    if (rc == 0 && hfe_sb_run(*jobs, n, 0, why, sizeof(why)) != 0) {
        hfe_err_set(j->err, "task '%s': the sandbox: %s", t->name, why);
        rc = HFE_EXIT_INTERNAL;
    }
    if (rc != 0) {
        free_jobs(*jobs, n);
        *jobs = NULL;
    }
    return rc;
}

/* ,"exec":{...} of one document's samples: how each ended, and what the
 * first one that failed wrote (its head). */
static void record_exec(struct hfe_job *j, const struct hfe_sb_job *jb,
                        size_t ns, size_t doc)
{
    size_t k, bad = ns;

    hfe_buf_puts(j->rec, ",\"exec\":{\"sandbox\":");
    hfe_json_str(j->rec, hfe_sb_isolation(), strlen(hfe_sb_isolation()));
    hfe_buf_printf(
        j->rec, ",\"timeout_s\":%.3f,\"reference\":", j->t->exec->limit_s[doc]);
    if (j->t->exec->ref_status && j->t->exec->ref_status[doc])
        hfe_json_str(j->rec, j->t->exec->ref_status[doc],
                     strlen(j->t->exec->ref_status[doc]));
    else
        hfe_buf_puts(j->rec, "null");
    hfe_buf_puts(j->rec, ",\"runs\":[");
    for (k = 0; k < ns; k++) {
        hfe_buf_printf(j->rec, "%s{\"status\":\"%s\",\"code\":%d,\"ms\":%.1f}",
                       k ? "," : "", hfe_sb_status_names[jb[k].status],
                       jb[k].code, jb[k].wall_ms);
        if (bad == ns && jb[k].status != HFE_SB_OK)
            bad = k;
    }
    hfe_buf_puts(j->rec, "]");
    if (bad < ns) {
        size_t len = jb[bad].output_len < 2048 ? jb[bad].output_len : 2048;

        hfe_buf_puts(j->rec, ",\"output\":");
        hfe_json_str(j->rec, jb[bad].output ? jb[bad].output : "", len);
    }
    hfe_buf_puts(j->rec, "}");
}

static int score_generate(struct hfe_job *j, const struct hfe_result *res)
{
    const struct hfe_task *t = j->t;
    struct hfe_stat *em = NULL, *maj = NULL, *pk = NULL, *ls, *tm = NULL,
                    *rm = NULL;
    size_t i, k, x, ns = t->samples;
    char **got = hfe_xcalloc(t->n_ex * ns + 1, sizeof(char *));
    struct hfe_sb_job *jobs = NULL;
    int rc = 0;

    if (t->exec && (rc = execute(j, res, &jobs)) != 0) {
        free(got);
        return rc;
    }

    if (t->first) {
        em = &j->st.v[j->st.n];
        for (x = 0; x < t->n_ex; x++)
            hfe_stat_new(&j->st, 0, "exact_match%s%s",
                         *t->ex[x].name ? ":" : "", t->ex[x].name);
    }
    if (t->majority) {
        maj = &j->st.v[j->st.n];
        for (x = 0; x < t->n_ex; x++)
            hfe_stat_new(&j->st, 0, "maj@%zu%s%s", ns,
                         *t->ex[x].name ? ":" : "", t->ex[x].name);
    }
    if (t->match)
        rm = hfe_stat_new(&j->st, 0, "regex_match");
    if (t->n_pass_at) {
        pk = &j->st.v[j->st.n];
        for (x = 0; x < t->n_pass_at; x++)
            hfe_stat_new(&j->st, 0, "pass@%u", t->pass_at[x]);
    }
    ls = suite_stats(j);
    if (t->timing) {
        tm = &j->st.v[j->st.n];
        hfe_stat_new(&j->st, 0, "prompt_tokens");
        hfe_stat_new(&j->st, 0, "prompt_tok_s");
        hfe_stat_new(&j->st, 0, "decode_tok_s");
        hfe_stat_new(&j->st, 0, "ttft_ms");
    }
    for (i = 0; i < t->n && rc == 0; i++) {
        const struct hfe_item *it = &t->items[i];
        const struct hfe_result *r0 = &res[i * ns];
        char *want =
            scrub(strip(it->target ? it->target : ""), t->ignore, t->n_ignore);
        uint32_t correct = 0;
        int first = 1;

        for (x = 0; x < t->n_ex; x++)
            for (k = 0; k < ns; k++)
                got[x * ns + k] = scrub(
                    extract(&t->ex[x],
                            res[i * ns + k].text ? res[i * ns + k].text : ""),
                    t->ignore, t->n_ignore);
        record_start(j, it);
        hfe_buf_puts(j->rec, ",\"metrics\":{");
        for (x = 0; x < t->n_ex; x++) {
            char name[96];

            snprintf(name, sizeof(name), "%s%s", *t->ex[x].name ? ":" : "",
                     t->ex[x].name);
            if (t->first) {
                int hit = !strcmp(got[x * ns], want);

                stat_add(&em[x], hit);
                snprintf(name, sizeof(name), "exact_match%s%s",
                         *t->ex[x].name ? ":" : "", t->ex[x].name);
                record_metric(j, &first, name, hit);
            }
            if (t->majority) {
                int hit = !strcmp(majority(got + x * ns, ns), want);

                stat_add(&maj[x], hit);
                snprintf(name, sizeof(name), "maj@%zu%s%s", ns,
                         *t->ex[x].name ? ":" : "", t->ex[x].name);
                record_metric(j, &first, name, hit);
            }
        }
        if (t->match) {
            const char *txt = r0->text ? r0->text : "";
            pcre2_match_data *md =
                pcre2_match_data_create_from_pattern(t->match, NULL);
            int hit = pcre2_match(t->match, (PCRE2_SPTR)txt, strlen(txt), 0, 0,
                                  md, NULL) >= 0;

            pcre2_match_data_free(md);
            stat_add(rm, hit);
            record_metric(j, &first, "regex_match", hit);
        }
        /* pass@k: check(doc, text) where given, else the first pattern */
        for (k = 0; k < ns && t->n_pass_at && rc == 0; k++) {
            double v = 0;

            if (t->exec) {
                v = jobs[i * ns + k].status == HFE_SB_OK;
            } else if (t->check) {
                rc = hfe_suite_call_check(
                    j->s, t, it,
                    res[i * ns + k].text ? res[i * ns + k].text : "", &v,
                    j->err);
            } else {
                v = !strcmp(got[k], want);
            }
            correct += v != 0;
        }
        for (x = 0; x < t->n_pass_at && rc == 0; x++) {
            char name[32];
            double p = pass_at_k((uint32_t)ns, correct, t->pass_at[x]);

            stat_add(&pk[x], p);
            snprintf(name, sizeof(name), "pass@%u", t->pass_at[x]);
            record_metric(j, &first, name, p);
        }
        if (t->n_lua && rc == 0) {
            struct hfe_suite_out out = {r0, ns, 0, t->n_ex ? got[0] : NULL};

            rc = suite_metrics(j, it, &out, ls, &first);
        }
        if (t->timing) {
            double pp = r0->t_first_token_ms,
                   dec = r0->t_total_ms - r0->t_first_token_ms;

            stat_add(&tm[0], r0->n_prompt_tokens);
            if (pp > 0)
                stat_add(&tm[1], r0->n_prompt_tokens / (pp / 1e3));
            if (dec > 0 && r0->n_gen_tokens > 1)
                stat_add(&tm[2], (r0->n_gen_tokens - 1) / (dec / 1e3));
            stat_add(&tm[3], pp);
        }
        hfe_buf_puts(j->rec, "},\"output\":");
        hfe_json_str(j->rec, r0->text ? r0->text : "",
                     r0->text ? strlen(r0->text) : 0);
        if (ns > 1) {
            hfe_buf_puts(j->rec, ",\"outputs\":[");
            for (k = 0; k < ns; k++) {
                const char *s =
                    res[i * ns + k].text ? res[i * ns + k].text : "";

                hfe_buf_puts(j->rec, k ? "," : "");
                hfe_json_str(j->rec, s, strlen(s));
            }
            hfe_buf_puts(j->rec, "]");
        }
        if (t->exec)
            record_exec(j, jobs + i * ns, ns, i);
        hfe_buf_puts(j->rec, ",\"extracted\":[");
        for (x = 0; x < t->n_ex; x++) {
            hfe_buf_puts(j->rec, x ? "," : "");
            hfe_json_str(j->rec, got[x * ns], strlen(got[x * ns]));
        }
        hfe_buf_puts(j->rec, "],\"target\":");
        hfe_json_str(j->rec, want, strlen(want));
        hfe_buf_printf(j->rec,
                       ",\"prompt_tokens\":%u,\"tokens\":%u,\"ttft_ms\":%.3f,"
                       "\"latency_ms\":%.3f}\n",
                       r0->n_prompt_tokens, r0->n_gen_tokens,
                       r0->t_first_token_ms, r0->t_total_ms);
        for (x = 0; x < t->n_ex * ns; x++) {
            free(got[x]);
            got[x] = NULL;
        }
        free(want);
    }
    for (x = 0; x < t->n_ex * ns; x++)
        free(got[x]);
    free(got);
    if (jobs)
        free_jobs(jobs, t->n * ns);
    return rc;
}

static int score_rolling(struct hfe_job *j, const struct hfe_result *res)
{
    const struct hfe_task *t = j->t;
    struct hfe_stat *ppl = hfe_stat_new(&j->st, 1, "ppl_token"),
                    *bpb = hfe_stat_new(&j->st, 1, "bits_per_byte"), *ls;
    struct hfe_fid_acc acc = {0};
    double lp = 0, ntok = 0, nbytes = 0;
    size_t i, at = 0;
    int rc = 0;

    ls = suite_stats(j);
    for (i = 0; i < t->n && rc == 0; i++) {
        const struct hfe_result *r = &res[i];
        int first = 1;

        lp += r->logprob;
        ntok += r->n_tokens;
        nbytes += (double)r->n_bytes;
        record_start(j, &t->items[i]);
        hfe_buf_puts(j->rec, ",\"metrics\":{");
        record_metric(j, &first, "logprob", r->logprob);
        record_metric(j, &first, "tokens", r->n_tokens);
        record_metric(j, &first, "bytes", (double)r->n_bytes);
        if (j->keep || j->base) {
            if (r->top_k != j->n_vocab || r->topk_ids || !r->topk_logprobs ||
                !r->token_logprobs) {
                hfe_err_set(j->err,
                            "task '%s': the backend did not return the "
                            "full-vocabulary log-probabilities fidelity needs",
                            t->name);
                rc = HFE_EXIT_FAIL;
                break;
            }
            if (j->keep)
                hfe_fid_keep(j->keep, j->n_vocab, r->topk_logprobs,
                             r->token_logprobs, r->n_tokens);
        }
        if (j->base) {
            size_t n0 = acc.n;
            double k0 = acc.kld, s0 = (double)acc.same_top;

            if (at + r->n_tokens > j->base->n) {
                hfe_err_set(j->err,
                            "task '%s', document %zu: %u positions scored, "
                            "but base '%s' has only %zu left: the two "
                            "tokenize the text differently",
                            t->name, i, r->n_tokens, j->base_name,
                            j->base->n - at);
                rc = HFE_EXIT_FAIL;
                break;
            }
            hfe_fid_compare(j->base, at, r->topk_logprobs, r->token_logprobs,
                            r->n_tokens, &acc);
            at += r->n_tokens;
            if (acc.n > n0) {
                record_metric(j, &first, "kld", (acc.kld - k0) / (acc.n - n0));
                record_metric(j, &first, "same_top",
                              ((double)acc.same_top - s0) / (acc.n - n0));
            }
        }
        if (t->n_lua) {
            struct hfe_suite_out out = {r, 1, 0, NULL};

            rc = suite_metrics(j, &t->items[i], &out, ls, &first);
        }
        hfe_buf_puts(j->rec, "}}\n");
    }
    ppl->sum = ntok ? exp(-lp / ntok) : 0;
    ppl->n = t->n;
    bpb->sum = nbytes ? -lp / (log(2) * nbytes) : 0;
    bpb->n = t->n;
    if (rc == 0 && j->base && at != j->base->n) {
        hfe_err_set(j->err,
                    "task '%s': %zu positions scored, base '%s' scored %zu: "
                    "the two tokenize the text differently",
                    t->name, at, j->base_name, j->base->n);
        rc = HFE_EXIT_FAIL;
    }
    if (rc == 0 && j->base) {
        struct hfe_stat *s;

        s = hfe_stat_new(&j->st, 0, "kld");
        s->sum = acc.kld, s->sum2 = acc.kld2, s->n = acc.n;
        s = hfe_stat_new(&j->st, 1, "kld_p99");
        s->sum = hfe_fid_quantile(&acc, 0.99), s->n = acc.n;
        s = hfe_stat_new(&j->st, 1, "kld_max");
        s->sum = hfe_fid_quantile(&acc, 1), s->n = acc.n;
        s = hfe_stat_new(&j->st, 0, "delta_p");
        s->sum = acc.dp, s->sum2 = acc.dp2, s->n = acc.n;
        s = hfe_stat_new(&j->st, 1, "rms_delta_p");
        s->sum = acc.n ? sqrt(acc.dp2 / acc.n) : 0, s->n = acc.n;
        s = hfe_stat_new(&j->st, 0, "same_top");
        s->sum = s->sum2 = (double)acc.same_top, s->n = acc.n;
    }
    hfe_fid_acc_free(&acc);
    return rc;
}

/* One model's compliance: the built-in checks (j->cc_report) and the
 * task's own, written in Lua: checks[id](meta, card, hub) returns
 * pass (true, false, or nil for "not applicable") and its evidence. */
static int score_compliance(struct hfe_job *j)
{
    const struct hfe_task *t = j->t;
    struct hfe_cc_report r = *j->cc_report;
    unsigned cpass = 0, capp = 0, errors = 0;
    struct hfe_stat *st;
    size_t i;
    int p, rc = 0, first = 1;

    for (i = 0; i < t->n_custom && rc == 0 && r.n < HFE_CC_MAX; i++) {
        struct hfe_cc_check *c = &r.v[r.n];
        int pass;

        if ((rc = hfe_suite_call_cc_check(
                 j->s, t, t->custom[i], j->cc->meta, j->cc->card, j->cc->hub,
                 &pass, c->evidence, sizeof(c->evidence), j->err)) != 0)
            break;
        c->id = t->custom[i];
        c->sev = HFE_CC_WARNING;
        c->result = pass < 0 ? HFE_CC_NA : pass ? HFE_CC_PASS : HFE_CC_FAIL;
        capp += c->result != HFE_CC_NA;
        cpass += c->result == HFE_CC_PASS;
        r.n++;
    }
    if (rc)
        return rc;
    record_start(j, &(struct hfe_item){.doc_id = 0});
    hfe_buf_puts(j->rec, ",\"metrics\":{");
    for (p = 0; p < 3; p++) {
        if (t->profile >= 0 && p != t->profile)
            continue;
        if (!r.prof[p].applicable) /* nothing to score */
            continue;
        st = hfe_stat_new(&j->st, 1, "%s", r.prof[p].name);
        st->sum = (double)r.prof[p].passed / r.prof[p].applicable;
        st->n = r.prof[p].applicable;
        record_metric(j, &first, r.prof[p].name, st->sum);
    }
    for (i = 0; i < r.n; i++)
        errors += r.v[i].sev == HFE_CC_ERROR && r.v[i].result == HFE_CC_FAIL &&
                  (t->profile < 0 || hfe_cc_in_profile(r.v[i].id, t->profile));
    st = hfe_stat_new(&j->st, 1, "failed_errors");
    st->sum = errors;
    st->n = 1;
    record_metric(j, &first, "failed_errors", errors);
    if (capp) {
        st = hfe_stat_new(&j->st, 1, "custom");
        st->sum = (double)cpass / capp;
        st->n = capp;
        record_metric(j, &first, "custom", st->sum);
    }
    st = hfe_stat_new(&j->st, 1, "class=%s", r.class_);
    st->sum = 1;
    st->n = 1;
    hfe_buf_puts(j->rec, "},\"compliance\":");
    hfe_cc_json(j->cc, j->cc_base, &r, j->rec);
    hfe_buf_puts(j->rec, "}\n");
    return 0;
}

int hfe_score(struct hfe_job *j, const struct hfe_result *res)
{
    if (j->t->kind == HFE_TASK_COMPLIANCE)
        return score_compliance(j);
    return j->t->kind == HFE_TASK_CHOICE     ? score_choice(j, res)
           : j->t->kind == HFE_TASK_GENERATE ? score_generate(j, res)
                                             : score_rolling(j, res);
}
