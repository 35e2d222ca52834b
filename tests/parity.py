#!/usr/bin/env python3
"""parity.py RUN_DIR:MODEL RUN_DIR:MODEL [MAX_LP_DIFF] [MIN_SAME_GEN]

Pairs the per-sample records of two models (of one run or two) by (task,
doc_id, sample) and prints one line per fact:
    loglik N max_abs_diff D
    generate N same S
    verdict ok|not ok: ...
and exits 0 when every log-probability pair is within MAX_LP_DIFF (1e-2)
(with PARITY_METRICS=1, every per-sample metric equal too)
and at least MIN_SAME_GEN (0.95) of the greedy generations are identical.
"""
import json
import os
import sys

a, b = sys.argv[1:3]
max_lp = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-2
min_same = float(sys.argv[4]) if len(sys.argv) > 4 else 0.95
recs = {a: {}, b: {}}
for spec in (a, b):
    run, model = spec.rsplit(":", 1)
    with open(run + "/samples.jsonl") as f:
        for line in f:
            r = json.loads(line)
            if r["model"] == model:
                key = (r["task"], r["doc_id"], r.get("sample", 0))
                recs[spec][key] = r
if set(recs[a]) != set(recs[b]) or not recs[a]:
    print("records differ: %d in %s, %d in %s, %d in neither's other"
          % (len(recs[a]), a, len(recs[b]), b,
             len(set(recs[a]) ^ set(recs[b]))))
    sys.exit(1)
n_lp = n_gen = same = 0
worst = 0.0
worst_at = None
for key, ra in recs[a].items():
    rb = recs[b].get(key)
    if rb is None:
        print("missing %s in %s" % (key, b))
        sys.exit(1)
    pairs = list(zip(ra.get("logprobs", []), rb.get("logprobs", [])))
    ma, mb = ra.get("metrics", {}), rb.get("metrics", {})
    if "logprob" in ma:  # a rolling task: the text's log-likelihood
        pairs.append((ma["logprob"], mb.get("logprob", float("inf"))))
        if ma.get("tokens") != mb.get("tokens") or ma.get("bytes") != mb.get("bytes"):
            print("tokens or bytes differ at %s" % (key,))
            sys.exit(1)
    if os.environ.get("PARITY_METRICS") == "1":  # the scores themselves
        for k in ma:
            if k != "logprob" and ma[k] != mb.get(k):
                print("metric %s differs at %s: %r, %r" % (k, key, ma[k], mb.get(k)))
                sys.exit(1)
    for x, y in pairs:
        n_lp += 1
        if abs(x - y) > worst:
            worst, worst_at = abs(x - y), key
    if "logprobs" in ra and len(ra["logprobs"]) != len(rb.get("logprobs", [])):
        print("choices differ at %s" % (key,))
        sys.exit(1)
    if "completion" in ra or "output" in ra:
        fa = ra.get("completion", ra.get("output"))
        fb = rb.get("completion", rb.get("output"))
        n_gen += 1
        same += fa == fb
print("loglik %d max_abs_diff %.3g at %s" % (n_lp, worst, worst_at))
print("generate %d same %d" % (n_gen, same))
ok = worst <= max_lp and (n_gen == 0 or same >= min_same * n_gen)
print("verdict %s" % ("ok" if ok else "not ok"))
sys.exit(0 if ok else 1)
