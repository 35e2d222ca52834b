#!/usr/bin/env bash
# The decision table (hfeval report), the pick (hfeval pick) and what every
# run measures: each column recomputed from the run's own records by
# tests/decide_check.py, the formats agreeing with each other, the JSON
# checked against results/report.schema.json by python3-jsonschema, two
# lineages ranked together, and the pick's constraints.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
check="python3 $HFEVAL_SRC/tests/decide_check.py"
cd "$SCRATCH" || exit 1

# schema SCHEMA FILE: validated by python3-jsonschema, JSON Schema 2020-12
schema() {
    python3 - "$@" <<'P'
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(s)
errs = sorted(jsonschema.Draft202012Validator(s).iter_errors(json.load(open(sys.argv[2]))), key=str)
print("\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errs[:5]))
P
}

# ---- the demo lineage: the issue's command ---------------------------------
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" "$HFEVAL_SRC/suites/fidelity.lua" \
    "$HFEVAL_SRC/suites/coding.lua" --models "$HFEVAL_FIXTURES/lineage.txt" --out demo
is "$rc" 0 "arith, fidelity and coding over the demo lineage"
like "$err" 'the decision table: hfeval report demo' "a pipe gets the plain table and where the decision table is"
is "$(python3 -c '
import json, sys
r = json.load(open("demo/run.json"))
want = ("load_ms", "prompt_tok_s", "decode_tok_s", "ttft_ms", "latency_ms", "peak_rss_mib",
        "weights_mib", "kv_mib", "compute_mib")
for m in r["models"]:
    ms = m["measure"]
    miss = [k for k in want if k not in ms]
    if ms["conditions"] != "batched" or miss: print(m["name"], miss)
    if not (0 < ms["ttft_ms"]["p50"] <= ms["ttft_ms"]["p90"]): print(m["name"], "ttft")
    if not (0 < ms["latency_ms"]["p50"] <= ms["latency_ms"]["p90"]): print(m["name"], "latency")
    if abs(ms["weights_mib"] - m["file"]["bytes"] / 2**20) > 0.1: print(m["name"], "weights", ms["weights_mib"])
')" "" "every model's run measures load, speed, latency and memory (weights within 0.1 MiB of the file)"
is "$(python3 -c '
import json
r = json.load(open("demo/run.json"))
print(sorted(t.get("primary", "-") for s in r["suites"] for t in s["tasks"]))')" \
    "['-', 'acc', 'exact_match', 'pass@1']" "each quality task's primary metric, as its suite names it"

run "$hfeval" report demo --format json
is "$rc" 0 "report --format json"
printf '%s\n' "$out" >demo.json
is "$(schema "$HFEVAL_SRC/results/report.schema.json" demo.json)" "" "it conforms to results/report.schema.json"
res=$($check demo demo.json)
is "$(printf '%s\n' "$res" | grep -v '^checked')" "" "every column agrees with run.json and samples.jsonl, recomputed apart"
like "$res" '^checked [0-9]{3,} fields$' "hundreds of fields checked"
is "$(python3 -c '
import json
r = json.load(open("demo.json"))["lineages"][0]["models"]
print(" ".join(m["model"] for m in r))')" \
    "demo-base demo-q8_0 demo-q6_k demo-q4_k_m demo-q4_0 demo-q3_k_s demo-q2_k demo-math" \
    "one row a model, the base first, each derivative under it"
is "$(python3 -c '
import json
r = {m["model"]: m for m in json.load(open("demo.json"))["lineages"][0]["models"]}
q8, q2, ma = r["demo-q8_0"], r["demo-q2_k"], r["demo-math"]
print(q8["kld"] < q2["kld"], q2["kld"] <= q2["kld_p99"], q8["same_top"] > q2["same_top"],
      ma["coding/coding:pass@1.down"] > ma["coding/coding:pass@1.up"],
      ma["coding/coding:pass@1.p"] < 0.05, r["demo-base"]["parent"] is None,
      all(m["class"] == "open source" for m in r.values()))')" \
    "True True True True True True True" \
    "Q2_K drifts further than Q8_0; the math fine-tune loses coding items, significantly"

# the same fields and numbers in CSV as in JSON
run "$hfeval" report demo --format csv
printf '%s\n' "$out" >demo.csv
is "$(python3 -c '
import csv, json
rows = list(csv.DictReader(open("demo.csv")))
js = [m for l in json.load(open("demo.json"))["lineages"] for m in l["models"]]
print(len(rows) == len(js), [list(r) for r in rows] == [list(m) for m in js])
bad = [(m["model"], k) for r, m in zip(rows, js) for k, v in m.items()
       if (v is None and r[k] != "") or (v is not None and not isinstance(v, bool) and
           isinstance(v, (int, float)) and abs(float(r[k]) - v) > 1e-6 * max(1, abs(v)))
       or (isinstance(v, str) and r[k] != v) or (isinstance(v, bool) and r[k] != str(v).lower())]
print(bad)')" "True True
[]" "CSV: the JSON's fields, in its order, with its values"

# Markdown, what a pipe gets
run "$hfeval" report demo
is "$(printf '%s\n' "$out" | grep -cE '^\| demo-[a-z0-9_]+ \| (F32|Q[0-9])')" 8 "Markdown: a row a model"
like "$out" '^\| model \| quant \| size MiB \| params M \| arith_choice acc ±95% \| Δ parent \| recovery \| ↓/↑ p \|' \
    "units and intervals in the headers"
like "$out" '\| kld_p99|KLD p99 \|' "the KLD's 99th percentile"
pick=$(python3 -c 'import json; print(json.load(open("demo.json"))["lineages"][0]["pick"]["model"])')
like "$out" "^\*\*pick: $pick\*\* — the smallest member that keeps at least 98% of demo-base's quality, not restricted\.$" \
    "the pick ($pick) and why"
like "$out" "^better-scoring members ruled out: demo-base \(larger\)" "the better-scoring members, and what ruled each out"
like "$out" "^\| $pick \|.*\| [SD ]*pick \|$" "the pick marked in its row"
like "$out" '\| S( D)?( pick)? \|$' "a Pareto mark for quality against size"

# on a terminal: aligned to its width, the lineage drawn, the run ends with it
run "$hfeval" report demo --format text --width 100
like "$out" '^├─ demo-q8_0 ' "the tree drawn in the first column"
like "$out" '^└─ demo-math ' "the last child closes it"
unlike "$out" '\|' "no Markdown pipes"
is "$(printf '%s\n' "$out" | python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in sys.stdin))' | awk '$1 > 100')" "" \
    "no line wider than the 100 columns asked for: the table goes on below"
like "$(printf '%s\n' "$out" | grep -c '^model ')" '^[3-9]$' "a wide table split into several, the model column repeated"
if command -v script >/dev/null; then
    script -qec "$hfeval run $HFEVAL_SRC/suites/arith.lua --models $HFEVAL_FIXTURES/lineage.txt --limit 4 --out tty" \
        /dev/null >tty.txt 2>&1
    tty=$(tr -d '\r' <tty.txt | sed 's/.*\x1b\[K//')
    like "$tty" '^LINEAGE demo-base$' "a run on a terminal ends with the decision table"
    like "$tty" '^pick: demo-' "and its pick"
else
    skip 2 "no script(1) to give the run a terminal"
fi

# a figure people read: 1.45e+12, not 1453675330000.0000
printf '{"id":"a","q":"1","a":"1"}\n{"id":"b","q":"2","a":"2"}\n' >two.jsonl
printf '{"item_id":"a","completion":"1"}\n{"item_id":"b","completion":"2"}\n' >r.jsonl
cat >big.lua <<'L'
return { name = "big", tasks = { { name = "t", kind = "generate", docs = hfe.read_jsonl("two.jsonl"),
  prompt = function(d) return d.q end, target = function(d) return d.a end, id = function(d) return d.id end,
  metrics = { ppl = function() return 1453675330000 end } } } }
L
printf 'm replay:r.jsonl\n' >big.txt
run "$hfeval" run big.lua --models big.txt --out big
run "$hfeval" report big --metric t=ppl --format text
like "$out" '^m +- +[0-9.]+e-0[0-9] +- +1\.45e\+12 ' "a huge value in scientific notation"
run "$hfeval" report big --metric t=nosuch
is "$rc" 2 "--metric naming a metric no model has: exit 2"
like "$err" "no model has nosuch of task 'big/t'" "saying so"
run "$hfeval" report big --metric nosuch=acc
like "$err" "the runs have no task 'nosuch'" "a task the runs lack, named"

# a primary metric the task does not compute: the suite's mistake, exit 5,
# and the rows the run computed kept
sed 's/kind = "generate",/kind = "generate", primary = "acc",/' big.lua >badprimary.lua
run "$hfeval" run badprimary.lua --models big.txt --out badprimary
is "$rc" 5 "a primary metric the task lacks: exit 5"
like "$err" "badprimary\.lua: task 't': field 'primary' names 'acc', a metric the task does not compute" \
    "naming the suite, the task and the metric"
like "$(tr -d ' \n' <badprimary/run.json)" '"metric":"exact_match","value":1' "the rows it computed are kept"

# ---- the random fixtures: the unlicensed one restricted; degeneration ------
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" --models "$HFEVAL_FIXTURES/random.txt" --limit 6 --out rnd
"$hfeval" report rnd --format json >rnd.json
is "$($check rnd rnd.json | grep -v '^checked')" "" "the random fixtures: every column agrees"
is "$(python3 -c '
import json
r = {m["model"]: m for m in json.load(open("rnd.json"))["lineages"][0]["models"]}
print(r["tiny-nolicense"]["class"], "|", r["tiny-nolicense"]["failed"].split(", ")[:2])')" \
    "restricted | ['license.present', 'license.osi']" "the unlicensed fixture: restricted, and the checks it failed"
# truncated: the samples that ran to max_tokens (12) without a newline
is "$(python3 -c '
import json
n = {}
for l in open("rnd/samples.jsonl"):
    s = json.loads(l)
    if s["task"] == "arith_gen":
        n.setdefault(s["model"], []).append(s["tokens"] == 12 and "\n" not in s["output"])
r = {m["model"]: m["truncated"] for m in json.load(open("rnd.json"))["lineages"][0]["models"]}
print([m for m in n if abs(sum(n[m]) / len(n[m]) - r[m]) > 1e-9], sum(map(sum, n.values())) > 0)')" \
    "[] True" "truncated: the share of generations that ran to max_tokens, a random model's many"
"$hfeval" report rnd --format json --class open-source >rnd-os.json
is "$($check rnd rnd-os.json --class open-source | grep -v '^checked')" "" "--class open-source: the pick agrees"

# looped: one n-gram back to back, three times over eight words or more
: >loop.jsonl
: >lr.jsonl
i=0
for c in "a b a b a b a b" "x x x x x x x x" "a b c a b c a b c" "one two three four five six seven eight" \
    "x x x x x x x" "a b c d a b c d" "go on and on and on and on and"; do
    printf '{"id":"l%d","q":"%d","a":"-"}\n' $i $i >>loop.jsonl
    printf '{"item_id":"l%d","completion":"%s"}\n' $i "$c" >>lr.jsonl
    i=$((i + 1))
done
sed 's/two\.jsonl/loop.jsonl/' big.lua >loop.lua
printf 'm replay:lr.jsonl\n' >loop.txt
run "$hfeval" run loop.lua --models loop.txt --out loop
is "$(python3 -c '
import json
print("".join(str(int(json.loads(l)["metrics"]["looped"])) for l in open("loop/samples.jsonl")))')" \
    "1110001" "looped: 'a b' x4, 'x' x8, 'a b c' x3, 'on and' x4 are loops; 8 distinct words, 'x' x7, 'a b c d' x2 are not"

# ---- two lineages: each its block, one ranking ------------------------------
for i in $(seq 0 11); do
    printf '{"id":"q%d","q":"%d","a":"%d"}\n' "$i" "$i" "$i" >>data.jsonl
    for m in base:10 child:9 grand:6 other:12 other2:11; do
        printf '{"item_id":"q%d","completion":"%s"}\n' "$i" \
            "$([ "$i" -lt "${m#*:}" ] && echo "$i" || echo x)" >>"${m%%:*}.jsonl"
    done
done
cat >s.lua <<'L'
return { name = "s", tasks = { { name = "t", kind = "generate", docs = hfe.read_jsonl(hfe.set.data),
  prompt = function(d) return d.q end, target = function(d) return d.a end,
  id = function(d) return d.id end } } }
L
printf 'base replay:base.jsonl\nchild replay:child.jsonl base=base\ngrand replay:grand.jsonl base=child\nother replay:other.jsonl\nother2 replay:other2.jsonl base=other\n' >two.txt
run "$hfeval" run s.lua --models two.txt --set data=data.jsonl --out two
run "$hfeval" report two --class any --min-recovery 0.9
like "$out" '^## Lineage: base$' "two lineages: a block for base"
like "$out" '^## Lineage: other$' "and one for other"
like "$out" '^## Every lineage, by quality$' "then one ranking of every model"
is "$(printf '%s\n' "$out" | sed -n '/^## Every lineage/,$p' | grep -E '^\| [0-9]+ \|' | awk -F' \\| ' '{ print $2 "@" $3 }' | tr '\n' ' ')" \
    "other@other other2@other base@base child@base grand@base " "best first, each with its lineage named"
"$hfeval" report two --format json --class any --min-recovery 0.9 >two.json
is "$($check two two.json --class any --min-recovery 0.9 | grep -v '^checked')" "" "two lineages: every column, the picks and the ranking agree"
is "$(schema "$HFEVAL_SRC/results/report.schema.json" two.json)" "" "and conform to the schema"

# a suite of 70 tasks: 70 column groups, nothing cut or overrun
cat >many.lua <<'L'
local tasks = {}
for i = 1, 70 do
  tasks[i] = { name = "t" .. i, kind = "generate", docs = hfe.read_jsonl("data.jsonl"),
    prompt = function(d) return d.q end, target = function(d) return d.a end, id = function(d) return d.id end }
end
return { name = "many", tasks = tasks }
L
run "$hfeval" run many.lua --models two.txt --out many
"$hfeval" report many --format json >many.json
is "$($check many many.json | grep -v '^checked')" "" "70 tasks: every column agrees"
is "$("$hfeval" report many --format csv | head -1 | tr , '\n' | grep -c '^many/t[0-9]*:exact_match\.value$')" 70 \
    "a value column for each of the 70"

# ---- the pick's constraints ---------------------------------------------------
run "$hfeval" pick two --class any --min-recovery 0.9
is "$rc" 0 "pick: 0 when every lineage has one"
is "$(printf '%s\n' "$out" | grep -v 'ruled out' | cut -f1,2 | tr '\t\n' ': ')" "base:base other:other2 " \
    "the smallest within 90%: other2 (11/12, its file 2 bytes smaller); child's is base's size, and base scores better"
run "$hfeval" pick two --class any --min-recovery 0.95
like "$out" '^other	other	' "at 95% other2 (91.7%) no longer fits: other"
is "$(printf '%s\n' "$out" | grep -c 'ruled out')" 0 "no better-scoring member to explain"
run "$hfeval" pick two
is "$rc" 1 "pick: exit 1 when a lineage has no member that fits"
like "$out" '^base	-	no member fits$' "saying none fits"
like "$out" 'base \(restricted, under open weights; failed: .*license\.present' "the replay models have no license: restricted"
run "$hfeval" pick demo --max-memory 1
is "$rc" 1 "--max-memory below every model: none fits"
like "$out" 'demo-base \(peak memory [0-9.]+ MiB, over 1\)' "the memory budget named as the reason"
run "$hfeval" pick demo --max-size 2 --min-recovery 0.5
like "$out" '^demo-base	demo-q2_k	the smallest member that keeps at least 50% of demo-base.s quality, not restricted, at most 2 MiB on disk$' \
    "--max-size 2 and 50%: the smallest, Q2_K"
like "$out" 'demo-q8_0 \(2\.[0-9] MiB, over 2\)' "Q8_0 ruled out by its size"
run "$hfeval" pick demo --by quality --min-recovery 0.5
like "$out" '^demo-base	demo-(base|q8_0|q6_k)	the best-scoring member' "--by quality: a member that scores as the base does"
"$hfeval" report demo --format json --by decode --min-recovery 0.9 >dec.json
is "$($check demo dec.json --by decode --min-recovery 0.9 | grep -v '^checked')" "" "--by decode: the pick agrees"
run "$hfeval" pick demo --format json --min-decode 1e12
is "$rc" 1 "--min-decode past every model: exit 1"
is "$(printf '%s' "$out" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d[0]["model"], "decodes" in d[0]["ruled_out"][0]["reason"])')" \
    "None True" "pick --format json: no model, and the decode budget as the reason"
run "$hfeval" pick demo --class gold
is "$rc" 2 "--class gold: exit 2"
like "$err" "--class: 'gold' is not one of its values" "saying so"
run "$hfeval" pick demo --format csv
is "$rc" 2 "pick's formats are text and json"
run "$hfeval" report demo --long --format text
is "$rc" 2 "--long has no text format"
done_testing
