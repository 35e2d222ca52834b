/*
 * test_backend.c - the llama.cpp backend module through the loader, as the
 * core uses it: open, describe, tokenize, measure; and each way a model
 * file can be bad.  TAP on stdout.
 *
 *   test_backend PLUGIN_DIR FIXTURE_DIR [UNKNOWN_ARCH.gguf]
 *
 * The optional third file is a valid GGUF whose architecture llama.cpp
 * does not know (tests/backend.t makes it with mkmodel).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf_meta.h"
#include "plugin.h"
#include "tap.h"

static const char *fixtures;

static char *fx(const char *name)
{
    return hfe_xasprintf("%s/%s", fixtures, name);
}

static void test_bad_files(const struct hfe_backend *be)
{
    static const struct {
        const char *file, *want, *what;
    } cases[] = {
        {"truncated.gguf", "truncated: its", "a truncated file"},
        {"no-such-model.gguf", "No such file or directory", "a missing file"},
        {"not-gguf.gguf", "not a valid GGUF file", "a file that is not GGUF"},
    };
    char err[1024], dir[] = "/tmp/hfeval-test-XXXXXX", *junk;
    FILE *f;
    size_t i;

    /* a file that is not GGUF, named as if it were */
    ok(mkdtemp(dir) != NULL, "a scratch directory");
    junk = hfe_xasprintf("%s/not-gguf.gguf", dir);
    f = fopen(junk, "w");
    fputs("this is not a model\n", f);
    fclose(f);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hfe_model *m = (struct hfe_model *)1;
        char *path = strcmp(cases[i].file, "not-gguf.gguf") ? fx(cases[i].file)
                                                            : hfe_xstrdup(junk);
        int rc = be->open(path, NULL, 0, &m, err, sizeof(err));

        is_int(rc, HFE_EMODEL, "%s: HFE_EMODEL", cases[i].what);
        ok(m == NULL, "%s: no model handed out", cases[i].what);
        like(err, cases[i].want, "%s: the reason", cases[i].what);
        like(err, path, "%s: the message names the file", cases[i].what);
        free(path);
    }
    remove(junk);
    rmdir(dir);
    free(junk);
}

static void test_unknown_arch(const struct hfe_backend *be, const char *path)
{
    struct hfe_model *m = (struct hfe_model *)1;
    char err[1024];

    is_int(be->open(path, NULL, 0, &m, err, sizeof(err)), HFE_EMODEL,
           "an unsupported architecture: HFE_EMODEL");
    ok(m == NULL, "an unsupported architecture: no model handed out");
    like(err, "the engine cannot load it",
         "an unsupported architecture: "
         "the engine refused it");
    like(err, "nosucharch", "and its reason names the architecture");
}

static void test_options(const struct hfe_backend *be)
{
    struct hfe_option bad_ctx = {"ctx", "12x"}, bad_key = {"ctxx", "8"};
    struct hfe_model *m;
    char err[512], *path = fx("base.gguf");

    is_int(be->open(path, &bad_ctx, 1, &m, err, sizeof(err)), HFE_EINVAL,
           "ctx=12x is refused");
    like(err, "option ctx=12x: expected an integer", "with what was expected");
    is_int(be->open(path, &bad_key, 1, &m, err, sizeof(err)), HFE_EINVAL,
           "an unknown option is refused");
    like(err, "unknown option 'ctxx'", "and named");
    {
        struct hfe_option too_many[] = {{"parallel", "64"}, {"batch", "16"}};

        is_int(be->open(path, too_many, 2, &m, err, sizeof(err)), HFE_EINVAL,
               "more sequences than a batch holds is refused");
        like(err, "parallel=64 exceeds batch=16", "and explained");
    }
    free(path);
}

static void test_model(const struct hfe_backend *be)
{
    struct hfe_option opts[] = {{"ctx", "256"}, {"threads", "2"}};
    struct hfe_model_info info;
    struct hfe_measure ms;
    struct hfe_model *m = NULL;
    struct hfe_gguf *g = NULL;
    struct hfe_err e;
    char err[512], text[256], *path = fx("finetune.gguf");
    int32_t tok[64];
    int64_t n, need;
    size_t i, found = 0;
    int rc;

    rc = be->open(path, opts, 2, &m, err, sizeof(err));
    is_int(rc, HFE_OK, "the fine-tuned fixture opens (%s)", rc ? err : "");
    if (rc) {
        free(path);
        return;
    }
    ok(hfe_gguf_open(path, 0, &g, &e) == 0, "and its header reads");

    memset(&info, 0, sizeof(info));
    HFE_INIT(&info);
    is_int(be->info(m, &info), HFE_OK, "info()");
    is_str(info.architecture, "llama", "architecture");
    is_str(info.name, hfe_gguf_str(g, "general.name"), "name from metadata");
    is_int(info.n_params, g->n_params, "parameters agree with the header");
    is_int(info.file_size, g->file_size, "file size");
    is_int(info.n_ctx, 256, "ctx=256 was applied");
    is_int(info.n_vocab, 32000, "a 32000-token vocabulary");
    is_int(info.n_kv, g->n_kv, "every metadata key is listed");
    for (i = 0; i < info.n_kv; i++) {
        if (!strcmp(info.kv[i].key, "general.tags")) {
            is_str(info.kv[i].type, "arr[str]", "general.tags is an array");
            like(info.kv[i].value, "\"finetune\"", "with its items");
            found++;
        }
        if (!strcmp(info.kv[i].key, "general.base_model.0.name")) {
            is_str(info.kv[i].value, "\"hfeval Tiny Base\"",
                   "the base model is named");
            found++;
        }
    }
    is_int(found, 2, "arrays and lineage keys are both present");

    need = be->tokenize(m, "Hello world", 11, 0, NULL, 0);
    ok(need > 0, "tokenize with no room says how many tokens it needs");
    n = be->tokenize(m, "Hello world", 11, 0, tok, 64);
    is_int(n, need, "then fills that many");
    is_int(be->tokenize(m, "Hello world", 11, 1, tok, 64), n + 1,
           "add_special adds BOS");
    need = be->detokenize(m, tok + 1, (size_t)n, NULL, 0);
    n = be->detokenize(m, tok + 1, (size_t)n, text, sizeof(text) - 1);
    is_int(n, need, "detokenize reports its size");
    text[n > 0 ? n : 0] = '\0';
    like(text, "Hello world", "and the text comes back");

    /* One item's choices with HFE_REQF_CHOICE_PREFIX, one of them empty:
     * it scores nothing, the others score after the shared prefix. */
    {
        static const char *const conts[] = {"", " red", " re", " blue"};
        struct hfe_request rq[4];
        struct hfe_result rs[4];
        const struct hfe_request *rp[4];
        struct hfe_result *sp[4];
        struct hfe_batch bt;
        int k, good = 1;

        memset(rq, 0, sizeof(rq));
        memset(rs, 0, sizeof(rs));
        for (k = 0; k < 4; k++) {
            HFE_INIT(&rq[k]);
            HFE_INIT(&rs[k]);
            rq[k].kind = HFE_REQ_LOGLIK;
            rq[k].flags = HFE_REQF_CHOICE_PREFIX;
            rq[k].doc_id = 7;
            rq[k].context = "The sky is";
            rq[k].continuation = conts[k];
            rp[k] = &rq[k];
            sp[k] = &rs[k];
        }
        memset(&bt, 0, sizeof(bt));
        HFE_INIT(&bt);
        bt.n = 4;
        bt.req = rp;
        bt.res = sp;
        is_int(be->submit(m, &bt), HFE_OK, "a choice-prefix item submits");
        for (k = 0; k < 4; k++)
            good &= rs[k].status == HFE_OK;
        ok(good, "every choice is answered (%s)",
           rs[0].error ? rs[0].error : "no error");
        is_int(rs[0].n_tokens, 0, "the empty choice scores no token");
        ok(rs[1].n_tokens >= 1 && rs[1].logprob < 0,
           "a real choice scores tokens (%u, %.3f)", rs[1].n_tokens,
           rs[1].logprob);
        for (k = 0; k < 4; k++)
            free(rs[k].error);
    }

    memset(&ms, 0, sizeof(ms));
    HFE_INIT(&ms);
    is_int(be->measure(m, &ms), HFE_OK, "measure()");
    ok(ms.load_ms > 0, "load time measured (%.1f ms)", ms.load_ms);
    ok(ms.n_mem >= 1 && !strcmp(ms.mem[0].kind, "weights") &&
           ms.mem[0].bytes > g->n_params,
       "weight memory measured");
    be->close(m);
    hfe_gguf_close(g);
    free(path);
}

int main(int argc, char **argv)
{
    struct hfe_plugin p;
    char *path;

    if (argc != 3 && argc != 4) {
        fprintf(stderr,
                "usage: test_backend PLUGIN_DIR FIXTURE_DIR [UNKNOWN.gguf]\n");
        return 2;
    }
    fixtures = argv[2];
    path = hfe_xasprintf("%s/hfe-llama.so", argv[1]);
    is_int(hfe_plug_load(path, &p), 0, "hfe-llama.so loads (%s)", p.why);
    if (p.state == HFE_PLUG_USABLE) {
        test_bad_files(p.be);
        if (argc == 4)
            test_unknown_arch(p.be, argv[3]);
        test_options(p.be);
        test_model(p.be);
    }
    hfe_plug_unload(&p);
    free(path);
    return tap_done();
}
