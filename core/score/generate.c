/*
 * generate.c - the generate scorer: answers read out of completions
 * (patterns, first or last match, ignored text), exact_match and maj@N of
 * each pattern, regex_match, pass@k (a check() function, the sandbox, or
 * the first pattern), timing, and the task's Lua metrics.  See
 * score_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score_int.h"

/* s without the ASCII whitespace around it (Python's str.strip() on
 * ASCII text). */
static char *strip(const char *s)
{
    size_t a = 0, b = strlen(s);

    while (a < b && strchr(" \t\n\r\v\f", s[a]))
        a++;
    while (b > a && strchr(" \t\n\r\v\f", s[b - 1]))
        b--;
    return hfe_xstrndup(s + a, b - a);
}

/* The answer a completion gives, as lm-evaluation-harness's regex filter
 * reads re.findall: of the first match (the last with `last`), the
 * whole match when the pattern has no group, its group when it has one,
 * its first non-empty group when it has more; "[invalid]" when it does
 * not match or every group is empty. */
static char *extract(const struct hfe_extractor *e, const char *text)
{
    pcre2_match_data *md;
    PCRE2_SIZE *ov, at = 0, len = strlen(text);
    char *out = NULL, *s;
    uint32_t groups = 0;
    int rc;

    if (!e->re)
        return strip(text);
    pcre2_pattern_info(e->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    md = pcre2_match_data_create_from_pattern(e->re, NULL);
    while (at <= len && (rc = pcre2_match(e->re, (PCRE2_SPTR)text, len, at, 0,
                                          md, NULL)) >= 0) {
        int g = groups == 1, k;

        ov = pcre2_get_ovector_pointer(md);
        for (k = 1; groups > 1 && k < rc && !g; k++)
            if (ov[2 * k] != PCRE2_UNSET && ov[2 * k + 1] > ov[2 * k])
                g = k;
        free(out);
        if (groups > 1 && !g)
            out = NULL; /* every group empty: the fallback */
        else if (g >= rc || ov[2 * g] == PCRE2_UNSET)
            out = hfe_xstrdup("");
        else
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

/* s with every match of the task's ignore patterns removed, then, with
 * its exact_match options, in lower case (ASCII) and without ASCII
 * punctuation (Python's string.punctuation), in the order Hugging Face
 * evaluate's exact_match takes them. */
static char *scrub(char *s, const struct hfe_task *t)
{
    pcre2_code *const *re = t->ignore;
    size_t i, n = t->n_ignore, k = 0;

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
    for (i = 0; s[i]; i++) {
        char ch = s[i];

        if (t->ignore_case && ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!t->ignore_punctuation ||
            !strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", ch))
            s[k++] = ch;
    }
    s[k] = 0;
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

/* A sample's text; a backend may leave an empty one NULL. */
static const char *text_of(const struct hfe_result *r)
{
    return r->text ? r->text : "";
}

/* The task, its stats and the document being scored. */
struct gen {
    struct hfe_job *j;
    const struct hfe_task *t;
    size_t ns; /* samples a document */
    /* the task's stats, one group, in this order (NULL: not scored):
     * exact_match and maj@N a pattern, regex_match, pass@k, Lua,
     * degeneration (truncated, looped), timing */
    struct hfe_stat *em, *maj, *rm, *pk, *ls, *dg, *tm;
    const struct hfe_sb_job *all_jobs; /* every sample's run, or NULL */
    /* the document */
    const struct hfe_item *it;
    const struct hfe_result *res;  /* its ns samples */
    const struct hfe_sb_job *jobs; /* their runs, or NULL */
    char **got;                    /* [n_ex * ns] each pattern's answers */
    char *want;                    /* the target, as answers are read */
    int first;                     /* no metric in the record yet */
};

/* Names a stat a pattern from s on, "prefix[:name]"; returns the next. */
static struct hfe_stat *name_by_pattern(struct hfe_stat *s,
                                        const struct hfe_task *t,
                                        const char *prefix)
{
    size_t x;

    for (x = 0; x < t->n_ex; x++)
        hfe_stat_name(&s[x], 0, "%s%s%s", prefix, *t->ex[x].name ? ":" : "",
                      t->ex[x].name);
    return s + t->n_ex;
}

/* The task's stats, taken as one group. */
static int gen_stats(struct gen *g)
{
    const struct hfe_task *t = g->t;
    size_t x, n = (t->first ? t->n_ex : 0) + (t->majority ? t->n_ex : 0) +
                  (t->match != NULL) + t->n_pass_at + t->n_lua +
                  (t->timing ? 4 : 2);
    struct hfe_stat *s = hfe_score_stats(g->j, n);
    char maj[32];

    if (!s)
        return HFE_EXIT_INTERNAL;
    snprintf(maj, sizeof(maj), "maj@%zu", g->ns);
    if (t->first) {
        g->em = s;
        s = name_by_pattern(s, t, "exact_match");
    }
    if (t->majority) {
        g->maj = s;
        s = name_by_pattern(s, t, maj);
    }
    if (t->match) {
        g->rm = s;
        hfe_stat_name(s++, 0, "regex_match");
    }
    g->pk = s;
    for (x = 0; x < t->n_pass_at; x++)
        hfe_stat_name(s++, 0, "pass@%u", t->pass_at[x]);
    g->ls = s;
    for (x = 0; x < t->n_lua; x++)
        hfe_stat_name(s++, 0, "%s", t->lua_metric[x]);
    if (!t->timing) {
        g->dg = s;
        hfe_stat_name(&s[0], 0, "truncated");
        hfe_stat_name(&s[1], 0, "looped");
    } else {
        g->tm = s;
        hfe_stat_name(&s[0], 0, "prompt_tokens");
        hfe_stat_name(&s[1], 0, "prompt_tok_s");
        hfe_stat_name(&s[2], 0, "decode_tok_s");
        hfe_stat_name(&s[3], 0, "ttft_ms");
    }
    return 0;
}

/* exact_match (the first sample) and maj@N of each pattern. */
static void score_patterns(struct gen *g)
{
    const struct hfe_task *t = g->t;
    size_t x, ns = g->ns;

    for (x = 0; x < t->n_ex; x++) {
        const char *ex = t->ex[x].name, *sep = *ex ? ":" : "";
        char name[96];

        if (t->first) {
            int hit = !strcmp(g->got[x * ns], g->want);

            hfe_stat_add(&g->em[x], hit);
            snprintf(name, sizeof(name), "exact_match%s%s", sep, ex);
            hfe_score_rec_metric(g->j, &g->first, name, hit);
        }
        if (t->majority) {
            int hit = !strcmp(majority(g->got + x * ns, ns), g->want);

            hfe_stat_add(&g->maj[x], hit);
            snprintf(name, sizeof(name), "maj@%zu%s%s", ns, sep, ex);
            hfe_score_rec_metric(g->j, &g->first, name, hit);
        }
    }
}

/* regex_match: does the first sample match the task's pattern. */
static void score_match(struct gen *g)
{
    const char *txt = text_of(&g->res[0]);
    pcre2_match_data *md =
        pcre2_match_data_create_from_pattern(g->t->match, NULL);
    int hit = pcre2_match(g->t->match, (PCRE2_SPTR)txt, strlen(txt), 0, 0, md,
                          NULL) >= 0;

    pcre2_match_data_free(md);
    hfe_stat_add(g->rm, hit);
    hfe_score_rec_metric(g->j, &g->first, "regex_match", hit);
}

/* pass@k: a sample passes when its program exits 0 (execute), check(doc,
 * text) says so, or else its first pattern's answer is the target. */
static int score_pass(struct gen *g)
{
    const struct hfe_task *t = g->t;
    uint32_t correct = 0;
    size_t k, x;
    int rc = 0;

    for (k = 0; k < g->ns && rc == 0; k++) {
        double v = 0;

        if (t->exec)
            v = g->jobs[k].status == HFE_SB_OK;
        else if (t->check)
            rc = hfe_suite_call_check(g->j->s, t, g->it, text_of(&g->res[k]),
                                      &v, g->j->err);
        else
            v = !strcmp(g->got[k], g->want);
        correct += v != 0;
    }
    for (x = 0; x < t->n_pass_at && rc == 0; x++) {
        char name[32];
        double p = pass_at_k((uint32_t)g->ns, correct, t->pass_at[x]);

        hfe_stat_add(&g->pk[x], p);
        snprintf(name, sizeof(name), "pass@%u", t->pass_at[x]);
        hfe_score_rec_metric(g->j, &g->first, name, p);
    }
    return rc;
}

/* Does s hold a run of one n-gram of words (n <= 8) repeated back to
 * back, at least three times over at least eight words: a completion
 * caught in a loop. */
static int looped(const char *s)
{
    size_t n = 0, cap = 0, i, k, run;
    const char **w = NULL;
    size_t *len = NULL;
    int hit = 0;

    while (*s) {
        size_t l = strcspn(s, " \t\r\n");

        if (l) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                w = hfe_xrealloc(w, cap * sizeof(*w));
                len = hfe_xrealloc(len, cap * sizeof(*len));
            }
            w[n] = s;
            len[n++] = l;
        }
        s += l;
        s += strspn(s, " \t\r\n");
    }
    for (k = 1; k <= 8 && !hit; k++) /* run: words equal to the k-th back */
        for (i = k, run = 0; i < n && !hit; i++) {
            run = len[i] == len[i - k] && !memcmp(w[i], w[i - k], len[i])
                      ? run + 1
                      : 0;
            hit = run + k >= 8 && run + k >= 3 * k;
        }
    free(w);
    free(len);
    return hit;
}

/* The share of the document's samples that ran to max_tokens without
 * stopping, and of those caught in a loop. */
static void score_degeneration(struct gen *g)
{
    size_t k, cut = 0, loop = 0;

    for (k = 0; k < g->ns; k++) {
        cut += g->res[k].finish == HFE_FINISH_LENGTH;
        loop += looped(text_of(&g->res[k]));
    }
    hfe_stat_add(&g->dg[0], (double)cut / g->ns);
    hfe_stat_add(&g->dg[1], (double)loop / g->ns);
    hfe_score_rec_metric(g->j, &g->first, "truncated", (double)cut / g->ns);
    hfe_score_rec_metric(g->j, &g->first, "looped", (double)loop / g->ns);
}

/* Prompt tokens, prompt and decode speed, time to the first token. */
static void score_timing(struct gen *g)
{
    const struct hfe_result *r0 = &g->res[0];
    double pp = r0->t_first_token_ms, dec = r0->t_total_ms - pp;

    hfe_stat_add(&g->tm[0], r0->n_prompt_tokens);
    if (pp > 0)
        hfe_stat_add(&g->tm[1], r0->n_prompt_tokens / (pp / 1e3));
    if (dec > 0 && r0->n_gen_tokens > 1)
        hfe_stat_add(&g->tm[2], (r0->n_gen_tokens - 1) / (dec / 1e3));
    hfe_stat_add(&g->tm[3], pp);
}

/* The record after its metrics: outputs, runs, answers, target, tokens. */
static void record_rest(struct gen *g, size_t doc)
{
    const struct hfe_result *r0 = &g->res[0];
    struct hfe_buf *b = g->j->rec;
    size_t k, x;

    hfe_buf_puts(b, "},\"output\":");
    hfe_json_str(b, text_of(r0), strlen(text_of(r0)));
    if (g->ns > 1) {
        hfe_buf_puts(b, ",\"outputs\":[");
        for (k = 0; k < g->ns; k++) {
            hfe_buf_puts(b, k ? "," : "");
            hfe_json_str(b, text_of(&g->res[k]), strlen(text_of(&g->res[k])));
        }
        hfe_buf_puts(b, "]");
    }
    if (g->jobs)
        hfe_score_rec_exec(g->j, g->jobs, g->ns, doc);
    hfe_buf_puts(b, ",\"extracted\":[");
    for (x = 0; x < g->t->n_ex; x++) {
        hfe_buf_puts(b, x ? "," : "");
        hfe_json_str(b, g->got[x * g->ns], strlen(g->got[x * g->ns]));
    }
    hfe_buf_puts(b, "],\"target\":");
    hfe_json_str(b, g->want, strlen(g->want));
    hfe_buf_printf(b,
                   ",\"prompt_tokens\":%u,\"tokens\":%u,\"ttft_ms\":%.3f,"
                   "\"latency_ms\":%.3f}\n",
                   r0->n_prompt_tokens, r0->n_gen_tokens, r0->t_first_token_ms,
                   r0->t_total_ms);
}

/* Scores document i: its stats and its record. */
static int score_doc(struct gen *g, size_t i, const struct hfe_result *res)
{
    const struct hfe_task *t = g->t;
    size_t k, x, ns = g->ns;
    int rc = 0;

    g->it = &t->items[i];
    g->res = &res[i * ns];
    g->jobs = g->all_jobs ? g->all_jobs + i * ns : NULL;
    g->want = scrub(strip(g->it->target ? g->it->target : ""), t);
    g->first = 1;
    for (x = 0; x < t->n_ex; x++)
        for (k = 0; k < ns; k++)
            g->got[x * ns + k] =
                scrub(extract(&t->ex[x], text_of(&g->res[k])), t);
    hfe_score_rec_start(g->j, g->it);
    hfe_buf_puts(g->j->rec, ",\"metrics\":{");
    score_patterns(g);
    if (t->match)
        score_match(g);
    if (t->n_pass_at)
        rc = score_pass(g);
    if (t->n_lua && rc == 0) {
        struct hfe_suite_out out = {g->res, ns, 0, t->n_ex ? g->got[0] : NULL};

        rc = hfe_score_lua(g->j, g->it, &out, g->ls, &g->first);
    }
    if (t->timing)
        score_timing(g);
    else if (rc == 0)
        score_degeneration(g);
    record_rest(g, i);
    for (x = 0; x < t->n_ex * ns; x++) {
        free(g->got[x]);
        g->got[x] = NULL;
    }
    free(g->want);
    return rc;
}

int hfe_score_generate(struct hfe_job *j, const struct hfe_result *res)
{
    const struct hfe_task *t = j->t;
    struct gen g = {.j = j, .t = t, .ns = t->samples};
    struct hfe_sb_job *jobs = NULL;
    size_t i;
    int rc = 0;

    if (t->exec && (rc = hfe_score_execute(j, res, &jobs)) != 0)
        return rc;
    g.all_jobs = jobs;
    if ((rc = gen_stats(&g)) == 0) {
        g.got = hfe_xcalloc(t->n_ex * g.ns + 1, sizeof(char *));
        for (i = 0; i < t->n && rc == 0; i++)
            rc = score_doc(&g, i, res);
        free(g.got);
    }
    if (jobs)
        hfe_score_free_jobs(jobs, t->n * g.ns);
    return rc;
}
