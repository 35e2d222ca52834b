#!/usr/bin/env python3
"""lmeval_groups.py RUN_DIR

Each group row of RUN_DIR/run.json recomputed from its members' rows the
way lm-evaluation-harness aggregates a group (lm_eval/api/metrics.py:
aggregate_subtask_metrics and pooled_sample_stderr; evaluator.py's
consolidate_group_results, members before the groups holding them),
written here from its code; one line a group: name value stderr n, for
tests/lmeval.t to compare with hfeval's own rows.
"""
import json
import math
import sys

run = json.load(open(sys.argv[1] + "/run.json"))
rows = {(r["task"], r["metric"]): r for r in run["results"]}
for suite in run["suites"]:
    have = {}
    for t in suite["tasks"]:
        for (task, metric), r in rows.items():
            if task == t["name"]:
                have[(task, metric)] = (r["value"], r["stderr"] or 0.0, r["n"])
    for g in suite.get("groups", []):
        for m in g["metrics"]:
            parts = [have[(t, m["metric"])] for t in g["tasks"]]
            values = [p[0] for p in parts]
            sizes = [p[2] for p in parts]
            weights = sizes if m["weight_by_size"] else [1] * len(sizes)
            value = sum(v * w for v, w in zip(values, weights)) / sum(weights)
            var = sum((n - 1) * se**2 * n for (_, se, n) in parts) / (sum(sizes) - len(sizes))
            stderr = math.sqrt(var / sum(sizes))
            have[(g["name"], m["metric"])] = (value, stderr, sum(sizes))
            print(g["name"], m["metric"], "%.6f %.6f %d" % (value, stderr, sum(sizes)))
