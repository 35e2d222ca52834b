/*
 * main.c - the hfeval command: a table of commands, each with its usage,
 * from which `hfeval --help` is printed and argv[1] is dispatched.  The
 * commands are in cli/cmd_*.c; exit statuses are in hfeval.h (each kind
 * of bad input has its own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hfeval-plugin.h"

static int cmd_version(int argc, char **argv);

/* The commands, in the order --help lists them; usage is their lines of
 * it.  A NULL fn is a usage line for the command above (run --resume). */
static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} commands[] = {
    {"run", hfe_cmd_run,
     "  run SUITE.lua ... --models LIST [--set k=v ...] [--limit N] [--out "
     "DIR]\n"
     "      [--shard K/N] [--db PATH] [--html FILE] [--watchdog S]\n"
     "      [--skip-bad-lines] [--cache DIR | --no-cache] [--cache-max "
     "SIZE]\n"
     "                                   run suites over every model of a "
     "list\n"
     "  run ... --gate BASELINE [--max-drop [TASK:]METRIC=D] [--detect E]\n"
     "      [--alpha A] [--beta B] [--block N] [--gate-seed S]\n"
     "      [--baseline-model M]         the sequential gate: stop when "
     "certain\n"
     "  run --resume DIR                 continue a killed or interrupted "
     "run\n"},
    {"compare", hfe_cmd_compare,
     "  compare BASELINE CANDIDATE [--max-drop METRIC=V ...] [--max-kld X]\n"
     "          [--alpha A] [--baseline-model M] [--candidate-model M]\n"
     "          [--format tap|md]       the CI gate: exit 1 on a "
     "regression\n"},
    {"report", hfe_cmd_report,
     "  report RUN... [--format text|md|csv|json|html] [-o FILE] [--long]\n"
     "         [--metric T=M] [--db PATH] [--title TEXT]\n"
     "                                   the decision table: a row a model,\n"
     "                                   quality with its CI, Δ, recovery,\n"
     "                                   flips, KLD, speed, memory, class,\n"
     "                                   Pareto marks and the pick; --long:\n"
     "                                   every metric's row; html: one\n"
     "                                   offline page with the plots, the\n"
     "                                   flipped items and the history\n"},
    {"pick", hfe_cmd_pick,
     "  pick RUN... [--min-recovery R] [--class C] [--max-memory MIB]\n"
     "       [--max-size MIB] [--min-decode T] [--by size|decode|quality]\n"
     "                                   the member each lineage ships, and\n"
     "                                   why not the better-scoring ones;\n"
     "                                   exit 1 when none fits\n"},
    {"models", hfe_cmd_models,
     "  models [--json] LIST             the lineage as a tree: base (from\n"
     "                                   base= or the GGUF), arch, quant,\n"
     "                                   parameters, context, size, "
     "license\n"},
    {"merge", hfe_cmd_merge,
     "  merge --out DIR RUN...           join shard runs (run --shard "
     "K/N)\n"},
    {"export", hfe_cmd_export,
     "  export RUN --format hf|model-index|eee --out DIR [--source URL]\n"
     "      [--source-name NAME] [--instances]\n"
     "                                   the results as the Hub's\n"
     "                                   .eval_results, a card's\n"
     "                                   model-index, Every Eval Ever JSON\n"},
    {"history", hfe_cmd_history,
     "  history [--db PATH] [--model M] [--lineage M] [--metric METRIC]\n"
     "                                   every run's results over time, and\n"
     "                                   where comparability breaks\n"},
    {"plugins", hfe_cmd_plugins,
     "  plugins [--json]                 list backend modules and whether\n"
     "                                   they are usable here\n"},
    {"inspect", hfe_cmd_inspect,
     "  inspect [--json] [--full] FILE.gguf ...\n"
     "                                   every metadata key, arrays "
     "included\n"
     "  inspect [--json] --models LIST   one line per model of a model "
     "list,\n"
     "                                   lineage shown by indentation\n"
     "  inspect --compliance [--json] [--profile P] (FILE.gguf [--card "
     "README.md]\n"
     "          [--hub INFO.json] | --models LIST)\n"
     "                                   provenance, license and "
     "transparency\n"
     "                                   checks; P: provenance, "
     "transparency,\n"
     "                                   open-source-ai\n"},
    {"version", cmd_version,
     "  version                          print the version\n"},
};

static const char environment[] =
    "environment:\n"
    "  HFEVAL_PLUGIN_PATH  more directories to load backends from (a:b)\n"
    "  HFEVAL_LOG          0 errors .. 3 debug, 4 the engine's own log\n"
    "                      (default 1)\n";

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *f)
{
    size_t i;

    fputs("usage: hfeval COMMAND [ARGS]\n\ncommands:\n", f);
    for (i = 0; i < N_COMMANDS; i++)
        fputs(commands[i].usage, f);
    fputs("\n", f);
    fputs(environment, f);
}

int hfe_cli_usage(const char *fmt, const char *arg)
{
    if (fmt) {
        fprintf(stderr, "hfeval: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\n\n");
    }
    print_usage(stderr);
    return HFE_EXIT_USAGE;
}

int hfe_cli_misuse(const char *cmd, const char *args, const char *fmt,
                   const char *arg)
{
    fprintf(stderr, "hfeval %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage: hfeval %s %s\n", cmd, args);
    return HFE_EXIT_USAGE;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("hfeval %s (plugin ABI %d.%d)\n", HFEVAL_VERSION, HFE_ABI_MAJOR,
           HFE_ABI_MINOR);
    return HFE_EXIT_OK;
}

int main(int argc, char **argv)
{
    const char *lvl = getenv("HFEVAL_LOG"), *name;
    size_t i;

    if (lvl && *lvl >= '0' && *lvl <= '4')
        hfe_log_level = *lvl - '0';
    if (argc < 2)
        return hfe_cli_usage(NULL, NULL);
    name = argv[1];
    if (!strcmp(name, "--version"))
        name = "version";
    if (!strcmp(name, "help") || !strcmp(name, "--help") ||
        !strcmp(name, "-h")) {
        print_usage(stdout);
        return HFE_EXIT_OK;
    }
    for (i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    return hfe_cli_usage("unknown command '%s'", argv[1]);
}
