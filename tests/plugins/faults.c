/*
 * faults.c - a backend that fails the way real ones do, for the worker
 * tests.  It opens `fault:MODE`:
 *   fault:ok        answers everything: "x" to generations, -1 a token
 *   fault:segv      dies of SIGSEGV in submit
 *   fault:exit      exits with status 3 in submit
 *   fault:killed    dies of SIGKILL in submit (as the OOM killer does)
 *   fault:hang      never answers a batch
 *   fault:half      answers half a batch, then hangs
 *   fault:open-abort  aborts while opening
 * Built into build/tests/plugins/ as hfe-faults.so; tests/workers.t
 * points HFEVAL_PLUGIN_PATH there.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hfeval-plugin.h"

static const struct hfe_host *host;

struct hfe_model {
    char mode[32];
};

static int f_open(const char *uri, const struct hfe_option *o, size_t n,
                  struct hfe_model **out, char *err, size_t err_size)
{
    struct hfe_model *m;

    (void)o, (void)n;
    *out = NULL;
    if (!strcmp(uri, "fault:open-abort")) {
        fprintf(stderr, "faults: giving up while opening: abort()\n");
        abort();
    }
    if (!(m = calloc(1, sizeof(*m)))) {
        snprintf(err, err_size, "out of memory");
        return HFE_ENOMEM;
    }
    snprintf(m->mode, sizeof(m->mode), "%s", uri + 6);
    *out = m;
    return HFE_OK;
}

static void f_close(struct hfe_model *m)
{
    free(m);
}

static int f_info(struct hfe_model *m, struct hfe_model_info *i)
{
    i->name = m->mode;
    return HFE_OK;
}

static int f_submit(struct hfe_model *m, const struct hfe_batch *b)
{
    size_t i;

    if (!strcmp(m->mode, "segv"))
        raise(SIGSEGV);
    if (!strcmp(m->mode, "exit"))
        exit(3);
    if (!strcmp(m->mode, "killed"))
        raise(SIGKILL);
    for (i = 0; i < b->n; i++) {
        struct hfe_result *r = b->res[i];

        if (!strcmp(m->mode, "hang") ||
            (!strcmp(m->mode, "half") && i >= b->n / 2))
            for (;;)
                pause();
        r->status = HFE_OK;
        if (b->req[i]->kind == HFE_REQ_GENERATE) {
            r->text = host->strdup("x");
            r->n_gen_tokens = 1;
        } else {
            r->logprob = -1.0 - (double)b->req[i]->choice;
            r->n_tokens = 1;
        }
        if (b->done)
            b->done(b->ud, i);
    }
    return HFE_OK;
}

static const char *const handles[] = {"fault:", NULL};
static const char *const options[] = {NULL};

static const struct hfe_backend table = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_backend),
    .name = "faults",
    .version = "0",
    .description = "fails on purpose (tests)",
    .caps = HFE_CAP_LOGLIK | HFE_CAP_GENERATE,
    .handles = handles,
    .options = options,
    .open = f_open,
    .close = f_close,
    .info = f_info,
    .submit = f_submit,
};

HFE_EXPORT const struct hfe_backend *hfe_plugin_entry(const struct hfe_host *h)
{
    host = h;
    return &table;
}
