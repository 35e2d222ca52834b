#!/usr/bin/env bash
# hfeval export: a run over the demo lineage (GSM8K, which suites/gsm8k.lua
# maps to the Hub's openai/gsm8k, and fidelity, which maps to nothing) as
# the Hub's .eval_results, a card's model-index and Every Eval Ever JSON,
# each read back by PyYAML or validated by python3-jsonschema against
# ../shared/schemas/every-eval-ever and checked field by field against
# run.json (tests/export_check.py); the checker fails on a tampered file;
# a task without a mapping is left out with a message; hostile names stay
# inside --out; misuse is exit 2, a file that is not a run exit 6.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES
src=$HFEVAL_SRC
eee=$src/../shared/schemas/every-eval-ever/eval.schema.json
gsm=$src/../shared/data/gsm8k_test.jsonl
check=$src/tests/export_check.py
cd "$SCRATCH" || exit 1
if [ ! -f "$eee" ] || [ ! -f "$gsm" ]; then
    skip 1 "no ../shared beside the checkout (its EEE schema and GSM8K)"
    done_testing
    exit
fi
if ! python3 -c 'import yaml, jsonschema' 2>/dev/null; then
    echo "Bail out! python3-yaml and python3-jsonschema are needed (scripts/deps.sh)"
    exit 1
fi
printf 'demo-base %s\ndemo-q4 %s base=demo-base\n' "$fx/demo-base.gguf" "$fx/demo-q4_k_m.gguf" >list.txt
run "$hfeval" run "$src/suites/gsm8k.lua" "$src/suites/fidelity.lua" --models list.txt \
    --set data="$gsm" --set shots=1 --set max_tokens=24 --limit 4 --out r
is "$rc" 0 "a run: GSM8K (1-shot, 4 questions) and fidelity on the base and its Q4_K_M"

url=https://example.org/ci/logs
for f in hf model-index eee; do
    run "$hfeval" export r --format "$f" --out "o-$f" --source "$url" --source-name "CI"
    is "$rc" 0 "export --format $f"
    if [ "$f" = eee ]; then # EEE takes it, as a private dataset
        unlike "$err" "left out" "$f: no task left out"
    else
        like "$err" "task 'fidelity/fidelity' left out: its suite maps it to no Hub benchmark" \
            "$f: the unmapped task left out, and said"
    fi
    why=$(python3 "$check" "$f" "o-$f" r "$eee" --source "$url" 2>&1)
    ok $? "$f: read back and checked against run.json${why:+: $why}"
done
is "$(ls o-hf/demo-q4/.eval_results)" hfeval.yaml "hf: .eval_results/hfeval.yaml a model"
is "$(ls o-eee/demo-q4/eee | tr '\n' ' ')" "fidelity.fidelity.json gsm8k.gsm8k.json " \
    "eee: a file a task, the unmapped one as a private dataset"
like "$(cat o-eee/demo-q4/eee/fidelity.fidelity.json)" '"source_type":"other"' "its source_data says so"
unlike "$(cat o-hf/*/.eval_results/hfeval.yaml)" "verifyToken" "no verifyToken, ever"

inst=$src/../shared/schemas/every-eval-ever/instance_level_eval.schema.json
run "$hfeval" export r --format eee --instances --out o-inst
is "$rc" 0 "export --format eee --instances"
why=$(python3 "$check" eee o-inst r "$eee" --instances "$inst" 2>&1)
ok $? "each GSM8K sample an instance line, valid against EEE's instance schema, named and summed by the aggregate${why:+: $why}"

# without --source, no source
run "$hfeval" export r --format hf --out o-nosrc
why=$(python3 "$check" hf o-nosrc r 2>&1)
ok $? "hf without --source: no source field${why:+: $why}"

# the checker sees a wrong file
sed -i 's/^  value: .*/  value: 0.5/' o-hf/demo-q4/.eval_results/hfeval.yaml
python3 "$check" hf o-hf r --source "$url" >/dev/null 2>&1
is $? 1 "the checker fails a tampered value"
sed -i 's/"config": *"main"/"config": 7/; s/config: "main"/config: 7/' o-model-index/demo-q4/model-index.yaml
python3 "$check" model-index o-model-index r --source "$url" >/dev/null 2>&1
is $? 1 "and a config that is not a string"
perl -pi -e 's/"schema_version":"0.3.0"/"schema_version":"0.3.0","extra":1/' o-eee/demo-q4/eee/gsm8k.gsm8k.json
python3 "$check" eee o-eee r "$eee" >/dev/null 2>&1
is $? 1 "and an EEE key the schema forbids"

# hostile names stay inside --out
cat >evil.lua <<'LUA'
return { name = "../../evil", version = "1", tasks = {
    { name = "a/../../b", kind = "rolling", docs = { { text = "one two three four five six" } },
      text = function(d) return d.text end } } }
LUA
printf 'demo-base %s\n' "$fx/demo-base.gguf" >one.txt
run "$hfeval" run evil.lua --models one.txt --out ev
run "$hfeval" export ev --format eee --out o-ev
is "$rc" 0 "a suite named ../../evil exports"
is "$(find . -name '*evil*' -newer ev/run.json -not -path './o-ev/*' | wc -l)" 0 "nothing outside --out"
is "$(ls o-ev/demo-base/eee)" "_.._.._evil.a_.._.._b.json" "its name made one path component"

# misuse
run "$hfeval" export r --format csv --out x
is "$rc" 2 "--format csv: exit 2"
like "$err" "hf, model-index or eee" "and what it takes"
run "$hfeval" export r --format hf --out x --source not-a-url
is "$rc" 2 "--source that is no URL: exit 2"
run "$hfeval" export list.txt --format hf --out x
is "$rc" 6 "a file that is not a run: exit 6"
like "$err" "not a run record|list.txt" "naming the file"
done_testing
