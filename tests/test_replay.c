/*
 * test_replay.c - TAP test of the replay backend (plugins/replay/replay.c).
 *
 * Loads the built module with dlopen(), hands it a host of its own that
 * counts allocations, writes its JSONL inputs into a mkdtemp() directory
 * and checks lookups by item_id, doc_id and prompt, tasks, stop strings,
 * LOGLIK and ROLLING answers, missing records, bad files, options,
 * cancellation, the done callback and that every byte handed to the host
 * comes back.  Usage:
 *
 *     cc -std=c11 -Wall -Wextra -Iplugins tests/test_replay.c -ldl \
 *        -o test_replay
 *     ./test_replay path/to/hfe-replay.so
 *
 * Exits nonzero when a test fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hfeval-plugin.h"

/* ---- TAP ---------------------------------------------------------------- */

static int n_tests;
static int n_failed;

static int ok(int cond, const char *desc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* One test; fmt (may be NULL) says what was expected and got on failure. */
static int ok(int cond, const char *desc, const char *fmt, ...)
{
    va_list ap;

    n_tests++;
    printf("%sok %d - %s\n", cond ? "" : "not ", n_tests, desc);
    if (!cond) {
        n_failed++;
        if (fmt) {
            printf("# ");
            va_start(ap, fmt);
            vprintf(fmt, ap);
            va_end(ap);
            printf("\n");
        }
    }
    fflush(stdout);
    return cond;
}

static int is_int(long long got, long long want, const char *desc)
{
    return ok(got == want, desc, "expected %lld got %lld", want, got);
}

static int is_num(double got, double want, const char *desc)
{
    return ok(got == want, desc, "expected %g got %g", want, got);
}

static int is_str(const char *got, const char *want, const char *desc)
{
    int same = got && want ? strcmp(got, want) == 0 : got == want;

    return ok(same, desc, "expected \"%s\" got \"%s\"", want ? want : "(null)",
              got ? got : "(null)");
}

static int like(const char *got, const char *part, const char *desc)
{
    return ok(got && strstr(got, part), desc,
              "expected text containing \"%s\" got \"%s\"", part,
              got ? got : "(null)");
}

/* ---- the host ----------------------------------------------------------- */

static long n_live; /* host allocations not yet freed */
static int cancel;

static void *host_alloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p)
        n_live++;
    return p;
}

static void *host_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (p && !ptr)
        n_live++;
    return p;
}

static void host_free(void *ptr)
{
    if (ptr)
        n_live--;
    free(ptr);
}

static char *host_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = host_alloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

static void host_log(int level, const char *who, const char *fmt, ...)
{
    va_list ap;

    printf("# log %d %s: ", level, who ? who : "-");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static int host_cancelled(void)
{
    return cancel;
}

static struct hfe_host host = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_host),
    .alloc = host_alloc,
    .realloc = host_realloc,
    .free = host_free,
    .strdup = host_strdup,
    .log = host_log,
    .cancelled = host_cancelled,
};

/* ---- fixtures ----------------------------------------------------------- */

static char dir[64];
static char files[64][128]; /* written under dir, removed at the end */
static int n_files;

/* Fills path with dir/name and remembers it for removal. */
static void fixture_path(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/%s", dir, name);
    if (n_files < 64)
        snprintf(files[n_files++], sizeof(files[0]), "%s", path);
}

/* Writes text to dir/name; returns "replay:dir/name" in a static slot. */
static const char *fixture(const char *name, const char *text)
{
    static char uris[32][128];
    static int next;
    char *uri = uris[next++ % 32];
    FILE *fp;

    memcpy(uri, "replay:", 7);
    fixture_path(uri + 7, sizeof(uris[0]) - 7, name);
    fp = fopen(uri + 7, "w");
    if (!fp || fputs(text, fp) == EOF || fclose(fp) != 0) {
        printf("Bail out! cannot write %s\n", uri);
        exit(1);
    }
    return uri;
}

static const char good[] =
    "{\"item_id\": \"HumanEval/0\", \"task\": \"humaneval\", \"completion\": "
    "\"    return 1\\n\\ndef f():\\n    pass\\n\", \"n_tokens\": 9}\n\n   "
    "\t\n{\"item_id\": \"HumanEval/1\", \"completion\": \"no stop here\", "
    "\"n_tokens\": 3, \"model\": \"made elsewhere\"}\n{\"item_id\": "
    "\"HumanEval/0\", \"task\": \"other\", \"completion\": \"other "
    "task\"}\n{\"doc_id\": 7, \"task\": \"gsm8k\", \"completion\": \"The "
    "answer is 42.\\nQuestion: next\"}\r\n{\"prompt\": \"Q: capital of "
    "France?\\nA:\", \"completion\": \" Paris\\n\\nQ: next\"}\n{\"item_id\": "
    "\"arc/1\", \"continuation\": \" Paris\", \"logprob\": -0.25, "
    "\"is_greedy\": true, \"n_tokens\": 2}\n{\"item_id\": \"arc/1\", "
    "\"continuation\": \" London\", \"logprob\": -3.5, \"is_greedy\": false, "
    "\"n_tokens\": 1}\n{\"prompt\": \"The quick brown fox\", \"logprob\": "
    "-42.5, \"n_tokens\": 5}\n{\"doc_id\": 3, \"logprob\": -7, \"n_bytes\": "
    "11}\n{\"item_id\": \"HumanEval/0\", \"completion\": \"any task\"}";

static struct hfe_request request(uint32_t kind, const char *item, int64_t doc,
                                  const char *task, const char *context,
                                  const char *cont)
{
    struct hfe_request r;

    memset(&r, 0, sizeof(r));
    HFE_INIT(&r);
    r.kind = kind;
    r.item_id = item;
    r.doc_id = doc;
    r.task = task;
    r.context = context;
    r.continuation = cont;
    return r;
}

/* done() counts calls per request index. */
static int done_calls[64];
static int done_total;

static void on_done(void *ud, size_t i)
{
    (void)ud;
    if (i < 64)
        done_calls[i]++;
    done_total++;
}

static void free_results(struct hfe_result *res, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        host_free(res[i].text);
        host_free(res[i].error);
        host_free(res[i].token_logprobs);
        host_free(res[i].topk_ids);
        host_free(res[i].topk_logprobs);
    }
}

static int submit(const struct hfe_backend *be, struct hfe_model *m,
                  struct hfe_request *req, struct hfe_result *res, size_t n)
{
    const struct hfe_request *rp[64];
    struct hfe_result *sp[64];
    struct hfe_batch b;
    size_t i;

    for (i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        HFE_INIT(&res[i]);
        rp[i] = &req[i];
        sp[i] = &res[i];
    }
    memset(&b, 0, sizeof(b));
    HFE_INIT(&b);
    b.n = n;
    b.req = rp;
    b.res = sp;
    b.done = on_done;
    memset(done_calls, 0, sizeof(done_calls));
    done_total = 0;
    return be->submit(m, &b);
}

/* Opens a file that must fail; checks status and message. */
static void open_fails(const struct hfe_backend *be, const char *uri,
                       const struct hfe_option *opts, size_t n_opts,
                       int want_rc, const char *part, const char *desc)
{
    struct hfe_model *m = (struct hfe_model *)&m; /* must become NULL */
    char err[512] = "";
    char what[256];
    int rc;

    rc = be->open(uri, opts, n_opts, &m, err, sizeof(err));
    snprintf(what, sizeof(what), "%s: status", desc);
    is_int(rc, want_rc, what);
    snprintf(what, sizeof(what), "%s: message", desc);
    like(err, part, what);
    if (m)
        ok(0, "open() sets *out to NULL on failure", NULL);
}

/* ---- the tests ---------------------------------------------------------- */

static void test_backend(const struct hfe_backend *be)
{
    is_int(be->abi_major, HFE_ABI_MAJOR, "backend ABI major");
    is_str(be->name, "replay", "backend name");
    is_str(be->handles[0], "replay:", "handles replay:");
    ok(be->handles[1] == NULL, "handles is NULL-terminated", NULL);
    is_int((long long)be->caps,
           HFE_CAP_LOGLIK | HFE_CAP_ROLLING | HFE_CAP_GENERATE | HFE_CAP_CHAT |
               HFE_CAP_DETERMINISTIC,
           "caps");
    ok(be->open && be->close && be->info && be->submit && be->version &&
           be->description && be->options,
       "required slots are set", NULL);
}

/* pass@k: n samples of one item, told apart by `sample`. */
static void test_samples(const struct hfe_backend *be)
{
    const char *uri = fixture(
        "samples.jsonl",
        "{\"item_id\": \"HE/0\", \"completion\": \"zero\"}\n"
        "{\"item_id\": \"HE/0\", \"sample\": 1, \"completion\": \"one\"}\n"
        "{\"item_id\": \"HE/0\", \"sample\": 2, \"completion\": \"two\"}\n");
    static const char *const want[] = {"zero", "one", "two"};
    struct hfe_request req[4];
    struct hfe_result res[4];
    const struct hfe_request *rp[4];
    struct hfe_result *sp[4];
    struct hfe_model *m = NULL;
    struct hfe_batch b;
    char err[512];
    int i;

    is_int(be->open(uri, NULL, 0, &m, err, sizeof(err)), HFE_OK,
           "samples: a file of three samples of one item opens");
    if (!m)
        return;
    memset(res, 0, sizeof(res));
    for (i = 0; i < 4; i++) {
        req[i] = request(HFE_REQ_GENERATE, "HE/0", -1, NULL, "p", NULL);
        req[i].sample = (uint32_t)i;
        HFE_INIT(&res[i]);
        rp[i] = &req[i];
        sp[i] = &res[i];
    }
    memset(&b, 0, sizeof(b));
    HFE_INIT(&b);
    b.n = 4;
    b.req = rp;
    b.res = sp;
    be->submit(m, &b);
    is_str(res[0].text, want[0], "samples: sample 0 gets its own record");
    is_str(res[1].text, want[1], "samples: sample 1 gets its own record");
    is_str(res[2].text, want[2], "samples: sample 2 gets its own record");
    is_int(res[3].status, HFE_ENOTFOUND, "samples: a sample with no record");
    like(res[3].error, "item_id 'HE/0', sample 3",
         "samples: the message names the sample");
    free_results(res, 4);
    be->close(m);
}

static void test_answers(const struct hfe_backend *be)
{
    const char *uri = fixture("good.jsonl", good);
    static const char *const stop_def[] = {"\ndef"};
    static const char *const stop_none[] = {"zzz", ""};
    static const char *const stop_many[] = {"\n\n", "\nQuestion:", "."};
    static const char *const stop_para[] = {"\n\n"};
    static const char long_prompt[] =
        "This prompt was never recorded and is long enough to be cut short in "
        "the message";
    struct hfe_request req[20];
    struct hfe_result res[20];
    struct hfe_model_info info;
    struct hfe_model *m = NULL;
    char err[512] = "";
    size_t n = 0, i;
    int rc, once = 1;

    rc = be->open(uri, NULL, 0, &m, err, sizeof(err));
    if (!is_int(rc, HFE_OK, "open a good file") || !m) {
        printf("# %s\n", err);
        return;
    }

    memset(&info, 0, sizeof(info));
    HFE_INIT(&info);
    is_int(be->info(m, &info), HFE_OK, "info()");
    is_str(info.name, "good.jsonl", "info name is the basename");
    is_str(info.architecture, "replay", "info architecture");
    ok(info.n_kv >= 1 && info.kv &&
           strcmp(info.kv[0].key, "replay.records") == 0,
       "info kv replay.records", NULL);
    if (info.n_kv >= 1 && info.kv)
        is_str(info.kv[0].value, "10", "replay.records counts records");

    /* 0 */ req[n] = request(HFE_REQ_GENERATE, "HumanEval/0", 0, "humaneval",
                             "def f():", NULL);
    req[n].stop = stop_def;
    req[n++].n_stop = 1;
    /* 1 */ req[n++] =
        request(HFE_REQ_GENERATE, "HumanEval/0", 0, "other", "def f():", NULL);
    /* 2 */ req[n] =
        request(HFE_REQ_GENERATE, "HumanEval/1", 1, "humaneval", "x", NULL);
    req[n].stop = stop_none;
    req[n++].n_stop = 2;
    /* 3 */ req[n] = request(HFE_REQ_GENERATE, NULL, 7, "gsm8k", "q", NULL);
    req[n].stop = stop_many;
    req[n++].n_stop = 3;
    /* 4 */ req[n] = request(HFE_REQ_GENERATE, NULL, -1, "qa",
                             "Q: capital of France?\nA:", NULL);
    req[n].stop = stop_para;
    req[n++].n_stop = 1;
    /* 5: doc_id 3 has a ROLLING record only, which must not answer */
    req[n++] =
        request(HFE_REQ_GENERATE, "HumanEval/3", 3, "humaneval", "x", NULL);
    /* 6 */ req[n++] = request(HFE_REQ_GENERATE, NULL, 17, "gsm8k", "x", NULL);
    /* 7 */ req[n++] =
        request(HFE_REQ_GENERATE, NULL, -1, NULL, long_prompt, NULL);
    /* 8 */ req[n++] =
        request(HFE_REQ_LOGLIK, "arc/1", 1, "arc", "Capital?", " Paris");
    /* 9 */ req[n++] =
        request(HFE_REQ_LOGLIK, "arc/1", 1, "arc", "Capital?", " London");
    /* 10 */ req[n++] =
        request(HFE_REQ_LOGLIK, "arc/1", 1, "arc", "Capital?", " Rome");
    /* 11 */ req[n++] =
        request(HFE_REQ_ROLLING, NULL, -1, "wiki", "The quick brown fox", NULL);
    /* 12 */ req[n++] =
        request(HFE_REQ_ROLLING, NULL, 3, "wiki", "hello world", NULL);
    /* 13 */ req[n++] =
        request(HFE_REQ_GENERATE, "not-in-file", 7, "gsm8k", "q", NULL);
    /* 14 */ req[n++] = request(HFE_REQ_GENERATE, NULL, 7, "other", "q", NULL);
    /* 15 */ req[n] =
        request(HFE_REQ_GENERATE, "HumanEval/1", 1, NULL, "x", NULL);
    req[n++].abi_major = HFE_ABI_MAJOR + 1;
    /* 16 */ req[n++] =
        request(HFE_REQ_GENERATE, "HumanEval/0", 0, "mbpp", "x", NULL);

    rc = submit(be, m, req, res, n);
    is_int(rc, HFE_OK, "submit() returns HFE_OK");

    is_int(res[0].status, HFE_OK, "generate by item_id and task: status");
    is_str(res[0].text, "    return 1\n",
           "generate by item_id: text cut at the stop string");
    is_int(res[0].finish, HFE_FINISH_STOP, "stop string: finish is STOP");
    is_int(res[0].n_gen_tokens, 0, "stop string: recorded n_tokens dropped");

    is_str(res[1].text, "other task",
           "same item_id, other task: its own record");

    is_int(res[2].status, HFE_OK, "record without a task serves any task");
    is_str(res[2].text, "no stop here", "no stop string found: whole text");
    is_int(res[2].finish, HFE_FINISH_NONE, "no stop string: finish is NONE");
    is_int(res[2].n_gen_tokens, 3, "no stop string: n_gen_tokens recorded");

    is_int(res[3].status, HFE_OK, "generate by doc_id: status");
    is_str(res[3].text, "The answer is 42",
           "generate by doc_id: cut at the earliest of several stop strings");
    is_int(res[3].finish, HFE_FINISH_STOP, "earliest stop: finish is STOP");

    is_int(res[4].status, HFE_OK, "generate by prompt: status");
    is_str(res[4].text, " Paris", "generate by prompt: text");

    is_int(res[5].status, HFE_ENOTFOUND, "missing item_id: HFE_ENOTFOUND");
    like(res[5].error, "item_id 'HumanEval/3' (task 'humaneval')",
         "missing item_id: message names the key and task");
    like(res[5].error, uri, "missing item_id: message names the file");
    ok(res[5].text == NULL, "missing item_id: no text", NULL);

    is_int(res[6].status, HFE_ENOTFOUND, "missing doc_id: HFE_ENOTFOUND");
    like(res[6].error, "no record for doc_id 17 (task 'gsm8k')",
         "missing doc_id: message names the doc_id");

    is_int(res[7].status, HFE_ENOTFOUND, "missing prompt: HFE_ENOTFOUND");
    like(res[7].error,
         "prompt \"This prompt was never recorded and is lo\xe2\x80\xa6\"",
         "missing prompt: message quotes its first 40 characters");

    is_int(res[8].status, HFE_OK, "loglik by continuation: status");
    is_num(res[8].logprob, -0.25, "loglik ' Paris': logprob");
    is_int(res[8].is_greedy, 1, "loglik ' Paris': is_greedy");
    is_int(res[8].n_tokens, 2, "loglik ' Paris': n_tokens");
    is_num(res[9].logprob, -3.5, "loglik ' London': logprob");
    is_int(res[9].is_greedy, 0, "loglik ' London': is_greedy");
    is_int(res[9].n_tokens, 1, "loglik ' London': n_tokens");
    is_int(res[10].status, HFE_ENOTFOUND,
           "loglik, unknown continuation: HFE_ENOTFOUND");
    like(res[10].error, "item_id 'arc/1', continuation \" Rome\"",
         "loglik, unknown continuation: message names it");

    is_int(res[11].status, HFE_OK, "rolling by prompt: status");
    is_num(res[11].logprob, -42.5, "rolling by prompt: logprob");
    is_int(res[11].n_tokens, 5, "rolling by prompt: n_tokens");
    is_int((long long)res[11].n_bytes, 19, "rolling: n_bytes from the text");
    is_num(res[12].logprob, -7, "rolling by doc_id: logprob");
    is_int((long long)res[12].n_bytes, 11, "rolling: n_bytes recorded");

    is_str(res[13].text, "The answer is 42.\nQuestion: next",
           "unknown item_id falls back to doc_id");
    is_int(res[14].status, HFE_ENOTFOUND,
           "record for another task does not match");
    is_int(res[15].status, HFE_EINVAL, "request of another ABI: HFE_EINVAL");
    is_str(res[16].text, "any task",
           "record without a task serves a task that has none of its own");

    for (i = 0; i < n; i++)
        once = once && done_calls[i] == 1;
    ok(once, "done() called once for each request", NULL);
    is_int(done_total, (long long)n, "done() calls in all");

    free_results(res, n);

    /* Cancellation: nothing answered, done() not called. */
    cancel = 1;
    rc = submit(be, m, req, res, 2);
    cancel = 0;
    is_int(rc, HFE_ECANCELED, "cancelled submit(): HFE_ECANCELED");
    ok(res[0].status == HFE_ECANCELED && res[1].status == HFE_ECANCELED &&
           !res[0].text,
       "cancelled submit(): every result HFE_ECANCELED", NULL);
    is_int(done_total, 0, "cancelled submit(): done() not called");
    free_results(res, 2);

    be->close(m);
    is_int(n_live, 0, "every host allocation handed over was freed");
}

static void test_bad_files(const struct hfe_backend *be)
{
    struct hfe_option strict = {"strict", "1"};
    struct hfe_option lax = {"strict", "0"};
    struct hfe_option odd = {"strict", "maybe"};
    struct hfe_option bogus = {"bogus", "1"};
    struct hfe_model *m = NULL;
    char err[512] = "";
    const char *uri;
    int rc;

    uri = fixture("syntax.jsonl",
                  "{\"item_id\": \"a\", \"completion\": \"b\"}\n{\"item_id\": "
                  "\"x\", \"completion\": }\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL, "syntax.jsonl:2: expected",
               "malformed line");

    uri = fixture("trailing.jsonl",
                  "{\"item_id\": \"a\", \"completion\": \"b\"} x\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL, "trailing.jsonl:1: expected",
               "text after the object");

    uri = fixture("array.jsonl", "[1, 2]\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL,
               "array.jsonl:1: expected a JSON object",
               "a line that is an array");

    uri =
        fixture("nokey.jsonl", "\n{\"task\": \"t\", \"completion\": \"x\"}\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL, "nokey.jsonl:2: expected a key",
               "record without a key");

    uri = fixture("type.jsonl", "{\"item_id\": 5, \"completion\": \"x\"}\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL,
               "type.jsonl:1: expected 'item_id' to be a string, got a number",
               "item_id of the wrong type");

    uri = fixture("doc.jsonl", "{\"doc_id\": 1.5, \"completion\": \"x\"}\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL,
               "doc.jsonl:1: expected 'doc_id' to be an integer",
               "doc_id not an integer");

    uri =
        fixture("greedy.jsonl", "{\"item_id\": \"a\", \"continuation\": \"b\", "
                                "\"logprob\": -1, \"is_greedy\": 1}\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL,
               "greedy.jsonl:1: expected 'is_greedy' to be true or false",
               "is_greedy not a boolean");

    uri = fixture("noanswer.jsonl", "{\"item_id\": \"a\"}\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL,
               "noanswer.jsonl:1: expected an answer",
               "record without an answer");

    uri = fixture("dup.jsonl",
                  "{\"item_id\": \"a\", \"task\": \"t\", \"completion\": "
                  "\"1\"}\n{\"item_id\": \"a\", \"task\": \"u\", "
                  "\"completion\": \"2\"}\n{\"item_id\": \"a\", \"task\": "
                  "\"t\", \"completion\": \"3\"}\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL,
               "dup.jsonl:3: expected one record for item_id 'a' (task 't'); "
               "it is also at line 1",
               "duplicate key names both lines");

    uri = fixture(
        "dupcont.jsonl",
        "{\"doc_id\": 0, \"continuation\": \" a\", \"logprob\": "
        "-1}\n{\"doc_id\": 0, \"continuation\": \" b\", \"logprob\": "
        "-2}\n{\"doc_id\": 0, \"continuation\": \" a\", \"logprob\": -3}\n");
    open_fails(be, uri, NULL, 0, HFE_EINVAL,
               "dupcont.jsonl:3: expected one record for doc_id 0, "
               "continuation \" a\"; it is also at line 1",
               "duplicate loglik choice names both lines");

    snprintf(err, sizeof(err), "%s/absent.jsonl: cannot open: No such file",
             dir);
    {
        char uri2[128];

        snprintf(uri2, sizeof(uri2), "replay:%s/absent.jsonl", dir);
        open_fails(be, uri2, NULL, 0, HFE_EIO, err, "missing file");
    }

    open_fails(be, "replay:", NULL, 0, HFE_EINVAL, "expected a path",
               "empty path");

    uri = fixture("extra.jsonl", "{\"item_id\": \"a\", \"completion\": \"b\", "
                                 "\"complection\": \"c\"}\n");
    open_fails(be, uri, &bogus, 1, HFE_EINVAL, "unknown option 'bogus'",
               "unknown option");
    open_fails(be, uri, &odd, 1, HFE_EINVAL, "expected strict=0 or strict=1",
               "bad strict value");
    open_fails(be, uri, &strict, 1, HFE_EINVAL,
               "extra.jsonl:1: expected only known members",
               "strict=1 rejects an unknown member");
    rc = be->open(uri, &lax, 1, &m, err, sizeof(err));
    ok(rc == HFE_OK && m, "strict=0 ignores an unknown member",
       "expected %d got %d: %s", HFE_OK, rc, err);
    be->close(m);
    be->close(NULL);
    ok(1, "close(NULL) is a no-op", NULL);
}

/* 100k records: open stays fast and every lookup lands. */
static void test_many(const struct hfe_backend *be)
{
    enum { N = 100000 };
    struct hfe_request req[4];
    struct hfe_result res[4];
    struct hfe_model *m = NULL;
    char path[128], uri[136], item[4][32], err[512] = "";
    struct timespec t0, t1;
    FILE *fp;
    double ms;
    int i, rc;

    fixture_path(path, sizeof(path), "many.jsonl");
    snprintf(uri, sizeof(uri), "replay:%s", path);
    fp = fopen(path, "w");
    if (!fp) {
        ok(0, "write many.jsonl", NULL);
        return;
    }
    for (i = 0; i < N; i++)
        fprintf(fp,
                "{\"item_id\": \"item/%d\", \"task\": \"big\", \"completion\": "
                "\"answer %d\"}\n",
                i, i);
    fclose(fp);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = be->open(uri, NULL, 0, &m, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (!is_int(rc, HFE_OK, "open 100k records")) {
        printf("# %s\n", err);
        return;
    }
    printf("# opened %d records in %.1f ms\n", N, ms);
    for (i = 0; i < 4; i++) {
        snprintf(item[i], sizeof(item[i]), "item/%d", i * 33333);
        req[i] = request(HFE_REQ_GENERATE, item[i], -1, "big", "", NULL);
    }
    rc = submit(be, m, req, res, 4);
    ok(rc == HFE_OK && res[0].text && strcmp(res[0].text, "answer 0") == 0 &&
           res[3].text && strcmp(res[3].text, "answer 99999") == 0,
       "lookups among 100k records",
       "expected \"answer 0\" and \"answer 99999\" got \"%s\" and \"%s\"",
       res[0].text ? res[0].text : "(null)",
       res[3].text ? res[3].text : "(null)");
    free_results(res, 4);
    be->close(m);
}

int main(int argc, char **argv)
{
    struct hfe_host wrong = host;
    hfe_plugin_entry_fn entry;
    const struct hfe_backend *be;
    void *so;

    if (argc != 2) {
        fprintf(stderr, "usage: %s path/to/hfe-replay.so\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s", "/tmp/hfe-replay-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    printf("# fixtures in %s\n", dir);

    so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!ok(so != NULL, "dlopen the module", "%s", dlerror()))
        goto out;
    *(void **)&entry = dlsym(so, HFE_PLUGIN_ENTRY);
    if (!ok(entry != NULL, "module exports " HFE_PLUGIN_ENTRY, NULL))
        goto out;

    wrong.abi_major = HFE_ABI_MAJOR + 1;
    be = entry(&wrong);
    ok(be != NULL && be->abi_major == HFE_ABI_MAJOR,
       "to a host of another ABI major, entry hands back its table so the "
       "host can refuse it with both versions",
       NULL);
    be = entry(&host);
    if (!ok(be != NULL, "entry returns the backend", NULL))
        goto out;

    test_backend(be);
    test_answers(be);
    test_samples(be);
    test_bad_files(be);
    test_many(be);
    is_int(n_live, 0, "no host allocation left over");

out:
    if (so)
        dlclose(so);
    while (n_files > 0)
        unlink(files[--n_files]);
    if (rmdir(dir) != 0)
        printf("# could not remove %s\n", dir);
    printf("1..%d\n", n_tests);
    return n_failed ? 1 : 0;
}
