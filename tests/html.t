#!/usr/bin/env bash
# The HTML report in a real browser: Debian's Chromium, headless, driven by
# playwright-core from the npm registry (scripts/setup.sh installs both;
# no browser download).  tests/browse.cjs reads off what a person sees,
# tests/html_check.py judges it against the records, recomputed apart:
# one row a model, one point a model, the frontier the table's marks,
# the flipped items the samples', an opened item showing both answers,
# no request leaving the page, no console error.  Then the budget: a
# synthetic 10-model lineage with 1,000 items a task stays under 3 MB.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
cd "$SCRATCH" || exit 1
# the screenshots, where CI keeps its artefacts
art=${HFEVAL_ARTIFACTS:-$HFEVAL_BUILD/artifacts}
mkdir -p "$art"

pw=${HFEVAL_PLAYWRIGHT:-${XDG_CACHE_HOME:-$HOME/.cache}/hfeval/npm/node_modules/playwright-core}
chromium=${HFEVAL_CHROMIUM:-/usr/bin/chromium}
why=
[ -x "$chromium" ] || why="no Chromium at $chromium (Debian's chromium package)"
command -v node >/dev/null || why="no node to drive the browser"
[ -n "$why" ] || [ -f "$pw/package.json" ] ||
    why="no playwright-core in $pw (scripts/setup.sh installs it from npm)"
if [ -n "$why" ] && [ "${CI:-}" = true ]; then
    echo "Bail out! $why"
    exit 1
fi
export HFEVAL_PLAYWRIGHT=$pw HFEVAL_CHROMIUM=$chromium
browse() { node "$HFEVAL_SRC/tests/browse.cjs" "$@"; }
judge() { # NAME SEEN REPORT RUN [--history]: a TAP line per check
    local line
    while IFS= read -r line; do
        case $line in
        "ok "*) _result 1 "$1: ${line#ok }" ;;
        *) _result 0 "$1: ${line#not ok }" ;;
        esac
    done < <(python3 "$HFEVAL_SRC/tests/html_check.py" "${@:2}" 2>&1 ||
        echo "not ok html_check.py failed")
}

# ---- the demo lineage, with a history that has a break ------------------
# a first run of arith (its history), then arith changed by a comment: the
# suite's digest differs, so its series break there
mkdir -p old/data
cp "$HFEVAL_SRC/suites/arith.lua" old/
cp "$HFEVAL_SRC/suites/data/arith.jsonl" old/data/
echo "-- an edit: the suite's digest changes, its numbers stop comparing" >>old/arith.lua
run "$hfeval" run old/arith.lua --models "$HFEVAL_FIXTURES/lineage.txt" --out old-run
is "$rc" 0 "a first run, of a suite that will change"
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" "$HFEVAL_SRC/suites/fidelity.lua" \
    "$HFEVAL_SRC/suites/coding.lua" --models "$HFEVAL_FIXTURES/lineage.txt" --out demo \
    --html demo.html
is "$rc" 0 "run ... --html FILE: the run, then its report"
like "$err" "the report in demo.html" "it says where the report is"
ok "$([ -s demo.html ] && [ -s demo/items.jsonl ]; echo $?)" "the report, and the run's items.jsonl"
is "$(python3 - demo/items.jsonl demo/samples.jsonl <<'P'
import hashlib, json, sys
items = {(i["suite"], i["task"], i["doc_id"]): i for i in map(json.loads, open(sys.argv[1]))}
bad = 0
for s in map(json.loads, open(sys.argv[2])):
    i = items.get((s["suite"], s["task"], s["doc_id"]))
    if s["suite"] == "fidelity":
        bad += i is not None
    elif not i or hashlib.sha256(i["prompt"].encode()).hexdigest() != s["prompt_sha256"]:
        bad += 1
print(bad, len(items))
P
)" "0 80" "items.jsonl: each choice and generate document once, its prompt the one the samples digest"

run "$hfeval" report demo --format json
printf '%s\n' "$out" >demo.json
run "$hfeval" report demo --format html -o report.html --db "$HFEVAL_DB" \
    --title "Demo lineage (trained here on the demo suites' own tasks)"
is "$rc" 0 "report --format html -o FILE --db PATH"
unlike "$(grep -Eo '(src|href|action)="[^"#][^"]*"' report.html)" . \
    "no src, href or action names anything outside the file"
like "$(head -c 600 report.html)" "Content-Security-Policy\" content=\"default-src 'none'" \
    "its policy forbids every request"

# which items to open: the first of each kind that went down, found in the
# samples here (the page's own list is what is judged)
pick_flip() { # [RUN] MODEL SUITE TASK METRIC: the first item parent 1 -> model 0
    [ $# = 5 ] || set -- demo "$@"
    python3 - "$@" <<'P'
import json, sys
run, m, su, ta, me = sys.argv[1:]
s = {}
for l in open(run + "/samples.jsonl"):
    r = json.loads(l)
    if (r["suite"], r["task"]) == (su, ta):
        s[(r["model"], r["doc_id"])] = r
par = json.load(open(run + ".json"))
par = next(x["parent"] for l in par["lineages"] for x in l["models"] if x["model"] == m)
print(next((r["item_id"] for (mm, d), r in sorted(s.items(), key=lambda x: x[0][1])
            if mm == m and r["metrics"][me] == 0 and s[(par, d)]["metrics"][me] == 1), ""))
P
}
code_item=$(pick_flip demo-math coding coding pass@1)
gen_item=$(pick_flip demo-q2_k arith arith_gen exact_match)
choice_item=$(pick_flip demo-q2_k arith arith_choice acc)
like "$code_item $gen_item $choice_item" '^[^ ]+ [^ ]+ [^ ]+$' "a code, a generation and a choice item that flipped"

if [ -n "$why" ]; then
    skip 1 "$why"
else
    browse report.html seen.json --png "$art/report.png" --sort "size MiB" \
        --flip demo-math coding/coding "$code_item" \
        --flip demo-q2_k arith/arith_gen "$gen_item" \
        --flip demo-q2_k arith/arith_choice "$choice_item" 2>browse.err
    ok $? "Chromium loaded the report (tests/browse.cjs)"
    [ -s browse.err ] && sed 's/^/# /' browse.err
    judge demo seen.json demo.json demo --history
    ok "$([ -s "$art/report.png" ]; echo $?)" "a screenshot in $art/report.png"
    python3 -c '
import json; s = json.load(open("seen.json"))
print("# the demo report: %d bytes, loaded in %d ms (navigation %.0f ms)" % (s["bytes"], s["load_ms"], s["nav_ms"] or -1))'
    # the page run wrote (no --db given: the run's own history)
    browse demo.html seen-run.json 2>>browse.err
    is "$(python3 -c '
import json; s = json.load(open("seen-run.json"))
print(len(s["tables"][0]["rows"]), s["requests"], s["console_errors"], s["page_errors"], len(s["series"]) > 0)')" \
        "8 [] [] [] True" "the report run --html wrote: a row a model, no request, no error, the history drawn"
fi

# ---- the budget: 10 models, 1,000 items a task ---------------------------
python3 "$HFEVAL_SRC/tests/fixtures/mkbigrun.py" demo/run.json big 10 1000
run "$hfeval" report big --format json
printf '%s\n' "$out" >big.json
run "$hfeval" report big --format html -o big.html
is "$rc" 0 "the report of a 10-model lineage with 1,000 items in each of three tasks"
bytes=$(stat -c %s big.html)
ok "$([ "$bytes" -lt 3000000 ]; echo $?)" "it stays under 3 MB ($bytes bytes)"
if [ -n "$why" ]; then
    skip 1 "$why"
else
    browse big.html seen-big.json --png "$art/report-big.png" --sort "size MiB" \
        --flip big-q2_k big/code "$(pick_flip big big-q2_k big code pass@1)" \
        --flip 'big-tune<b>"' big/mc "$(pick_flip big 'big-tune<b>"' big mc acc)" 2>>browse.err
    ok $? "Chromium loaded it"
    judge big seen-big.json big.json big
    python3 -c '
import json; s = json.load(open("seen-big.json"))
print("# the 10-model report: %d bytes, loaded in %d ms (navigation %.0f ms)" % (s["bytes"], s["load_ms"], s["nav_ms"] or -1))'
fi

# ---- errors --------------------------------------------------------------
run "$hfeval" report demo --format html
is "$rc" 2 "the html format without -o: a usage error"
like "$err" "written to a file: -o FILE" "it says so"
run "$hfeval" report demo --format html -o x.html --db "$SCRATCH/none/history.db"
is "$rc" 8 "a history that is not there: an I/O error"
like "$err" "none/history.db: no history here" "naming the file"
ok "$([ ! -e x.html ]; echo $?)" "and no half-written report"
run "$hfeval" report demo --format html -o "$SCRATCH/no/such/dir/x.html"
is "$rc" 8 "a file that cannot be written: an I/O error"
run "$hfeval" report demo --title x
is "$rc" 2 "--title is the html format's"
run "$hfeval" report demo --format csv -o table.csv
is "$rc:$(cat table.csv)" "0:$("$hfeval" report demo --format csv)" "-o FILE takes every format, the same bytes as stdout"

done_testing
