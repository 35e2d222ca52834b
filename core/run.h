/*
 * run.h - `hfeval run`: suites over a model list.
 *
 *   hfeval run SUITE.lua [SUITE.lua ...] --models LIST [--set key=value ...]
 *              [--limit N] [--out DIR]
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
 * Metrics: choice: acc, acc_norm (log-likelihood per byte of the choice),
 * acc_tok (per token); generate: exact_match; rolling: token perplexity
 * and bits per byte.  Every mean carries its sample count and standard
 * error.  Per-sample records go to OUT/samples.jsonl.
 */
#ifndef HFEVAL_RUN_H
#define HFEVAL_RUN_H

int hfe_run_main(int argc, char **argv);

#endif /* HFEVAL_RUN_H */
