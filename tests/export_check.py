#!/usr/bin/env python3
"""export_check.py FORMAT OUT RUN_DIR [SCHEMA] [--source URL] [--instances SCHEMA]

Reads what `hfeval export --format FORMAT --out OUT RUN_DIR` wrote back
(PyYAML, python3-jsonschema) and checks it field by field against the
rules of ../shared/formats.md and against run.json's own numbers.  Prints
one line a problem; exit 1 when there is any.
"""
import glob
import json
import os
import sys

import yaml

fmt, out, run_dir = sys.argv[1:4]
rest = sys.argv[4:]
source = rest[rest.index("--source") + 1] if "--source" in rest else None
inst = rest[rest.index("--instances") + 1] if "--instances" in rest else None
schema = rest[0] if rest and not rest[0].startswith("--") else None
run = json.load(open(os.path.join(run_dir, "run.json")))
bad = []


def say(msg):
    bad.append(msg)


def value(model, suite, task, metric):
    for r in run["results"]:
        if (r["model"], r["suite"], r["task"], r.get("metric")) == (model, suite, task, metric):
            return r
    return None


def check_instances(f, doc, name):
    """The instance-level file the aggregate names: valid, a line a sample,
    its checksum and row count the aggregate's, each score the record's."""
    import hashlib
    import jsonschema
    suite, task = doc["evaluation_results"][0]["evaluation_result_id"].split("/")[:2]
    kind = next(t["kind"] for s in run["suites"] if s["name"] == suite
                for t in s["tasks"] if t["name"] == task)
    d = doc.get("detailed_evaluation_results")
    if kind not in ("choice", "generate"):
        if d:
            say(f"{f}: detailed_evaluation_results for a {kind} task")
        return
    if not d:
        say(f"{f}: no detailed_evaluation_results")
        return
    path = os.path.join(os.path.dirname(f), d["file_path"])
    data = open(path, "rb").read()
    if hashlib.sha256(data).hexdigest() != d.get("checksum"):
        say(f"{path}: checksum is not the aggregate's")
    v = jsonschema.Draft7Validator(json.load(open(inst)))
    lines = [json.loads(x) for x in data.decode().splitlines()]
    recs = [json.loads(x) for x in open(os.path.join(run_dir, "samples.jsonl"))]
    recs = [r for r in recs if (r["model"], r["suite"], r["task"]) == (name, suite, task)]
    if len(lines) != len(recs) or d.get("total_rows") != len(recs):
        say(f"{path}: {len(lines)} lines, total_rows {d.get('total_rows')}, {len(recs)} samples")
    primary = next(t.get("primary") for s in run["suites"] if s["name"] == suite
                   for t in s["tasks"] if t["name"] == task)
    for x, r in zip(lines, recs):
        for e in v.iter_errors(x):
            say(f"{path}: {'/'.join(map(str, e.path))}: {e.message:.160}")
        if x["evaluation_id"] != doc["evaluation_id"]:
            say(f"{path}: evaluation_id is not the aggregate's")
        want = r["metrics"].get(primary)
        if want is not None and x["evaluation"]["score"] != want:
            say(f"{path}: sample {r['doc_id']}: score {x['evaluation']['score']} not {want}")


hubbed = [(s["name"], t) for s in run["suites"] for t in s["tasks"] if "hub" in t]
models = [m for m in run["models"] if "info" in m]
if not hubbed:
    say("the run has no task with a hub mapping: nothing to check")

for m in models:
    name = m["name"]
    if fmt == "hf":
        path = os.path.join(out, name, ".eval_results", "hfeval.yaml")
        doc = yaml.safe_load(open(path))
        if not isinstance(doc, list) or len(doc) != len(hubbed):
            say(f"{path}: a list of {len(hubbed)} entries expected, got {doc!r:.80}")
            continue
        for e, (suite, t) in zip(doc, hubbed):
            hub = t["hub"]
            d = e.get("dataset", {})
            if d.get("id") != hub["dataset"] or not isinstance(d.get("task_id"), str):
                say(f"{path}: dataset.id/task_id {d!r}")
            for k in ("config", "split", "revision"):
                if k in d and (not isinstance(d[k], str) or d[k] != hub.get(k)):
                    say(f"{path}: dataset.{k} {d[k]!r} is not the suite's string {hub.get(k)!r}")
            r = value(name, suite, t["name"], hub.get("metric", t.get("primary")))
            if not isinstance(e.get("value"), (int, float)) or isinstance(e.get("value"), bool):
                say(f"{path}: value {e.get('value')!r} is not a number")
            elif r is None or abs(e["value"] - r["value"]) > 1e-9 * max(1, abs(r["value"])):
                say(f"{path}: value {e['value']} is not run.json's {r and r['value']}")
            if not isinstance(e.get("date"), str) or not e["date"].startswith(run["started"][:10]):
                say(f"{path}: date {e.get('date')!r} is not the run's")
            if e.get("evaluation_framework") != "hfeval":
                say(f"{path}: evaluation_framework {e.get('evaluation_framework')!r}")
            if "verifyToken" in e:
                say(f"{path}: a verifyToken, which only HF Jobs issue")
            if source and (e.get("source") or {}).get("url") != source:
                say(f"{path}: source.url {e.get('source')!r}, not {source}")
            if not source and "source" in e:
                say(f"{path}: a source without --source")
            notes = e.get("notes", "")
            q = m["info"].get("quantization")
            for want in [f"quantization {q}" if q else None,
                         f"base model {m['base']}" if m.get("base") else None,
                         f"{t['shots']}-shot" if "shots" in t else None, m["file"]["sha256"]]:
                if want and want not in notes:
                    say(f"{path}: notes lack {want!r}")
    elif fmt == "model-index":
        path = os.path.join(out, name, "model-index.yaml")
        doc = yaml.safe_load(open(path))
        mi = doc.get("model-index") if isinstance(doc, dict) else None
        if not isinstance(mi, list) or len(mi) != 1 or mi[0].get("name") != name:
            say(f"{path}: model-index: a list of one {{name: {name}}} expected")
            continue
        results = mi[0].get("results", [])
        if len(results) != len(hubbed):
            say(f"{path}: {len(results)} results, {len(hubbed)} expected")
        for res, (suite, t) in zip(results, hubbed):
            if not isinstance(res.get("task", {}).get("type"), str):
                say(f"{path}: task.type must be a string")
            d = res.get("dataset", {})
            for k in ("type", "name"):
                if not isinstance(d.get(k), str):
                    say(f"{path}: dataset.{k} must be a string, got {d.get(k)!r}")
            for k in ("config", "split", "revision"):
                if k in d and not isinstance(d[k], str):
                    say(f"{path}: dataset.{k} must be a string, got {d[k]!r}")
            if d.get("type") != t["hub"]["dataset"]:
                say(f"{path}: dataset.type {d.get('type')!r}")
            mets = res.get("metrics", [])
            if not mets:
                say(f"{path}: no metrics")
            for x in mets:
                r = value(name, suite, t["name"], x.get("type"))
                if not isinstance(x.get("type"), str) or not isinstance(x.get("value"), (int, float)):
                    say(f"{path}: metric {x!r}: type a string and value a number")
                elif r is None or abs(x["value"] - r["value"]) > 1e-9 * max(1, abs(r["value"])):
                    say(f"{path}: {x['type']} {x['value']} is not run.json's")
            if source and (res.get("source") or {}).get("url") != source:
                say(f"{path}: source.url")
    else:
        import jsonschema
        v = jsonschema.Draft7Validator(json.load(open(schema)))
        files = sorted(glob.glob(os.path.join(out, name, "eee", "*.json")))
        tasks = [(s["name"], t["name"]) for s in run["suites"] for t in s["tasks"]
                 if any(r["model"] == name and r["task"] == t["name"] and "value" in r
                        for r in run["results"])]
        if len(files) != len(tasks):
            say(f"{out}/{name}/eee: {len(files)} files, {len(tasks)} tasks with results")
        for f in files:
            doc = json.load(open(f))
            for e in v.iter_errors(doc):
                say(f"{f}: {'/'.join(map(str, e.path))}: {e.message:.160}")
            for er in doc.get("evaluation_results", []):
                suite, task, metric = er["evaluation_result_id"].split("/", 2)
                r = value(name, suite, task, metric)
                sd = er["score_details"]
                if r is None or sd["score"] != r["value"]:
                    say(f"{f}: {metric} {sd['score']} is not run.json's")
                    continue
                u = sd.get("uncertainty", {})
                if r.get("stderr") is not None:
                    se = u.get("standard_error", {}).get("value")
                    ci = u.get("confidence_interval", {})
                    if se != r["stderr"] or abs(ci.get("lower", 1e9) - (r["value"] - 1.96 * se)) > 1e-12 \
                            or ci.get("confidence_level") != 0.95:
                        say(f"{f}: {metric}: uncertainty {u!r:.120}")
                if u.get("num_samples") != r["n"]:
                    say(f"{f}: {metric}: num_samples {u.get('num_samples')} not {r['n']}")
            if inst:
                check_instances(f, doc, name)
            mi = doc["model_info"]["additional_details"]
            if m.get("base") and mi.get("base_model") != m["base"]:
                say(f"{f}: model_info base_model")
            if mi.get("model_file_sha256") != m["file"]["sha256"]:
                say(f"{f}: model_info model_file_sha256")

for b in bad:
    print(b)
sys.exit(1 if bad else 0)
