#!/usr/bin/env bash
# The demo lineage (tests/fixtures/make-demo.sh): a base trained here on the
# demo suites' own tasks has learned them, and its derivatives measurably
# lose what it learned: quantization in the order of its bits, the
# fine-tune on the task it was not trained further on.  Also: the trainer
# gives the same bytes twice, and the base declares its training data.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES
cd "$SCRATCH" || exit 1

# csv RUN TASK METRIC MODEL FIELD: one field of `hfeval report --format csv`
csv() {
    "$hfeval" report "$1" --long --format csv | awk -F, -v t="$2" -v m="$3" \
        -v model="$4" -v f="$5" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        $col["task"] == t && $col["metric"] == m && $col["model"] == model {
            print $col[f] }'
}
# ge A B: A >= B, as numbers
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 < b + 0) }'; }

# --- the README's first command --------------------------------------------
run "$hfeval" run "$HFEVAL_SRC/suites/coding.lua" --models "$fx/lineage.txt" \
    --out coding
is "$rc" 0 "the coding suite over the demo lineage"
base=$(csv coding coding/coding pass@1 demo-base value)
ge "$base" 0.6
ok $? "the base passes at least 60% of the coding problems (pass@1 $base)"
values=$("$hfeval" report coding --long --format csv | awk -F, '$5 == "pass@1" { print $6 }' | sort -u | wc -l)
ge "$values" 3
ok $? "at least three different pass@1 values across the lineage ($values)"
worse=$("$hfeval" report coding --long --format csv | awk -F, '
    NR > 1 && $5 == "pass@1" && $12 != "" && $12 + 0 < 0.05 && $10 + 0 < 0 { print $2 }' | head -1)
like "$worse" '^demo-' "a derivative is worse than the base with McNemar's p < 0.05 ($worse)"
run "$hfeval" report coding --long
like "$out" "^\| +$worse \|.*\([0-9]+ down, [0-9]+ up\)" "and the report shows its flipped items"

# --- arithmetic: learned over the range, lost by Q2_K -----------------------
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" --models "$fx/lineage.txt" --out arith
is "$rc" 0 "the arith suite over the demo lineage"
v=$(csv arith arith/arith_gen exact_match demo-base value)
ge "$v" 0.8
ok $? "the base answers at least 80% of arith_gen exactly ($v)"
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" --models "$fx/lineage.txt" \
    --set data="$fx/arith-range.jsonl" --out range
is "$rc" 0 "and 200 other questions from the same range"
v=$(csv range arith/arith_gen exact_match demo-base value)
ge "$v" 0.8
ok $? "which it answers as well ($v)"
p=$(csv range arith/arith_gen exact_match demo-q2_k p_root)
d=$(csv range arith/arith_gen exact_match demo-q2_k delta_root)
lt "$p" 0.05 && lt "$d" 0
ok $? "Q2_K answers significantly fewer (change $d, McNemar's p $p)"

# --- fidelity: KLD in the order of the bits -----------------------------------
run "$hfeval" run "$HFEVAL_SRC/suites/fidelity.lua" --models "$fx/lineage.txt" --out fid
is "$rc" 0 "the fidelity suite over the demo lineage (on a story it was not trained on)"
order=""
for q in q8_0 q6_k q4_k_m q3_k_s q2_k; do
    order="$order $(csv fid fidelity/fidelity kld "demo-$q" value)"
done
# five values, each above the one before
printf '%s\n' $order | awk 'NF { n++; if (n > 1 && $1 + 0 <= prev) bad = 1; prev = $1 + 0 }
    END { exit !(n == 5 && !bad) }'
ok $? "mean KLD: Q8_0 < Q6_K < Q4_K_M < Q3_K_S < Q2_K ($order)"

# --- the fine-tune gains on arithmetic and loses on code ----------------------
a=$(csv range arith/arith_gen exact_match demo-math delta_root)
pa=$(csv range arith/arith_gen exact_match demo-math p_root)
c=$(csv coding coding/coding pass@1 demo-math delta_root)
lt 0 "$a" && lt "$pa" 0.05 && lt "$c" 0
ok $? "the math fine-tune gains on arithmetic ($a, p $pa) and loses on coding ($c)"

# --- what the base declares ---------------------------------------------------
run "$hfeval" inspect --json "$fx/demo-base.gguf"
like "$out" '"general.dataset.0.name": *"hfeval demo corpus' "the base names its training data"
run "$hfeval" inspect --compliance --models "$fx/lineage.txt"
like "$out" '^demo-base: open source$' "the base is open source by the compliance checks"
like "$out" 'PASS warning data\.disclosed +general\.dataset\.count = 1, first "hfeval demo corpus' \
    "which see a disclosed dataset"

# --- the trainer: same inputs, same bytes ---------------------------------------
"$HFEVAL_TEST_BIN/mkmodel" --vocab "$fx/demo/vocab.json" --init plain --out init.gguf \
    --n-embd 256 --n-layer 1 --n-head-kv 4 --n-ff 256 --ctx 640 >/dev/null 2>&1
for i in 1 2; do
    "$HFEVAL_TEST_BIN/train" --model init.gguf --corpus "$fx/demo/math.jsonl" \
        --out "t$i.gguf" --epochs 1 --warmup 2 --threads 2 2>"train$i.log"
done
cmp -s t1.gguf t2.gguf && ! cmp -s t1.gguf init.gguf
ok $? "two trainings with the same options write the same bytes, and not the input's"
"$HFEVAL_TEST_BIN/train" --model init.gguf --corpus "$fx/random.txt" --out bad.gguf 2>err
is "$?" 1 "a corpus line that is not {prompt, completion} is refused"
like "$(cat err)" 'random.txt:1: expected \{"prompt"' "with the file and line"
done_testing
