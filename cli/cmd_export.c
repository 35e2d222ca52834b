/*
 * cmd_export.c - `hfeval export RUN --format hf|model-index|eee --out DIR
 * [--source URL] [--source-name NAME] [--instances]`: a run's results in the
 * Hub's, the model card's and Every Eval Ever's formats
 * (core/results/export.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "export.h"

static int usage(const char *msg, const char *arg)
{
    return hfe_cli_misuse("export",
                          "RUN --format hf|model-index|eee --out DIR [--source "
                          "URL] [--source-name NAME] [--instances]",
                          msg, arg);
}

int hfe_cmd_export(int argc, char **argv)
{
    struct hfe_export_opts o = {.format = HFE_EXPORT_HF};
    const char *run = NULL, *format = NULL;
    struct hfe_err err;
    int a, rc;

    for (a = 1; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;

        if (!strcmp(argv[a], "--format") && v)
            format = argv[++a];
        else if (!strcmp(argv[a], "--out") && v)
            o.out = argv[++a];
        else if (!strcmp(argv[a], "--source") && v)
            o.source_url = argv[++a];
        else if (!strcmp(argv[a], "--source-name") && v)
            o.source_name = argv[++a];
        else if (!strcmp(argv[a], "--instances"))
            o.instances = 1;
        else if (argv[a][0] == '-' || run)
            return usage("unexpected '%s'", argv[a]);
        else
            run = argv[a];
    }
    if (!run || !o.out || !format)
        return usage("%s", !run     ? "name a run directory"
                           : !o.out ? "--out DIR is needed"
                                    : "--format is needed");
    if (!strcmp(format, "hf"))
        o.format = HFE_EXPORT_HF;
    else if (!strcmp(format, "model-index"))
        o.format = HFE_EXPORT_MODEL_INDEX;
    else if (!strcmp(format, "eee"))
        o.format = HFE_EXPORT_EEE;
    else
        return usage("--format is hf, model-index or eee, not '%s'", format);
    if (o.source_url && strncmp(o.source_url, "https://", 8) &&
        strncmp(o.source_url, "http://", 7))
        return usage("--source needs the URL of the published logs, got '%s'",
                     o.source_url);
    if ((rc = hfe_export(run, &o, &err)) != 0)
        fprintf(stderr, "hfeval: %s\n", err.msg);
    return rc;
}
