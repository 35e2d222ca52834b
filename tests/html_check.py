#!/usr/bin/env python3
"""html_check.py SEEN.json REPORT.json RUN_DIR [--history]

Judges what tests/browse.cjs saw in Chromium against what the records
say, recomputed here apart from hfeval's C: the report's JSON for the
table (already checked field by field by decide_check.py), run.json,
samples.jsonl and items.jsonl for the points, the fidelity histograms,
the flipped items and their text.  One line a check: "ok NAME" or
"not ok NAME: what differs".
"""
import hashlib
import json
import math
import sys

seen = json.load(open(sys.argv[1]))
rep = json.load(open(sys.argv[2]))
run_dir = sys.argv[3]
want_history = "--history" in sys.argv
run = json.load(open(run_dir + "/run.json"))
samples = {}
for line in open(run_dir + "/samples.jsonl"):
    if line.strip():
        s = json.loads(line)
        samples[(s["model"], s["suite"], s["task"], s["doc_id"])] = s
items = {}
try:
    for line in open(run_dir + "/items.jsonl"):
        if line.strip():
            i = json.loads(line)
            items[(i["suite"], i["task"], i["doc_id"])] = i
except FileNotFoundError:
    pass

def check(name, good, detail=""):
    print(("ok " if good else "not ok ") + name + ("" if good else ": " + str(detail)[:600]))

rows = [m for l in rep["lineages"] for m in l["models"]]
cols = sorted({k[:-len(".value")] for m in rows for k in m if k.endswith(".value")},
              key=lambda c: list(rows[0]).index(c + ".value"))
num = lambda v: v is not None and not (isinstance(v, float) and math.isnan(v))

# what leaves the page, what breaks in it
check("no request leaves the page", seen["requests"] == [], seen["requests"])
check("no console error or warning", seen["console_errors"] == [], seen["console_errors"])
check("no uncaught exception", seen["page_errors"] == [], seen["page_errors"])
check("every step of the browsing worked", seen.get("errors", []) == [], seen.get("errors"))
check("markup in outputs stays text (no script of theirs ran)", seen.get("pwned") is False)

# the tree and the table
check("the tree has a node a model, in lineage order",
      seen["tree"] == [m["model"] for m in rows], seen["tree"])
check("one table a lineage", [t["lineage"] for t in seen["tables"]] ==
      [l["root"] for l in rep["lineages"]], [t["lineage"] for t in seen["tables"]])
check("each table has one row a model, in lineage order",
      [t["rows"] for t in seen["tables"]] == [[m["model"] for m in l["models"]] for l in rep["lineages"]],
      [t["rows"] for t in seen["tables"]])
check("the pick's row is marked", [t["pick"] for t in seen["tables"]] ==
      [[l["pick"]["model"]] if l["pick"]["model"] else [] for l in rep["lineages"]],
      [t["pick"] for t in seen["tables"]])
check("every table is visible", all(t["visible"] for t in seen["tables"]))

# the scatters: a point a model with both numbers; the frontier
sc = {(s["metric"], s["x"]): s for s in seen["scatters"]}
xs = {"size": "size_mib", "decode": "decode_tok_s"}
bad = []
for metric in (["quality"] if len(cols) > 1 else []) + cols:
    field = "quality" if metric == "quality" else metric + ".value"
    shown = "quality" if metric == "quality" else metric.replace(":", " ")
    for x, xf in xs.items():
        s = sc.get((shown, x))
        want = [m["model"] for m in rows if num(m.get(field)) and num(m[xf]) and m[xf] > 0]
        if not s:
            bad.append((shown, x, "missing"))
            continue
        if sorted(s["points"]) != sorted(want) or sorted(s["labels"]) != sorted(want):
            bad.append((shown, x, s["points"], want))
        if metric != "quality" and s["ci"] != sum(1 for m in rows if m["model"] in want
                                                   and num(m.get(metric + ".ci_low"))):
            bad.append((shown, x, "intervals", s["ci"]))
        if not s["visible"]:
            bad.append((shown, x, "not visible"))
check("each scatter has one point (and label) a model with both numbers, "
      "and an interval a point that has one", not bad, bad)
front = {x: sorted(sc[("quality", x)]["front"]) for x in xs if ("quality", x) in sc}
check("the size plot's frontier is the table's S marks",
      front.get("size") == sorted(m["model"] for m in rows if m["pareto_size"]), front.get("size"))
check("the decode plot's frontier is the table's D marks",
      front.get("decode") == sorted(m["model"] for m in rows if m["pareto_decode"]), front.get("decode"))

# fidelity: a histogram a derivative, its bins those the records fill
fid_tasks = [(s["name"], t["name"]) for s in run["suites"] for t in s["tasks"] if t.get("fidelity")]
bad, want_models = [], []
for m in rows:
    if not m["parent"] or not num(m["kld"]):
        continue
    want_models.append(m["model"])
    counts = [0] * 34
    for (mm, su, ta, d), s in samples.items():
        if mm == m["model"] and (su, ta) == fid_tasks[0] and "kld_hist" in s:
            counts = [a + b for a, b in zip(counts, s["kld_hist"]["counts"])]
    tokens = sum(s["metrics"].get("tokens", 0) for (mm, su, ta, d), s in samples.items()
                 if mm == m["model"] and (su, ta) == fid_tasks[0])
    got = [k for k in seen["kld"] if k["model"] == m["model"]]
    if not got or got[0]["bins"] != sum(1 for c in counts if c) or sum(counts) != tokens:
        bad.append((m["model"], got[0]["bins"] if got else None, sum(1 for c in counts if c),
                    sum(counts), tokens))
check("a KLD histogram a derivative, its bars the records' bins, "
      "its counts every scored position", not bad and
      [k["model"] for k in seen["kld"]] == want_models, bad or [k["model"] for k in seen["kld"]])

# the flipped items, recomputed from the samples
by_col = {}
for m in rows:
    if not m["parent"]:
        continue
    for c in cols:
        sut, metric = c.split(":", 1)
        su, ta = sut.split("/", 1)
        down, up, paired = [], [], 0
        docs = sorted(d for (mm, s2, t2, d) in samples if (mm, s2, t2) == (m["model"], su, ta))
        for d in docs:
            a, b = samples.get((m["parent"], su, ta, d)), samples.get((m["model"], su, ta, d))
            if not a or not b:
                continue
            va, vb = a["metrics"].get(metric), b["metrics"].get(metric)
            if va not in (0, 1) or vb not in (0, 1):
                continue
            paired += 1
            if va != vb:
                (down if vb < va else up).append(b["item_id"] if b["item_id"] is not None else str(d))
        by_col[(m["model"], sut)] = (down, up, paired, m.get(c + ".down"), m.get(c + ".up"))
bad = []
pairs = {(p["model"], p["task"]): p for p in seen["pairs"]}
for key, (down, up, paired, rd, ru) in by_col.items():
    p = pairs.get(key)
    if not down and not up:
        if p:
            bad.append((key, "a pair with no flip"))
        continue
    if not p:
        bad.append((key, "missing", len(down), len(up)))
        continue
    if p["down"] != down[:250] or p["up"] != up[:250]:
        bad.append((key, p["down"][:5], down[:5], p["up"][:5], up[:5]))
    if f": {len(down)} \u2193, {len(up)} \u2191 of {paired} items" not in p["summary"]:
        bad.append((key, p["summary"]))
    if rd is not None and (rd, ru) != (len(down), len(up)):
        bad.append((key, "the table's counts", rd, ru))
check("each derivative's flipped items, down and up, are the records' "
      "and the table's counts", not bad, bad)
check("no pair beyond the records'", set(pairs) <= set(by_col), set(pairs) - set(by_col))

# the items opened: the prompt, both answers, what was expected
bad = []
for f in seen.get("flips", []):
    w = f["want"]
    su, ta = w["task"].split("/", 1)
    m = next(r for r in rows if r["model"] == w["model"])
    doc = next(d for (mm, s2, t2, d), s in samples.items()
               if (mm, s2, t2) == (w["model"], su, ta) and s["item_id"] == w["item"])
    it = items.get((su, ta, doc))
    a, b = samples[(m["parent"], su, ta, doc)], samples[(w["model"], su, ta, doc)]

    def out(s):
        if "output" in s:
            return s["output"]
        return "picked " + json.dumps(it["choices"][s["pick"]], ensure_ascii=False)
    if f["sides_before_click"] != 0 or not f["open"]:
        bad.append((w, "closed before the click, open after"))
    if not it or f["prompt"] != it["prompt"] or \
            hashlib.sha256(it["prompt"].encode()).hexdigest() != b["prompt_sha256"]:
        bad.append((w, "prompt", (f["prompt"] or "")[:80]))
    for side, s in (("parent", a), ("model", b)):
        g = f[side]
        if not g or not g["visible"] or g["out"] != out(s):
            bad.append((w, side, g and (g["out"] or "")[:80], out(s)[:80]))
        if "exec" in s and g["exec"] != "tests: " + ", ".join(r["status"] for r in s["exec"]["runs"]):
            bad.append((w, side, "exec", g["exec"]))
        if "logprobs" in s and len(g["choices"]) != len(s["logprobs"]):
            bad.append((w, side, "choices", g["choices"]))
    if "target" in b and f["target"] != b["target"]:
        bad.append((w, "target", f["target"], b["target"]))
check(f"{len(seen.get('flips', []))} flipped items opened show the prompt, "
      "both answers side by side, the expected answer and the test verdicts",
      not bad and seen.get("flips"), bad)

# sorting by a column
if "sort_asc" in seen:
    t = rep["lineages"][0]["models"]
    asc = [m["model"] for m in sorted(t, key=lambda m: (not num(m["size_mib"]), m["size_mib"] or 0))]
    desc = [m["model"] for m in sorted(t, key=lambda m: (not num(m["size_mib"]), -(m["size_mib"] or 0)))]
    check("a header sorts the table by its column, again the other way, "
          "and 'model' restores the lineage order",
          seen["sort_asc"] == asc and seen["sort_desc"] == desc and
          seen["sort_restored"] == [m["model"] for m in t],
          (seen["sort_asc"], asc, seen["sort_desc"], desc, seen["sort_restored"]))

# the history
if want_history:
    got = {s["metric"]: s for s in seen["series"]}
    bad = [c for c in cols if c.replace(":", " ") not in got]
    check("a history chart a column of the table", not bad, bad)
    breaks = [b for s in seen["series"] for b in s["breaks"]]
    check("the changed suite is marked as a break on its lines",
          any("suite changed" in b for b in breaks), breaks[:3])
    check("a line a model and metric", all(sorted(set(s["lines"])) ==
          sorted(m["model"] for m in rows) for s in seen["series"]),
          [(s["metric"], s["lines"]) for s in seen["series"]][:3])

# provenance
prov = seen["provenance"] or ""
want = [run["hfeval"]["version"], run["machine"]["os"]] + \
       [m["backend"]["version"] for m in run["models"]] + \
       [s["file"]["sha256"] for s in run["suites"]] + \
       [d["sha256"] for s in run["suites"] for d in s["data"]]
miss = [w for w in want if w not in prov]
check("the footer gives hfeval's version, each backend's build, every "
      "suite's and data file's digest and the machine", not miss, miss)
