#!/usr/bin/env bash
# Every suite end to end over the whole fixture lineage on the engine
# backend: a table row per model, per-sample records that are JSON lines,
# exit 0.  Sizes are cut (--limit, --set) to what a test can afford; the
# suites' scoring is tested exactly elsewhere (run.t, coding.t,
# compliance.t, engine-*.t).
. "$(dirname "$0")/lib.sh"
need_data gsm8k_test.jsonl
need_data hellaswag_val_full.txt.bz2
hfeval=$HFEVAL_BIN
lin=$HFEVAL_FIXTURES/random.txt
n_models=$(grep -c '^[a-z]' "$lin")

suite() { # name metric args...
    local name=$1 metric=$2
    shift 2
    run "$hfeval" run "$HFEVAL_SRC/suites/$name.lua" --models "$lin" --out "$SCRATCH/$name" "$@"
    is "$rc" 0 "$name.lua runs over the fixture lineage"
    is "$(printf '%s\n' "$out" | grep -cE "^[a-z0-9_-]+ +[a-z0-9_]+ +$metric ")" "$n_models" \
        "$name.lua: a $metric row for each of the $n_models models"
    json_ok "$(cat "$SCRATCH/$name/samples.jsonl")" --lines
    ok $? "$name.lua: its records are JSON lines"
}
suite arith acc --limit 4
suite hellaswag acc_tok --limit 4 --set data="$HFEVAL_DATA/hellaswag_val_full.txt.bz2"
suite gsm8k 'exact_match:strict' --limit 2 --set data="$HFEVAL_DATA/gsm8k_test.jsonl" \
    --set shots=1 --set max_tokens=32
suite fidelity ppl_token --set ctx=64
suite speed decode_tok_s --set lengths=8 --set gen=8 --set reps=1
suite coding 'pass@1' --limit 2 --set max_tokens=32
suite compliance provenance
done_testing
