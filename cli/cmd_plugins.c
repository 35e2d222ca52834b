/*
 * cmd_plugins.c - `hfeval plugins [--json]`: every backend module found,
 * with its version, ABI, capabilities, whether it is usable here (and
 * why not), and its path.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "plugin.h"

static const char *state_name(enum hfe_plug_state s)
{
    return s == HFE_PLUG_USABLE     ? "usable"
           : s == HFE_PLUG_UNUSABLE ? "not usable"
                                    : "broken";
}

/* A module as a JSON object (after k others). */
static void plugin_json(struct hfe_buf *b, const struct hfe_plugin *p, size_t k)
{
    const struct hfe_backend *be = p->be;
    char caps[256];

    hfe_buf_puts(b, k ? ",\n {" : "\n {");
    hfe_buf_puts(b, "\"name\":");
    hfe_json_strz(b, be ? be->name : NULL);
    if (be) {
        hfe_plug_caps_str(be->caps, caps, sizeof(caps));
        hfe_buf_puts(b, ",\"version\":");
        hfe_json_strz(b, be->version);
        hfe_buf_printf(b, ",\"abi\":\"%u.%u\",\"caps\":", be->abi_major,
                       be->abi_minor);
        hfe_json_strz(b, caps);
        hfe_buf_puts(b, ",\"description\":");
        hfe_json_strz(b, be->description);
    }
    hfe_buf_printf(b, ",\"status\":\"%s\",\"reason\":", state_name(p->state));
    hfe_json_strz(b, p->why);
    hfe_buf_puts(b, ",\"path\":");
    hfe_json_strz(b, p->path);
    hfe_buf_puts(b, "}");
}

/* A module as rows of the table: name, version, ABI, status and
 * capabilities; its path, and why it is not usable, below. */
static void plugin_row(struct hfe_buf *b, const struct hfe_plugin *p, int nw,
                       int vw)
{
    const struct hfe_backend *be = p->be;
    int ind = nw + vw + 20;
    char caps[256];

    if (be) {
        hfe_plug_caps_str(be->caps, caps, sizeof(caps));
        hfe_buf_printf(b, "%-*s %-*s %u.%-3u %-11s %s\n", nw, be->name, vw,
                       be->version, be->abi_major, be->abi_minor,
                       state_name(p->state), caps);
    } else {
        hfe_buf_printf(b, "%-*s %-*s %-5s %-11s\n", nw, "?", vw, "?", "?",
                       state_name(p->state));
    }
    hfe_buf_printf(b, "%*s%s\n", ind, "", p->path);
    if (p->state != HFE_PLUG_USABLE)
        hfe_buf_printf(b, "%*s%s\n", ind, "", p->why);
}

int hfe_cmd_plugins(int argc, char **argv)
{
    struct hfe_plug_set set;
    struct hfe_buf b = {0};
    int json = 0, i;
    size_t k, nw = 4, vw = 7;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return hfe_cli_usage("plugins: unknown option '%s'", argv[i]);
    }
    hfe_plug_scan(&set);
    for (k = 0; k < set.n; k++) /* columns as wide as what they hold */
        if (set.v[k].be) {
            if (strlen(set.v[k].be->name) > nw)
                nw = strlen(set.v[k].be->name);
            if (strlen(set.v[k].be->version) > vw)
                vw = strlen(set.v[k].be->version);
        }
    hfe_buf_add(&b, "", 0);
    if (json)
        hfe_buf_puts(&b, "[");
    else
        hfe_buf_printf(&b, "%-*s %-*s %-5s %-11s %s\n", (int)nw, "NAME",
                       (int)vw, "VERSION", "ABI", "STATUS",
                       "CAPABILITIES / PATH");
    for (k = 0; k < set.n; k++)
        if (json)
            plugin_json(&b, &set.v[k], k);
        else
            plugin_row(&b, &set.v[k], (int)nw, (int)vw);
    if (json)
        hfe_buf_puts(&b, "\n]\n");
    else if (!set.n)
        hfe_buf_printf(&b, "no backend modules in %s or HFEVAL_PLUGIN_PATH\n",
                       hfe_plug_default_dir());
    fputs(b.s, stdout);
    hfe_buf_free(&b);
    hfe_plug_set_free(&set);
    return HFE_EXIT_OK;
}
