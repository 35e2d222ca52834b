#!/usr/bin/env python3
"""lmeval_ref.py TASK.yaml DATA N [FEWSHOT NUM_FEWSHOT]

What lm-evaluation-harness builds for the first N documents of a task,
written here from its code (lm_eval/api/task.py and samplers.py, MIT;
../shared/formats.md) with the real Jinja2 (StrictUndefined,
keep_trailing_newline), PyYAML and Python's random, nothing of hfeval's.
The task's own Python helpers (winogrande's, hellaswag's process_docs,
truthfulqa's process_results_mc2) are imported from beside the YAML and
called; the modules they import that Debian's python3 lacks here
(datasets, numpy, sacrebleu, rouge_score) are stood in for by the little
they use.  One JSON line a document:
  multiple_choice  {"prompt", "choices", "gold"} (+ "contexts" when the
                   choices are contexts)
  loglikelihood    {"prompt", "continuation"}
  generate_until   {"prompt"}
`--mc2 SAMPLES` instead prints each document's process_results_mc2 value
from hfeval's log-likelihoods in SAMPLES (samples.jsonl).
"""
import ast
import gzip
import importlib
import json
import math
import os
import random
import sys
import types

import jinja2
import yaml


# ---- stand-ins for what the helpers import --------------------------------
class Array(list):
    def _map(self, o, f):
        return Array(f(a, b) for a, b in zip(self, o if isinstance(o, list) else [o] * len(self)))

    def __truediv__(self, o):
        return self._map(o, lambda a, b: a / b)

    def __eq__(self, o):
        return self._map(o, lambda a, b: a == b)

    def __getitem__(self, k):
        if isinstance(k, list):
            return Array(x for x, m in zip(self, k) if m)
        return list.__getitem__(self, k)


np = types.ModuleType("numpy")
np.array = lambda v: Array(v)
np.exp = lambda v: Array(math.exp(x) for x in v)
np.sum = lambda v: math.fsum(v)


class Dataset(list):
    def map(self, f):
        return Dataset({**d, **f(d)} for d in self)


ds = types.ModuleType("datasets")
ds.Dataset = Dataset
for name, mod in (("numpy", np), ("datasets", ds)):
    sys.modules[name] = mod
for name in ("sacrebleu", "rouge_score"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["rouge_score"].rouge_scorer = sys.modules["rouge_score"].scoring = None


class Loader(yaml.SafeLoader):
    pass


Loader.add_constructor("!function", lambda l, n: {"!function": l.construct_scalar(n)})


def load(path):
    cfg = yaml.load(open(path), Loader=Loader)
    if "include" in cfg:
        base = load(os.path.join(os.path.dirname(path), cfg.pop("include")))
        base.update(cfg)
        cfg = base
    return cfg


def helper(path, spec):
    sys.path.insert(0, os.path.dirname(path))
    mod, fn = spec["!function"].rsplit(".", 1)
    return getattr(importlib.import_module(mod), fn)


env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def apply(tpl, doc):
    return env.from_string(tpl).render(**doc)


def rows(path, cfg):
    op = gzip.open if path.endswith(".gz") else open
    out = [json.loads(x) for x in op(path, "rt")]
    if cfg.get("dataset_name") and out and "subject" in out[0]:
        out = [r for r in out if r["subject"] == cfg["dataset_name"]]
    pd = cfg.get("process_docs")
    return list(helper(sys.argv[1], pd)(Dataset(out))) if pd else out


def main():
    path = sys.argv[1]
    cfg = load(path)
    if sys.argv[2] == "--mc2":
        f = helper(path, cfg["process_results"])
        docs = rows(sys.argv[3], cfg)
        for line in open(sys.argv[4]):
            s = json.loads(line)
            res = [(ll, False) for ll in s["logprobs"]]
            print(json.dumps({"doc_id": s["doc_id"], "acc": f(docs[s["doc_id"]], res)["acc"]}))
        return
    alldocs = rows(sys.argv[2], cfg)
    n = int(sys.argv[3])
    pool = rows(sys.argv[4], cfg) if len(sys.argv) > 4 else alldocs
    shots = int(sys.argv[5]) if len(sys.argv) > 5 else int(cfg.get("num_fewshot") or 0)
    has_choice = cfg.get("doc_to_choice") is not None

    def field(key, d):
        t = cfg.get(key)
        if isinstance(t, dict) and "!function" in t:
            return helper(path, t)(d)
        if isinstance(t, (int, list)):
            return t
        if t in d:
            return d[t]
        s = apply(t, d)
        if has_choice and s.isdigit():
            return ast.literal_eval(s)
        if key == "doc_to_target" and len(s) >= 2 and s[0] == "[" and s[-1] == "]":
            try:
                return ast.literal_eval(s)
            except (SyntaxError, ValueError):
                pass
        return s

    def choices(d):
        c = cfg["doc_to_choice"]
        if isinstance(c, dict) and "!function" in c:
            return helper(path, c)(d)
        if isinstance(c, list):
            return c
        return d[c] if c in d else ast.literal_eval(apply(c, d))

    td = cfg.get("target_delimiter", " ")
    fd = cfg.get("fewshot_delimiter", "\n\n")
    sampler = (cfg.get("fewshot_config") or {}).get("sampler", "default")
    rnd = random.Random(1234)
    same = cfg.get("fewshot_split") is not None and cfg.get("fewshot_split") == cfg.get("test_split")
    multiple_input = isinstance(field("doc_to_text", alldocs[0]), int)

    def context(doc):  # samplers.ContextSampler.get_context
        desc = apply(cfg["description"], doc) if cfg.get("description") else ""
        if not shots:
            return desc
        k = shots + 1 if same else shots
        drawn = pool[:k] if sampler == "first_n" else rnd.sample(pool, k)
        out = desc
        for ex in [x for x in drawn if x != doc][:shots]:
            c, t = field("doc_to_text", ex), field("doc_to_target", ex)
            out += c if isinstance(c, str) else choices(ex)[c]
            if t != "":
                out += td + (str(t[0]) if isinstance(t, list)
                             else t if not has_choice or isinstance(t, str) else str(choices(ex)[t])) + fd
        return out

    ot = cfg.get("output_type", "generate_until")
    for d in alldocs[:n]:
        head = context(d)
        if ot == "multiple_choice":
            cs = choices(d)
            if multiple_input:
                cont = td + str(field("doc_to_target", d))
                out = {"prompt": head, "contexts": [head + c for c in cs],
                       "choices": [cont] * len(cs), "gold": field("doc_to_text", d)}
            else:
                g = field("doc_to_target", d)
                out = {"prompt": head + field("doc_to_text", d), "choices": [td + str(c) for c in cs],
                       "gold": cs.index(g) if isinstance(g, str) else g}
        elif ot == "loglikelihood":
            out = {"prompt": head + field("doc_to_text", d), "continuation": field("doc_to_target", d)}
        else:
            out = {"prompt": head + field("doc_to_text", d)}
        print(json.dumps(out))


main()
