/*
 * score.c - metrics, means and per-document records of one task on one
 * model: the choice, rolling and compliance scorers, the dispatch, and
 * the records they share.  The generate scorer is generate.c, code runs
 * exec.c, the statistics stats.c.  See score.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score_int.h"
#include "sha256.h"

void hfe_score_rec_start(struct hfe_job *j, const struct hfe_item *it)
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
    if (j->item_cached && j->t->kind != HFE_TASK_COMPLIANCE &&
        j->item_cached[it - j->t->items])
        hfe_buf_puts(b, ",\"cached\":true");
}

void hfe_score_rec_metric(struct hfe_job *j, int *first, const char *name,
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

int hfe_score_lua(struct hfe_job *j, const struct hfe_item *it,
                  const struct hfe_suite_out *out, struct hfe_stat *stats,
                  int *first)
{
    double v[HFE_MAX_NAMED];
    size_t x;
    int rc;

    if ((rc = hfe_suite_call_metrics(j->s, j->t, it, out, v, j->err)) != 0)
        return rc;
    for (x = 0; x < j->t->n_lua; x++) {
        hfe_stat_add(&stats[x], v[x]);
        hfe_score_rec_metric(j, first, j->t->lua_metric[x], v[x]);
    }
    return 0;
}

struct hfe_stat *hfe_score_stats(struct hfe_job *j, size_t n)
{
    struct hfe_stat *g = hfe_stat_group(&j->st, n);

    if (!g)
        hfe_err_set(j->err,
                    "task '%s': %zu more statistics do not fit the %d a task "
                    "may have (a bug)",
                    j->t->name, n, HFE_MAX_STATS);
    return g;
}

/* Names the task's Lua metrics, from s on. */
static void name_lua(const struct hfe_task *t, struct hfe_stat *s)
{
    size_t x;

    for (x = 0; x < t->n_lua; x++)
        hfe_stat_name(&s[x], 0, "%s", t->lua_metric[x]);
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

/* Whether the task's Lua metrics include one named name: it then stands
 * for the built-in of that name (truthfulqa_mc2's acc). */
static int has_lua_metric(const struct hfe_task *t, const char *name)
{
    size_t x;

    for (x = 0; x < t->n_lua; x++)
        if (!strcmp(t->lua_metric[x], name))
            return 1;
    return 0;
}

/* acc, acc_norm (per character of the choice, or per the task's
 * lengths), acc_tok (per token), each unless a Lua metric takes its name
 * or the task has builtin_metrics = false. */
static int score_choice(struct hfe_job *j, const struct hfe_result *res)
{
    static const char *const name[3] = {"acc", "acc_norm", "acc_tok"};
    const struct hfe_task *t = j->t;
    struct hfe_stat *st[3], *lua, spare[3];
    size_t i, k, r = 0, nb = 0, b;
    int rc = 0, on[3];

    memset(spare, 0, sizeof(spare));
    for (b = 0; b < 3; b++)
        nb += on[b] = t->builtins && !has_lua_metric(t, name[b]);
    if (!(lua = hfe_score_stats(j, nb + t->n_lua)))
        return HFE_EXIT_INTERNAL;
    for (b = 0; b < 3; b++) {
        st[b] = on[b] ? lua++ : &spare[b];
        hfe_stat_name(st[b], 0, "%s", name[b]);
    }
    name_lua(t, lua);
    for (i = 0; i < t->n && rc == 0; i++) {
        const struct hfe_item *it = &t->items[i];
        size_t pick[3] = {0, 0, 0};
        double len[2] = {1, 1};
        int first = 1;

        for (k = 0; k < it->n_choices; k++) {
            const struct hfe_result *x = &res[r + k], *y;

            if (x->logprob > res[r + pick[0]].logprob)
                pick[0] = k;
            y = &res[r + pick[1]];
            len[0] = it->lengths ? it->lengths[k] : chars(it->choices[k]);
            len[1] = it->lengths ? it->lengths[pick[1]]
                                 : chars(it->choices[pick[1]]);
            if (x->logprob / len[0] > y->logprob / len[1])
                pick[1] = k;
            y = &res[r + pick[2]];
            if ((x->n_tokens ? x->logprob / x->n_tokens : -INFINITY) >
                (y->n_tokens ? y->logprob / y->n_tokens : -INFINITY))
                pick[2] = k;
        }
        hfe_score_rec_start(j, it);
        hfe_buf_printf(j->rec, ",\"gold\":%ld,\"pick\":%zu,\"metrics\":{",
                       it->gold, pick[0]);
        for (b = 0; b < 3; b++) {
            hfe_stat_add(st[b], pick[b] == (size_t)it->gold);
            if (on[b])
                hfe_score_rec_metric(j, &first, name[b],
                                     pick[b] == (size_t)it->gold);
        }
        if (t->n_lua) {
            struct hfe_suite_out out = {&res[r], it->n_choices, pick[0], NULL};

            rc = hfe_score_lua(j, it, &out, lua, &first);
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

/* acc (every token of the continuation the argmax: lm-evaluation-
 * harness's loglikelihood acc), the mean logprob, and perplexity (e to
 * the minus the mean log-likelihood a document: a corpus value, which
 * merge.c recomputes from the records' logprobs). */
static int score_loglik(struct hfe_job *j, const struct hfe_result *res)
{
    const struct hfe_task *t = j->t;
    struct hfe_stat *acc = hfe_score_stats(j, 3 + t->n_lua), *ppl, *lp;
    size_t i;
    int rc = 0;

    if (!acc)
        return HFE_EXIT_INTERNAL;
    lp = &acc[1];
    ppl = &acc[2];
    hfe_stat_name(acc, 0, "acc");
    hfe_stat_name(lp, 0, "logprob");
    hfe_stat_name(ppl, 1, "perplexity");
    name_lua(t, &acc[3]);
    for (i = 0; i < t->n && rc == 0; i++) {
        const struct hfe_result *x = &res[i];
        int first = 1;

        hfe_stat_add(acc, x->is_greedy != 0);
        hfe_stat_add(lp, x->logprob);
        hfe_score_rec_start(j, &t->items[i]);
        hfe_buf_puts(j->rec, ",\"metrics\":{");
        hfe_score_rec_metric(j, &first, "acc", x->is_greedy != 0);
        hfe_score_rec_metric(j, &first, "logprob", x->logprob);
        if (t->n_lua) {
            struct hfe_suite_out out = {x, 1, 0, NULL};

            rc = hfe_score_lua(j, &t->items[i], &out, &acc[3], &first);
        }
        hfe_buf_printf(j->rec, "},\"tokens\":%u}\n", x->n_tokens);
    }
    ppl->sum = lp->n ? exp(-lp->sum / lp->n) : 0;
    ppl->n = lp->n;
    return rc;
}

/* Document i's fidelity: what this model keeps for its children, and its
 * drift from its base at positions *at on (kld and same_top into the
 * record, the KLD by magnitude into hist, *has_hist set). */
static int rolling_fidelity(struct hfe_job *j, size_t i,
                            const struct hfe_result *r, struct hfe_fid_acc *acc,
                            size_t *at, int *first, unsigned long *hist,
                            int *has_hist)
{
    size_t n0 = acc->n;
    double k0 = acc->kld, s0 = (double)acc->same_top;

    if (j->keep_cached && !j->base)
        return 0; /* the distributions were kept before: nothing to do */
    if (r->top_k != j->n_vocab || r->topk_ids || !r->topk_logprobs ||
        !r->token_logprobs) {
        hfe_err_set(j->err,
                    "task '%s': the backend did not return the "
                    "full-vocabulary log-probabilities fidelity needs",
                    j->t->name);
        return HFE_EXIT_FAIL;
    }
    if (j->keep && !j->keep_cached)
        hfe_fid_keep(j->keep, j->n_vocab, r->topk_logprobs, r->token_logprobs,
                     r->n_tokens);
    if (!j->base)
        return 0;
    if (*at + r->n_tokens > j->base->n) {
        hfe_err_set(j->err,
                    "task '%s', document %zu: %u positions scored, "
                    "but base '%s' has only %zu left: the two "
                    "tokenize the text differently",
                    j->t->name, i, r->n_tokens, j->base_name, j->base->n - *at);
        return HFE_EXIT_FAIL;
    }
    hfe_fid_compare(j->base, *at, r->topk_logprobs, r->token_logprobs,
                    r->n_tokens, acc);
    *at += r->n_tokens;
    if (acc->n > n0) {
        hfe_score_rec_metric(j, first, "kld", (acc->kld - k0) / (acc->n - n0));
        hfe_score_rec_metric(j, first, "same_top",
                             ((double)acc->same_top - s0) / (acc->n - n0));
        hfe_fid_hist(acc->each + n0, acc->n - n0, hist);
        *has_hist = 1;
    }
    return 0;
}

/* The drift from the base over the task: kld (mean, p99, max), delta_p
 * (mean, RMS), same_top. */
static int fidelity_stats(struct hfe_job *j, struct hfe_fid_acc *acc)
{
    struct hfe_stat *s = hfe_score_stats(j, 6);
    int k;

    if (!s)
        return HFE_EXIT_INTERNAL;
    hfe_stat_name(&s[0], 0, "kld");
    s[0].sum = acc->kld, s[0].sum2 = acc->kld2;
    hfe_stat_name(&s[1], 1, "kld_p99");
    s[1].sum = hfe_fid_quantile(acc, 0.99);
    hfe_stat_name(&s[2], 1, "kld_max");
    s[2].sum = hfe_fid_quantile(acc, 1);
    hfe_stat_name(&s[3], 0, "delta_p");
    s[3].sum = acc->dp, s[3].sum2 = acc->dp2;
    hfe_stat_name(&s[4], 1, "rms_delta_p");
    s[4].sum = acc->n ? sqrt(acc->dp2 / acc->n) : 0;
    hfe_stat_name(&s[5], 0, "same_top");
    s[5].sum = s[5].sum2 = (double)acc->same_top;
    for (k = 0; k < 6; k++)
        s[k].n = acc->n;
    return 0;
}

/* ppl_token and bits_per_byte over the corpus, and with a lineage parent
 * the fidelity metrics (fidelity.h). */
static int score_rolling(struct hfe_job *j, const struct hfe_result *res)
{
    const struct hfe_task *t = j->t;
    struct hfe_stat *ppl = hfe_score_stats(j, 2 + t->n_lua), *bpb;
    struct hfe_fid_acc acc = {0};
    double lp = 0, ntok = 0, nbytes = 0;
    size_t i, at = 0;
    int rc = 0;

    if (!ppl)
        return HFE_EXIT_INTERNAL;
    bpb = &ppl[1];
    hfe_stat_name(ppl, 1, "ppl_token");
    hfe_stat_name(bpb, 1, "bits_per_byte");
    name_lua(t, &ppl[2]);
    for (i = 0; i < t->n && rc == 0; i++) {
        const struct hfe_result *r = &res[i];
        unsigned long hist[HFE_FID_HIST_BINS];
        int first = 1, has_hist = 0, k;

        lp += r->logprob;
        ntok += r->n_tokens;
        nbytes += (double)r->n_bytes;
        hfe_score_rec_start(j, &t->items[i]);
        hfe_buf_puts(j->rec, ",\"metrics\":{");
        hfe_score_rec_metric(j, &first, "logprob", r->logprob);
        hfe_score_rec_metric(j, &first, "tokens", r->n_tokens);
        hfe_score_rec_metric(j, &first, "bytes", (double)r->n_bytes);
        if ((j->keep || j->base) &&
            (rc = rolling_fidelity(j, i, r, &acc, &at, &first, hist,
                                   &has_hist)) != 0)
            break;
        if (t->n_lua) {
            struct hfe_suite_out out = {r, 1, 0, NULL};

            rc = hfe_score_lua(j, &t->items[i], &out, &ppl[2], &first);
        }
        hfe_buf_puts(j->rec, "}");
        if (has_hist) { /* fidelity.h's bins */
            hfe_buf_printf(j->rec,
                           ",\"kld_hist\":{\"from\":%d,\"per_decade\":%d,"
                           "\"counts\":[",
                           HFE_FID_HIST_FROM, HFE_FID_HIST_PER_DECADE);
            for (k = 0; k < HFE_FID_HIST_BINS; k++)
                hfe_buf_printf(j->rec, "%s%lu", k ? "," : "", hist[k]);
            hfe_buf_puts(j->rec, "]}");
        }
        hfe_buf_puts(j->rec, "}\n");
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
    if (rc == 0 && j->base)
        rc = fidelity_stats(j, &acc);
    hfe_fid_acc_free(&acc);
    return rc;
}

/* The task's own checks, written in Lua: checks[id](meta, card, hub)
 * returns pass (true, false, or nil for "not applicable") and its
 * evidence; each joins r as a warning.  *pass and *applicable count them. */
static int custom_checks(struct hfe_job *j, struct hfe_cc_report *r,
                         unsigned *pass, unsigned *applicable)
{
    const struct hfe_task *t = j->t;
    size_t i;
    int rc = 0;

    for (i = 0; i < t->n_custom && r->n < HFE_CC_MAX; i++) {
        struct hfe_cc_check *c = &r->v[r->n];
        int p;

        if ((rc = hfe_suite_call_cc_check(
                 j->s, t, t->custom[i], j->cc->meta, j->cc->card, j->cc->hub,
                 &p, c->evidence, sizeof(c->evidence), j->err)) != 0)
            return rc;
        c->id = t->custom[i];
        c->sev = HFE_CC_WARNING;
        c->result = p < 0 ? HFE_CC_NA : p ? HFE_CC_PASS : HFE_CC_FAIL;
        *applicable += c->result != HFE_CC_NA;
        *pass += c->result == HFE_CC_PASS;
        r->n++;
    }
    return 0;
}

/* A corpus stat of the compliance row: value over n. */
static void cc_stat(struct hfe_job *j, const char *name, double v, size_t n)
{
    struct hfe_stat *st = hfe_stat_new(&j->st, 1, "%s", name);

    st->sum = v;
    st->n = n;
}

/* One model's compliance: the built-in checks (j->cc_report) and the
 * task's own (custom_checks). */
static int score_compliance(struct hfe_job *j)
{
    const struct hfe_task *t = j->t;
    struct hfe_cc_report r = *j->cc_report;
    unsigned cpass = 0, capp = 0, errors = 0;
    char cls[80];
    size_t i;
    int p, rc, first = 1;

    if ((rc = custom_checks(j, &r, &cpass, &capp)) != 0)
        return rc;
    hfe_score_rec_start(j, &(struct hfe_item){.doc_id = 0});
    hfe_buf_puts(j->rec, ",\"metrics\":{");
    for (p = 0; p < 3; p++) {
        double v;

        if (t->profile >= 0 && p != t->profile)
            continue;
        if (!r.prof[p].applicable) /* nothing to score */
            continue;
        v = (double)r.prof[p].passed / r.prof[p].applicable;
        cc_stat(j, r.prof[p].name, v, r.prof[p].applicable);
        hfe_score_rec_metric(j, &first, r.prof[p].name, v);
    }
    for (i = 0; i < r.n; i++)
        errors += r.v[i].sev == HFE_CC_ERROR && r.v[i].result == HFE_CC_FAIL &&
                  (t->profile < 0 || hfe_cc_in_profile(r.v[i].id, t->profile));
    cc_stat(j, "failed_errors", errors, 1);
    hfe_score_rec_metric(j, &first, "failed_errors", errors);
    if (capp) {
        cc_stat(j, "custom", (double)cpass / capp, capp);
        hfe_score_rec_metric(j, &first, "custom", (double)cpass / capp);
    }
    snprintf(cls, sizeof(cls), "class=%s", hfe_cc_class_names[r.class_]);
    cc_stat(j, cls, 1, 1);
    hfe_buf_puts(j->rec, "},\"compliance\":");
    hfe_cc_json(j->cc, j->cc_base, &r, j->rec);
    hfe_buf_puts(j->rec, "}\n");
    return 0;
}

int hfe_score(struct hfe_job *j, const struct hfe_result *res)
{
    int rc;

    if (j->t->kind == HFE_TASK_COMPLIANCE)
        rc = score_compliance(j);
    else if (j->t->kind == HFE_TASK_CHOICE)
        rc = score_choice(j, res);
    else if (j->t->kind == HFE_TASK_GENERATE)
        rc = hfe_score_generate(j, res);
    else if (j->t->kind == HFE_TASK_LOGLIK)
        rc = score_loglik(j, res);
    else
        rc = score_rolling(j, res);
    if (rc == 0 && j->st.overflow) {
        hfe_err_set(j->err,
                    "task '%s': more statistics than the %d a task may have "
                    "(a bug)",
                    j->t->name, HFE_MAX_STATS);
        rc = HFE_EXIT_INTERNAL;
    }
    return rc;
}
