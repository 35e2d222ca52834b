/*
 * test_engine.c - drives the llama.cpp backend module through the loader,
 * for the agreement tests against llama.cpp's own tools (tests/engine-*.t)
 * and the benchmark (bench/engine.sh).
 *
 *   test_engine ppl MODEL TEXT N_CTX
 *       perplexity with llama-perplexity's windows; prints
 *       "ppl P n N ms T"
 *   test_engine hellaswag MODEL DATA N_TASKS
 *       DATA in llama-perplexity's 6-lines-a-task layout; the tasks drawn
 *       in its order (std::mt19937 seeded 1, libstdc++'s
 *       uniform_int_distribution, each pick erased), scored as it scores
 *       (mean log-probability of the tokens after the prefix all four
 *       endings share); prints "task I pick P gold G" per task and
 *       "acc_norm A ms T"
 *   test_engine generate MODEL PROMPTS MAX_TOKENS
 *       greedy generation of MAX_TOKENS tokens after each line of PROMPTS,
 *       as many sequences at once as the model's parallel= option; prints
 *       one JSON string a line, then the tokens, the end-to-end rate and
 *       the decode rate (after the first tokens)
 *   test_engine invariance MODEL
 *       TAP: log-likelihoods in one batch equal those computed alone
 *
 * Options for the model come from HFE_OPTS ("ctx=512 threads=2").
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf_meta.h"
#include "json.h"
#include "plugin.h"
#include "tap.h"

static const struct hfe_backend *be;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "test_engine: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static char *slurp(const char *path, size_t *len)
{
    struct hfe_err err;
    char *text;

    if (hfe_read_file(path, &text, len, &err) != 0)
        die("%s", err.msg);
    return text;
}

static struct hfe_model *open_model(const char *path)
{
    static struct hfe_option opts[16];
    static char buf[1024];
    struct hfe_model *m;
    const char *env = getenv("HFE_OPTS");
    char err[1024], *save = NULL, *tok;
    size_t n = 0;

    if (env) {
        snprintf(buf, sizeof(buf), "%s", env);
        for (tok = strtok_r(buf, " ", &save); tok && n < 16;
             tok = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(tok, '=');

            if (!eq)
                die("HFE_OPTS: expected key=value, got %s", tok);
            *eq = '\0';
            opts[n].key = tok;
            opts[n++].value = eq + 1;
        }
    }
    if (be->open(path, opts, n, &m, err, sizeof(err)) != HFE_OK)
        die("%s", err);
    return m;
}

/* n requests and results, headers set, everything else zero. */
struct reqs {
    struct hfe_request *req;
    struct hfe_result *res;
    const struct hfe_request **rp;
    struct hfe_result **sp;
    size_t n;
};

static void reqs_init(struct reqs *r, size_t n)
{
    size_t i;

    r->n = n;
    r->req = hfe_xcalloc(n, sizeof(*r->req));
    r->res = hfe_xcalloc(n, sizeof(*r->res));
    r->rp = hfe_xcalloc(n, sizeof(*r->rp));
    r->sp = hfe_xcalloc(n, sizeof(*r->sp));
    for (i = 0; i < n; i++) {
        HFE_INIT(&r->req[i]);
        HFE_INIT(&r->res[i]);
        r->req[i].doc_id = -1;
        r->rp[i] = &r->req[i];
        r->sp[i] = &r->res[i];
    }
}

static void reqs_free(struct reqs *r)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        free(r->res[i].error);
        free(r->res[i].text);
        free(r->res[i].token_logprobs);
        free(r->res[i].topk_ids);
        free(r->res[i].topk_logprobs);
    }
    free(r->req);
    free(r->res);
    free(r->rp);
    free(r->sp);
}

static void submit(struct hfe_model *m, struct reqs *r, size_t from, size_t n)
{
    struct hfe_batch b;
    size_t i;

    memset(&b, 0, sizeof(b));
    HFE_INIT(&b);
    b.n = n;
    b.req = r->rp + from;
    b.res = r->sp + from;
    if (be->submit(m, &b) != HFE_OK)
        die("%s", "submit failed");
    for (i = from; i < from + n; i++)
        if (r->res[i].status != HFE_OK)
            die("request failed: %s",
                r->res[i].error ? r->res[i].error : "(no message)");
}

/* The backend's own count of tokens evaluated while scoring, per second. */
static double eval_rate(struct hfe_model *m)
{
    struct hfe_measure ms;

    memset(&ms, 0, sizeof(ms));
    HFE_INIT(&ms);
    if (!be->measure || be->measure(m, &ms) != HFE_OK || ms.prompt_ms <= 0)
        return 0;
    return ms.n_prompt_tokens / (ms.prompt_ms / 1e3);
}

/* ---- ppl ---------------------------------------------------------------- */

static int cmd_ppl(char **argv)
{
    struct hfe_model *m = open_model(argv[0]);
    char *text = slurp(argv[1], NULL);
    struct reqs r;
    double t0;

    reqs_init(&r, 1);
    r.req[0].kind = HFE_REQ_ROLLING;
    r.req[0].flags = HFE_REQF_PPL_WINDOWS;
    r.req[0].context = text;
    r.req[0].n_ctx = (uint32_t)atoi(argv[2]);
    t0 = now_ms();
    submit(m, &r, 0, 1);
    printf("ppl %.6f n %u ms %.1f eval_tok_s %.1f\n",
           exp(-r.res[0].logprob / r.res[0].n_tokens), r.res[0].n_tokens,
           now_ms() - t0, eval_rate(m));
    reqs_free(&r);
    free(text);
    be->close(m);
    return 0;
}

/* ---- hellaswag ---------------------------------------------------------- */

/* std::mt19937 */
struct mt {
    uint32_t s[624];
    int i;
};

static void mt_seed(struct mt *g, uint32_t seed)
{
    int i;

    g->s[0] = seed;
    for (i = 1; i < 624; i++)
        g->s[i] =
            1812433253u * (g->s[i - 1] ^ (g->s[i - 1] >> 30)) + (uint32_t)i;
    g->i = 624;
}

static uint32_t mt_next(struct mt *g)
{
    uint32_t y;

    if (g->i >= 624) {
        int k;

        for (k = 0; k < 624; k++) {
            y = (g->s[k] & 0x80000000u) | (g->s[(k + 1) % 624] & 0x7fffffffu);
            g->s[k] = g->s[(k + 397) % 624] ^ (y >> 1) ^
                      ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        g->i = 0;
    }
    y = g->s[g->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* libstdc++'s uniform_int_distribution<size_t>(0, n - 1) over a 32-bit
 * engine: Lemire's nearly divisionless method. */
static uint32_t uniform(struct mt *g, uint32_t n)
{
    uint64_t product = (uint64_t)mt_next(g) * n;
    uint32_t low = (uint32_t)product;

    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;

        while (low < threshold) {
            product = (uint64_t)mt_next(g) * n;
            low = (uint32_t)product;
        }
    }
    return (uint32_t)(product >> 32);
}

static int cmd_hellaswag(char **argv)
{
    struct hfe_model *m = open_model(argv[0]);
    size_t len, n_lines = 0, cap = 0, i, want = (size_t)atol(argv[2]);
    char *data = slurp(argv[1], &len), *p = data, **lines = NULL;
    char **ctx;
    int *gold, correct = 0;
    struct reqs r;
    struct mt g;
    double t0;

    while (p < data + len) { /* lines, without their newline */
        char *nl = memchr(p, '\n', (size_t)(data + len - p));

        if (n_lines == cap) {
            cap = cap ? cap * 2 : 1024;
            lines = hfe_xrealloc(lines, cap * sizeof(*lines));
        }
        lines[n_lines++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    if (n_lines % 6)
        die("%s: the number of lines is not a multiple of 6", argv[1]);
    if (want > n_lines / 6)
        want = n_lines / 6;
    reqs_init(&r, 4 * want);
    ctx = hfe_xcalloc(want, sizeof(*ctx));
    gold = hfe_xcalloc(want, sizeof(*gold));
    mt_seed(&g, 1);
    for (i = 0; i < want; i++) {
        uint32_t idx = uniform(&g, (uint32_t)(n_lines / 6));
        int e;

        ctx[i] = lines[idx * 6];
        gold[i] = atoi(lines[idx * 6 + 1]);
        for (e = 0; e < 4; e++) {
            struct hfe_request *q = &r.req[4 * i + (size_t)e];

            q->kind = HFE_REQ_LOGLIK;
            q->flags = HFE_REQF_CHOICE_PREFIX;
            q->doc_id = (int64_t)i;
            q->choice = (uint32_t)e;
            q->context = ctx[i];
            /* llama-perplexity scores context + " " + ending */
            q->continuation =
                hfe_xasprintf(" %s", lines[idx * 6 + 2 + (size_t)e]);
        }
        /* erase the six lines picked */
        memmove(lines + idx * 6, lines + idx * 6 + 6,
                (n_lines - idx * 6 - 6) * sizeof(*lines));
        n_lines -= 6;
    }
    t0 = now_ms();
    submit(m, &r, 0, r.n);
    for (i = 0; i < want; i++) {
        int e, best = 0;
        double bv = 0;

        for (e = 0; e < 4; e++) {
            const struct hfe_result *s = &r.res[4 * i + (size_t)e];
            double v = s->logprob / (s->n_tokens ? s->n_tokens : 1);

            if (e == 0 || v > bv) {
                bv = v;
                best = e;
            }
        }
        correct += best == gold[i];
        printf("task %zu pick %d gold %d\n", i + 1, best, gold[i]);
    }
    printf("acc_norm %.8f ms %.1f eval_tok_s %.1f\n",
           100.0 * correct / (double)want, now_ms() - t0, eval_rate(m));
    for (i = 0; i < r.n; i++)
        free((char *)r.req[i].continuation);
    reqs_free(&r);
    free(ctx);
    free(gold);
    free(lines);
    free(data);
    be->close(m);
    return 0;
}

/* ---- generate and invariance -------------------------------------------- */

/* The lines of a file, NUL-terminated in place. */
static size_t read_lines(const char *path, char ***out, char **data)
{
    size_t len, n = 0, cap = 0;
    char *p;

    *data = slurp(path, &len);
    *out = NULL;
    for (p = *data; p < *data + len;) {
        char *nl = memchr(p, '\n', (size_t)(*data + len - p));

        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            *out = hfe_xrealloc(*out, cap * sizeof(**out));
        }
        (*out)[n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

static void set_generate(struct hfe_request *q, const char *prompt,
                         uint32_t max_tokens)
{
    static const char *const stop[] = {"\n\n"};

    q->kind = HFE_REQ_GENERATE;
    q->context = prompt;
    q->max_tokens = max_tokens;
    q->stop = stop;
    q->n_stop = 1;
}

static int cmd_generate(char **argv)
{
    struct hfe_model *m = open_model(argv[0]);
    char **lines, *data;
    size_t n = read_lines(argv[1], &lines, &data), i;
    double t0, first = 0, last = 0;
    uint64_t toks = 0, after = 0;
    struct reqs r;

    reqs_init(&r, n);
    for (i = 0; i < n; i++) {
        set_generate(&r.req[i], lines[i], (uint32_t)atoi(argv[2]));
        r.req[i].n_stop = 0; /* every sequence runs to max_tokens */
    }
    t0 = now_ms();
    submit(m, &r, 0, n);
    t0 = now_ms() - t0;
    for (i = 0; i < n; i++) {
        struct hfe_buf b = {0};

        hfe_json_str(&b, r.res[i].text, strlen(r.res[i].text));
        printf("%s\n", b.s);
        hfe_buf_free(&b);
        toks += r.res[i].n_gen_tokens;
        after += r.res[i].n_gen_tokens ? r.res[i].n_gen_tokens - 1 : 0;
        if (r.res[i].t_first_token_ms > first)
            first = r.res[i].t_first_token_ms;
        if (r.res[i].t_total_ms > last)
            last = r.res[i].t_total_ms;
    }
    /* decode rate: the tokens after the first ones, over the time after
     * the last first token (one wave of prompts: they all start at once) */
    printf("generated %llu tokens ms %.1f tok_s %.2f decode_tok_s %.2f\n",
           (unsigned long long)toks, t0, toks / (t0 / 1e3),
           last > first ? after / ((last - first) / 1e3) : 0);
    reqs_free(&r);
    free(lines);
    free(data);
    be->close(m);
    return 0;
}

static int cmd_invariance(char **argv)
{
    static const char *const conts[] = {" the", " a new one.", " 42",
                                        "\n\nAnswer:"};
    struct hfe_model *m = open_model(argv[0]);
    char **lines, *data;
    size_t n = read_lines(argv[1], &lines, &data), i, nq, bad = 0;
    struct reqs all, one;
    double worst = 0;

    if (n > 16)
        n = 16;
    /* log-likelihoods: four continuations of each prompt */
    nq = 4 * n;
    reqs_init(&all, nq);
    reqs_init(&one, nq);
    for (i = 0; i < nq; i++) {
        all.req[i].kind = HFE_REQ_LOGLIK;
        all.req[i].context = lines[i / 4];
        all.req[i].continuation = conts[i % 4];
        one.req[i] = all.req[i];
    }
    submit(m, &all, 0, nq);
    for (i = 0; i < nq; i++)
        submit(m, &one, i, 1);
    for (i = 0; i < nq; i++) {
        double d = fabs(all.res[i].logprob - one.res[i].logprob);

        if (d > worst)
            worst = d;
        if (d > 1e-4 || all.res[i].is_greedy != one.res[i].is_greedy ||
            all.res[i].n_tokens != one.res[i].n_tokens)
            bad++;
    }
    ok(bad == 0,
       "%zu log-likelihoods in one batch equal each alone within "
       "1e-4 (largest difference %.3g)",
       nq, worst);
    ok(all.res[0].n_tokens >= 1 && all.res[0].logprob < 0,
       "and they are real log-probabilities (%.4f over %u tokens)",
       all.res[0].logprob, all.res[0].n_tokens);
    reqs_free(&all);
    reqs_free(&one);

    /* rolling: the prompts' text in one batch and alone */
    reqs_init(&all, n);
    reqs_init(&one, n);
    for (i = 0; i < n; i++) {
        all.req[i].kind = HFE_REQ_ROLLING;
        all.req[i].context = lines[i];
        all.req[i].n_ctx = 16; /* several windows each */
        one.req[i] = all.req[i];
    }
    submit(m, &all, 0, n);
    for (i = 0; i < n; i++)
        submit(m, &one, i, 1);
    for (bad = 0, worst = 0, i = 0; i < n; i++) {
        double d = fabs(all.res[i].logprob - one.res[i].logprob);

        worst = d > worst ? d : worst;
        bad += d > 1e-4 || all.res[i].n_tokens != one.res[i].n_tokens;
    }
    ok(bad == 0,
       "%zu rolling log-likelihoods in one batch equal each alone "
       "(largest difference %.3g)",
       n, worst);
    reqs_free(&all);
    reqs_free(&one);

    /* greedy generation: n at once and one at a time */
    reqs_init(&all, n);
    reqs_init(&one, n);
    for (i = 0; i < n; i++) {
        set_generate(&all.req[i], lines[i], 24);
        one.req[i] = all.req[i];
    }
    submit(m, &all, 0, n);
    for (i = 0; i < n; i++)
        submit(m, &one, i, 1);
    for (bad = 0, i = 0; i < n; i++)
        if (strcmp(all.res[i].text, one.res[i].text)) {
            bad++;
            printf("# prompt %zu: batched '%s', alone '%s'\n", i,
                   all.res[i].text, one.res[i].text);
        }
    ok(bad == 0, "%zu greedy generations decoded together equal each alone", n);
    ok(all.res[0].n_gen_tokens > 0, "and they generate (%u tokens: '%s')",
       all.res[0].n_gen_tokens, all.res[0].text);
    reqs_free(&all);
    reqs_free(&one);
    free(lines);
    free(data);
    be->close(m);
    return tap_done();
}

int main(int argc, char **argv)
{
    static struct hfe_plugin p;
    const char *dir = getenv("HFEVAL_PLUGIN_DIR");
    char *path;
    int rc;

    if (argc < 3) {
        fprintf(stderr, "usage: see the comment at the top of "
                        "tests/test_engine.c\n");
        return 2;
    }
    /* HFE_MODULE=llama-cuda: a GPU module instead (bench/engine.sh) */
    path = hfe_xasprintf("%s/hfe-%s.so", dir ? dir : ".",
                         getenv("HFE_MODULE") ? getenv("HFE_MODULE") : "llama");
    if (hfe_plug_load(path, &p) != 0)
        die("cannot use the backend: %s", p.why);
    be = p.be;
    if (!strcmp(argv[1], "ppl") && argc == 5)
        rc = cmd_ppl(argv + 2);
    else if (!strcmp(argv[1], "hellaswag") && argc == 5)
        rc = cmd_hellaswag(argv + 2);
    else if (!strcmp(argv[1], "generate") && argc == 5)
        rc = cmd_generate(argv + 2);
    else if (!strcmp(argv[1], "invariance") && argc == 4)
        rc = cmd_invariance(argv + 2);
    else
        die("bad arguments for '%s'", argv[1]);
    hfe_plug_unload(&p);
    free(path);
    return rc;
}
