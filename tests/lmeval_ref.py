#!/usr/bin/env python3
"""lmeval_ref.py TASK.yaml DATA.jsonl[.gz] N [FEWSHOT.jsonl NUM_FEWSHOT]

What lm-evaluation-harness builds for the first N documents of a
multiple_choice task, written here from its semantics (lm_eval/api/task.py
and utils.py at 4e7e0d4, MIT; ../shared/formats.md) with the real Jinja2
(Environment(undefined=StrictUndefined, keep_trailing_newline=True)) and
PyYAML, nothing of hfeval's: one JSON line a document, {"prompt",
"choices", "gold"}, for tests/lmeval.t to compare byte for byte with
hfeval's items.jsonl and samples.jsonl.
"""
import ast
import gzip
import json
import os
import sys

import jinja2
import yaml


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


env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def apply(tpl, doc):
    return env.from_string(tpl).render(**doc)


def rows(path, cfg):
    op = gzip.open if path.endswith(".gz") else open
    out = [json.loads(x) for x in op(path, "rt")]
    if cfg.get("dataset_name") and out and "subject" in out[0]:
        out = [r for r in out if r["subject"] == cfg["dataset_name"]]
    return out


def main():
    cfg = load(sys.argv[1])
    docs = rows(sys.argv[2], cfg)[: int(sys.argv[3])]
    pool = rows(sys.argv[4], cfg) if len(sys.argv) > 4 else []
    shots = int(sys.argv[5]) if len(sys.argv) > 5 else int(cfg.get("num_fewshot") or 0)

    def text(d):
        t = cfg["doc_to_text"]
        return d[t] if t in d else apply(t, d)

    def choices(d):
        c = cfg["doc_to_choice"]
        if isinstance(c, list):
            return c
        return d[c] if c in d else ast.literal_eval(apply(c, d))

    def target(d):
        t = cfg["doc_to_target"]
        if isinstance(t, int):
            return t
        if t in d:
            return d[t]
        s = apply(t, d)
        return int(s) if s.isdigit() else s

    def gold(d):
        t = target(d)
        return t if isinstance(t, int) else choices(d).index(t)

    td = cfg.get("target_delimiter", " ")
    fd = cfg.get("fewshot_delimiter", "\n\n")
    desc = cfg.get("description", "")
    if shots:
        desc += fd.join(text(d) + td + str(choices(d)[gold(d)]) for d in pool[:shots]) + fd
    for d in docs:
        print(json.dumps({"prompt": desc + text(d), "choices": [td + str(c) for c in choices(d)],
                          "gold": gold(d)}))


main()
