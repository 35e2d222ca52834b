#!/usr/bin/env python3
"""decide_check.py RUN_DIR REPORT.json [--min-recovery R] [--class C] [--by B]

Recomputes every column of hfeval's decision table from the run's own
records (run.json, samples.jsonl), apart from hfeval's code, and compares
them with `hfeval report --format json`: the values, intervals, changes,
recoveries, flips and McNemar's exact p (by the binomial sum), quality,
fidelity, degeneration, speed and memory, class, the Pareto marks and the
pick.  Prints one line per disagreement and, last, "checked N fields"."""
import json
import math
import sys

run_dir, report = sys.argv[1], sys.argv[2]
opts = dict(zip(sys.argv[3::2], sys.argv[4::2]))
min_rec = float(opts.get("--min-recovery", 0.98))
min_class = {"any": 0, "open-weights": 1, "open-source": 2}[opts.get("--class", "open-weights")]
by = opts.get("--by", "size")

run = json.load(open(run_dir + "/run.json"))
rep = json.load(open(report))
samples = {}
for line in open(run_dir + "/samples.jsonl"):
    s = json.loads(line)
    samples.setdefault((s["model"], s["suite"], s["task"]), {})[
        s["item_id"] if s["item_id"] is not None else s["doc_id"]] = s["metrics"]

models = {m["name"]: m for m in run["models"]}
results = {}
for r in run["results"]:
    if "metric" in r:
        results[(r["model"], r["suite"], r["task"], r["metric"])] = r
tasks = [(s["name"], t) for s in run["suites"] for t in s["tasks"]]
LOWER = ("ppl_token", "bits_per_byte", "rms_delta_p", "ttft_ms", "truncated", "looped", "perplexity")
checked = 0
bad = []


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return a == b
    return abs(a - b) <= 1e-6 * max(1, abs(a), abs(b))


def want(model, field, got, expect):
    global checked
    checked += 1
    if not close(got, expect):
        bad.append(f"{model} {field}: report says {got!r}, the records {expect!r}")


def mcnemar(b, c):
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    p = 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, p)


def rank(k):
    return {"open source": 2, "open weights": 1, "restricted": 0}.get(k, -1)


for lin in rep["lineages"]:
    rows = {r["model"]: r for r in lin["models"]}
    root = lin["root"]
    for name, row in rows.items():
        m = models[name]
        parent = m["base"]
        want(name, "parent", row["parent"], parent)
        want(name, "quantization", row["quantization"], m["info"]["quantization"])
        want(name, "size_mib", row["size_mib"], m["file"]["bytes"] / 2 ** 20)
        want(name, "params", row["params"], m["info"]["n_params"] or None)
        qs = []
        for suite, t in tasks:
            if t["kind"] == "compliance" or t.get("timing") or t.get("fidelity"):
                continue
            metric = t.get("primary") or next(  # else the first computed
                (r["metric"] for r in run["results"] if r.get("metric") and
                 (r["suite"], r["task"]) == (suite, t["name"])), None)
            key = f"{suite}/{t['name']}:{metric}"
            r = results.get((name, suite, t["name"], metric))
            if r is None:
                continue
            v, se = r["value"], r["stderr"]
            lo, hi = v - 1.96 * se, v + 1.96 * se
            if metric.startswith(("acc", "exact_match", "pass@", "maj@")):
                lo, hi = max(0.0, lo), min(1.0, hi)
            want(name, key + ".value", row[key + ".value"], v)
            want(name, key + ".ci_low", row[key + ".ci_low"], lo)
            want(name, key + ".ci_high", row[key + ".ci_high"], hi)
            want(name, key + ".n", row[key + ".n"], r["n"])
            rr = results[(root, suite, t["name"], metric)]
            want(name, key + ".recovery", row[key + ".recovery"],
                 v / rr["value"] if rr["value"] else None)
            if metric not in LOWER:
                qs.append(v)
            if parent is None:
                for f in ("delta_parent", "down", "up", "p"):
                    want(name, key + "." + f, row[key + "." + f], None)
                continue
            pr = results[(parent, suite, t["name"], metric)]
            want(name, key + ".delta_parent", row[key + ".delta_parent"], v - pr["value"])
            a = samples[(parent, suite, t["name"])]
            b = samples[(name, suite, t["name"])]
            both = [i for i in a if i in b]
            down = sum(1 for i in both if a[i][metric] == 1 and b[i][metric] == 0)
            up = sum(1 for i in both if a[i][metric] == 0 and b[i][metric] == 1)
            want(name, key + ".down", row[key + ".down"], down)
            want(name, key + ".up", row[key + ".up"], up)
            want(name, key + ".p", row[key + ".p"], mcnemar(down, up))
        quality = sum(qs) / len(qs) if qs else None
        want(name, "quality", row["quality"], quality)
        row["_q"] = quality
        fid = [(s, t) for s, t in tasks if t.get("fidelity")]
        for f, metric in (("kld", "kld"), ("kld_p99", "kld_p99"), ("same_top", "same_top")):
            r = results.get((name, fid[0][0], fid[0][1]["name"], metric)) if fid else None
            want(name, f, row[f], r["value"] if r else None)
        for f in ("truncated", "looped"):
            tot = n = 0
            for suite, t in tasks:
                r = results.get((name, suite, t["name"], f))
                if r:
                    tot += r["value"] * r["n"]
                    n += r["n"]
            want(name, f, row[f], tot / n if n else None)
        ms = m["measure"]
        want(name, "speed", row["speed"], "batched")
        want(name, "prompt_tok_s", row["prompt_tok_s"], ms.get("prompt_tok_s"))
        want(name, "decode_tok_s", row["decode_tok_s"], ms.get("decode_tok_s"))
        want(name, "ttft_p50_ms", row["ttft_p50_ms"], ms.get("ttft_ms", {}).get("p50"))
        want(name, "latency_p90_ms", row["latency_p90_ms"], ms.get("latency_ms", {}).get("p90"))
        want(name, "peak_mib", row["peak_mib"], ms.get("device_peak_mib", ms.get("peak_rss_mib")))
        want(name, "load_ms", row["load_ms"], ms.get("load_ms"))
        cc = m["compliance"]
        want(name, "class", row["class"], cc["class"])
        want(name, "license", row["license"], cc["license"])
        want(name, "failed", row["failed"], ", ".join(cc["failed"]) or None)
    qroot = rows[root]["_q"]
    for name, row in rows.items():
        rec = row["_q"] / qroot if row["_q"] is not None and qroot else None
        want(name, "recovery", row["recovery"], rec)
        row["_rec"] = rec
    # Pareto: no other member at least as good on quality and on size (or
    # decode speed), better on one
    for name, row in rows.items():
        q = row["_q"]
        for f, axis, up in (("pareto_size", "size_mib", False), ("pareto_decode", "decode_tok_s", True)):
            x = row[axis]
            mark = q is not None and x is not None and not any(
                o["_q"] is not None and o[axis] is not None and o["_q"] >= q
                and (o[axis] >= x if up else o[axis] <= x)
                and (o["_q"] > q or (o[axis] > x if up else o[axis] < x))
                for n2, o in rows.items() if n2 != name)
            want(name, f, row[f], mark)
    fits = [n for n, r in rows.items()
            if r["_rec"] is not None and r["_rec"] >= min_rec and rank(r["class"]) >= min_class]
    key = {"size": lambda n: (-rows[n]["size_mib"], rows[n]["_q"]),
           "decode": lambda n: (rows[n]["decode_tok_s"], rows[n]["_q"]),
           "quality": lambda n: (rows[n]["_q"], 0)}[by]
    best = None
    for n in rows:  # list order between equals, as hfeval keeps it
        if n in fits and (best is None or key(n) > key(best)):
            best = n
    want(root, "pick.model", lin["pick"]["model"], best)
    for name, row in rows.items():
        want(name, "pick", row["pick"], name == best)
    better = [n for n, r in rows.items() if best and n != best and r["_q"] > rows[best]["_q"]]
    if best:
        want(root, "pick.ruled_out", [x["model"] for x in lin["pick"]["ruled_out"]], better)

ranked = [r["model"] for r in rep["ranking"]]
allq = {r["model"]: r["_q"] for lin in rep["lineages"] for r in lin["models"]}
want("-", "ranking", ranked, sorted(allq, key=lambda n: -allq[n] if allq[n] is not None else math.inf))
for line in bad:
    print(line)
print(f"checked {checked} fields")
