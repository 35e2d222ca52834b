/*
 * bad.c - plugins the loader must refuse or set aside, one per macro:
 *   BAD_BADABI=1    built against ABI major 99
 *   BAD_NOSYM=1     exports no entry symbol
 *   BAD_NOSLOTS=1   leaves a required slot (submit) empty
 *   BAD_PROBE_NO=1  valid, but its probe says "not usable here"
 * Built by CMakeLists.txt into build/tests/plugins/; tests/loader.t points
 * HFEVAL_PLUGIN_PATH there.
 */
#include <stdio.h>

#include "hfeval-plugin.h"

static int b_open(const char *uri, const struct hfe_option *o, size_t n,
                  struct hfe_model **out, char *err, size_t err_size)
{
    (void)uri, (void)o, (void)n;
    *out = NULL;
    snprintf(err, err_size, "test plugin opens nothing");
    return HFE_ENOTSUP;
}

static void b_close(struct hfe_model *m)
{
    (void)m;
}

static int b_info(struct hfe_model *m, struct hfe_model_info *i)
{
    (void)m, (void)i;
    return HFE_ENOTSUP;
}

#if !BAD_NOSLOTS
static int b_submit(struct hfe_model *m, const struct hfe_batch *b)
{
    (void)m, (void)b;
    return HFE_ENOTSUP;
}
#endif

#if BAD_PROBE_NO
static int b_probe(char *why, size_t size)
{
    snprintf(why, size, "no frobnicator on this machine");
    return 1;
}
#endif

static const char *const handles[] = {"test:", NULL};
static const char *const options[] = {NULL};

static const struct hfe_backend table = {
#if BAD_BADABI
    .abi_major = 99,
    .abi_minor = 0,
#else
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
#endif
    .struct_size = sizeof(struct hfe_backend),
#if BAD_BADABI
    .name = "badabi",
#elif BAD_NOSLOTS
    .name = "noslots",
#else
    .name = "probe_no",
#endif
    .version = "0",
    .description = "a plugin the loader must refuse",
    .handles = handles,
    .options = options,
    .open = b_open,
    .close = b_close,
    .info = b_info,
#if !BAD_NOSLOTS
    .submit = b_submit,
#endif
#if BAD_PROBE_NO
    .probe = b_probe,
#endif
};

#if BAD_NOSYM
HFE_EXPORT const struct hfe_backend *not_the_entry(const struct hfe_host *h)
#else
HFE_EXPORT const struct hfe_backend *hfe_plugin_entry(const struct hfe_host *h)
#endif
{
    (void)h;
    return &table;
}
