/*
 * cli.h - the hfeval command line: one file a command (cli/cmd_*.c),
 * each parsing its options once and then calling the library (core/).
 * cli/main.c holds the table of commands, from which `hfeval --help` is
 * printed.  A command returns the process's exit status (hfeval.h).
 */
#ifndef HFEVAL_CLI_H
#define HFEVAL_CLI_H

#include "hfeval.h"

/* argv[0] is the command's own name ("run"). */
int hfe_cmd_run(int argc, char **argv);
int hfe_cmd_merge(int argc, char **argv);
int hfe_cmd_export(int argc, char **argv);
int hfe_cmd_compare(int argc, char **argv);
int hfe_cmd_report(int argc, char **argv);
int hfe_cmd_pick(int argc, char **argv);
int hfe_cmd_history(int argc, char **argv);
int hfe_cmd_models(int argc, char **argv);
int hfe_cmd_inspect(int argc, char **argv);
int hfe_cmd_plugins(int argc, char **argv);

/* "hfeval: " fmt (with arg) and the usage of every command, on stderr;
 * returns HFE_EXIT_USAGE.  fmt NULL: the usage alone. */
int hfe_cli_usage(const char *fmt, const char *arg);

/* "hfeval CMD: " fmt (with arg) and "usage: hfeval CMD ARGS", on
 * stderr; returns HFE_EXIT_USAGE.  A command's own misuse. */
int hfe_cli_misuse(const char *cmd, const char *args, const char *fmt,
                   const char *arg);

#endif /* HFEVAL_CLI_H */
