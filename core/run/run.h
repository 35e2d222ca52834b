/*
 * run.h - `hfeval run`: suites over a model list.
 *
 *   hfeval run SUITE.lua [SUITE.lua ...] --models LIST [--set key=value ...]
 *              [--limit N] [--out DIR] [--db PATH]
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

int hfe_run_main(int argc, char **argv);

/* hfeval merge --out DIR RUN...: shard runs (--shard K/N) joined into
 * one whose tables equal the unsharded run's. */
int hfe_merge_main(int argc, char **argv);

#endif /* HFEVAL_RUN_H */
