/*
 * run.h - the runner behind `hfeval run` (cli/cmd_run.c parses the
 * command line; `hfeval --help` has its synopsis): suites over a model
 * list.
 *
 * A suite is a Lua file returning a table (suites/README.md):
 *
 *   return {
 *     name = "arith", version = "1",
 *     tasks = {
 *       { name = "add", kind = "choice",       -- or "generate", "rolling"
 *         docs = function() return hfe.read_jsonl("data/add.jsonl") end,
 *         prompt = function(doc) return doc.q end,
 *         choices = function(doc) return doc.choices end,  -- choice
 *         gold = function(doc) return doc.answer end,       -- 0-based
 *         target = function(doc) return doc.a end,          -- generate
 *         ["until"] = {"\n"}, max_tokens = 64,              -- generate
 *         extract = "answer is (\\d+)",                     -- generate
 *         text = function(doc) return doc.text end,         -- rolling
 *         id = function(doc) return doc.id end,             -- optional
 *         choice_prefix = true },  -- llama.cpp's HellaSwag scoring
 *     },
 *   }
 *
 * Tasks are "choice", "generate" (samples, filters, pass@k, chat,
 * timing) or "rolling" (llama-perplexity windows, fidelity against the
 * lineage parent), each with metrics written in Lua if it likes; score.h
 * lists the metrics.  Models run parents first (models.h: base=NAME).
 * Every mean is printed with its sample count and standard error (on a
 * terminal as hfeval report's lineage tables, else a row a metric);
 * per-sample records go to OUT/samples.jsonl, the run record to
 * OUT/run.json (results/README.md) and to the history database
 * (history.h).  Exit status: 0, 1 when a
 * model or task failed, 5 when a suite's own code did (hfeval.h).
 */
#ifndef HFEVAL_RUN_H
#define HFEVAL_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "gate.h"
#include "lua_rt.h"
#include "suite.h"

/* What a run is asked to do; the caller owns every field. */
struct hfe_run_opts {
    const char *const *suites;        /* suite files, in order            */
    size_t n_suites;                  /* at least one                     */
    const char *list_file;            /* the model list                   */
    const char *out_dir;              /* NULL: results/runs/<time>-<pid>   */
    const char *db;                   /* the history; NULL: the default    */
    const char *resume;               /* a run directory to continue      */
    const char *html;                 /* the HTML report's file, or NULL   */
    struct hfe_lua_opts lo;           /* --set pairs, --skip-bad-lines    */
    struct hfe_select sel;            /* --limit, --shard                 */
    double watchdog;                  /* seconds; 0: the worker's default */
    const struct hfe_gate_opts *gate; /* run --gate, or NULL       */
    const char *cache_dir;            /* --cache; NULL: the default       */
    uint64_t cache_max;               /* --cache-max; 0: the default      */
    int no_cache;                     /* --no-cache                       */
    int argc;                         /* the command ("run" ...), for the */
    char **argv;                      /* journal and the run record       */
};

/* Runs it: records in the run directory, a row in the history, the
 * tables on stdout.  Returns the exit status (hfeval.h). */
int hfe_run(const struct hfe_run_opts *o);

#endif /* HFEVAL_RUN_H */
