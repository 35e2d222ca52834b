#!/usr/bin/env bash
# hfeval compare, the CI gate: a derivative that lost 7 of 10 right
# answers fails, with McNemar's exact p (2 x 0.5^7 = 0.015625) and the
# items that flipped; the base against itself passes; tolerances and
# --alpha decide; JUnit XML says what TAP says; on the engine, a strongly perturbed derivative fails on
# perplexity and --max-kld, the base against itself passes.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
cd "$SCRATCH" || exit 1

for i in $(seq 0 11); do
    printf '{"id":"q%d","q":"%d","a":"%d"}\n' "$i" "$i" "$i" >>data.jsonl
    printf '{"item_id":"q%d","completion":"%s"}\n' "$i" "$([ "$i" -lt 10 ] && echo "$i" || echo x)" >>base.jsonl
    printf '{"item_id":"q%d","completion":"%s"}\n' "$i" "$([ "$i" -lt 3 ] && echo "$i" || echo x)" >>cand.jsonl
done
cat >s.lua <<'L'
return { name = "s", tasks = { { name = "t", kind = "generate", docs = hfe.read_jsonl(hfe.set.data),
  prompt = function(d) return d.q end, target = function(d) return d.a end,
  id = function(d) return d.id end } } }
L
printf 'base replay:base.jsonl\ncand replay:cand.jsonl base=base\n' >list.txt
run "$hfeval" run s.lua --models list.txt --set data=data.jsonl --out run
is "$rc" 0 "a run of two models"

run "$hfeval" compare run run --baseline-model base --candidate-model cand
is "$rc" 1 "a regression: exit 1"
like "$out" '^not ok 1 - s/t exact_match: 0\.8333 -> 0\.2500 \(drop 0\.5833 > 0; McNemar p=0\.01563, 7 right->wrong, 0 wrong->right, 12 paired\)$' \
    "TAP names the metric, both values, the drop and McNemar's exact p"
like "$out" '^#   right -> wrong: q9$' "and the items that flipped"
like "$out" '^1\.\.1$' "a plan"
run "$hfeval" compare run run --baseline-model base --candidate-model base
is "$rc" 0 "the base against itself passes"
like "$out" '^ok 1 - s/t exact_match: 0\.8333 -> 0\.8333 \(change 0\.0000' "with no change"
run "$hfeval" compare run run --baseline-model base --candidate-model cand --max-drop exact_match=0.7
is "$rc" 0 "a drop within --max-drop passes"
run "$hfeval" compare run run --baseline-model base --candidate-model cand --alpha 0.01
is "$rc" 0 "p = 0.0156 is not significant at --alpha 0.01: passes"
run "$hfeval" compare run run --baseline-model base --candidate-model cand --alpha 0.05 --format md
is "$rc" 1 "and is at 0.05: fails"
like "$out" '^\| s/t \| exact_match \| 0\.8333 \| 0\.2500 \| -0\.5833 \| 0\.0156 \| \*\*regressed\*\* \|$' "a Markdown table"
run "$hfeval" compare run run --baseline-model base --candidate-model cand --format junit
is "$rc" 1 "JUnit XML: the same exit status"
like "$out" '^  <testsuite name="cand against base" tests="1" failures="1">$' "a testsuite for the candidate"
like "$out" '<testcase classname="s/t" name="exact_match"><failure type="regression" message="0\.8333 -&gt; 0\.2500 \(drop 0\.5833 &gt; 0; McNemar p=0\.01563' \
    "a testcase for the metric, failed with the drop and p"
like "$out" '^right -&gt; wrong: q9$' "and the items that flipped"
run "$hfeval" compare run run --baseline-model base --candidate-model cand --format xml
is "$rc" 2 "an unknown format: exit 2"
run "$hfeval" compare run run
is "$rc" 2 "two models and none named: exit 2"
like "$err" "2 models in this run: name one with --baseline-model" "and says so"
run "$hfeval" compare run nowhere --baseline-model base --candidate-model cand
is "$rc" 8 "a missing run: exit 8"

# A candidate that lost a metric, or whose task failed, fails.
cat >s2.lua <<'L'
return { name = "s", tasks = { { name = "t", kind = "generate", docs = hfe.read_jsonl(hfe.set.data),
  prompt = function(d) return d.q end, target = function(d) return d.a end,
  id = function(d) return d.id end, extract = { strict = "(\\d+)" } } } }
L
printf 'cand replay:cand.jsonl\n' >one.txt
run "$hfeval" run s2.lua --models one.txt --set data=data.jsonl --out renamed
run "$hfeval" compare run renamed --baseline-model base
is "$rc" 1 "a metric the candidate no longer has: fails"
like "$out" '^not ok [0-9]+ - s/t exact_match: in the baseline, missing from the candidate$' "and says so"
head -3 cand.jsonl >short.jsonl
printf 'cand replay:short.jsonl\n' >short.txt
run "$hfeval" run s.lua --models short.txt --set data=data.jsonl --out failed
run "$hfeval" compare run failed --baseline-model base
is "$rc" 1 "a candidate whose task failed: fails"
like "$out" '^not ok 1 - s/t \(the task\): ' "with the task's error"

# The engine: a strongly perturbed derivative of the base.
fx=$HFEVAL_FIXTURES
"$HFEVAL_TEST_BIN/mkmodel" --vocab "$HFEVAL_LLAMA_VOCAB" --out pert.gguf --seed 1 --type f32 \
    --perturb 0.5 --perturb-seed 9 --kv "general.name=str:Perturbed" >/dev/null
printf 'b %s/base.gguf\np pert.gguf base=b\n' "$fx" >lin.txt
run "$hfeval" run "$HFEVAL_SRC/suites/fidelity.lua" --models lin.txt --set ctx=64 --out fid
is "$rc" 0 "fidelity over the base and its perturbed derivative"
run "$hfeval" compare fid fid --baseline-model b --candidate-model p --max-kld 0.01
is "$rc" 1 "the perturbed derivative fails"
like "$out" '^not ok [0-9]+ - fidelity/fidelity ppl_token: ' "on perplexity"
like "$out" '^not ok [0-9]+ - fidelity/fidelity kld: [0-9.e+-]+ > 0\.01$' "and on --max-kld"
tap=$out
run "$hfeval" compare fid fid --baseline-model b --candidate-model p --max-kld 0.01 --format junit
is "$rc" 1 "JUnit: the same exit status"
printf '%s\n' "$out" >junit.xml
python3 - junit.xml "$tap" <<'P'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall("./testsuite/testcase")
tap = [l for l in sys.argv[2].splitlines() if l.startswith(("ok ", "not ok "))]
got = [(c.get("classname") + " " + c.get("name"), c.find("failure") is not None)
       for c in cases]
want = [(l.split(" - ", 1)[1].split(":")[0], l.startswith("not ok")) for l in tap]
assert root.tag == "testsuites" and len(tap) > 2, (root.tag, len(tap))
assert got == want, (got, want)
assert root.get("failures") == str(sum(f for _, f in want))
P
ok $? "well-formed XML with a testcase for each TAP line, a failure exactly where TAP says not ok"
run "$hfeval" compare fid fid --baseline-model b --candidate-model p --alpha 0.05
like "$out" '^not ok [0-9]+ - fidelity/fidelity ppl_token: ' \
    "perplexity has no paired test: with --alpha its tolerance still decides"
run "$hfeval" compare fid fid --baseline-model b --candidate-model b
is "$rc" 0 "the base against itself passes"
done_testing
