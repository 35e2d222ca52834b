#!/usr/bin/env bash
# hfeval report --long: one block a lineage, base first, each derivative
# with its 95% interval and its change from the root and from its parent,
# in Markdown, CSV and JSON; runs merged in order.  (The decision table,
# report's default, is tests/decide.t's.)
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
cd "$SCRATCH" || exit 1

# base right on 10 of 12, child on 3, grandchild on 6; a second root alone
for i in $(seq 0 11); do
    printf '{"id":"q%d","q":"%d","a":"%d"}\n' "$i" "$i" "$i" >>data.jsonl
    for m in base:10 child:3 grand:6 other:12; do
        printf '{"item_id":"q%d","completion":"%s"}\n' "$i" \
            "$([ "$i" -lt "${m#*:}" ] && echo "$i" || echo x)" >>"${m%%:*}.jsonl"
    done
done
cat >s.lua <<'L'
return { name = "s", tasks = { { name = "t", kind = "generate", docs = hfe.read_jsonl(hfe.set.data),
  prompt = function(d) return d.q end, target = function(d) return d.a end,
  id = function(d) return d.id end } } }
L
printf 'child replay:child.jsonl base=base\nbase replay:base.jsonl\ngrand replay:grand.jsonl base=child\nother replay:other.jsonl\n' >list.txt
run "$hfeval" run s.lua --models list.txt --set data=data.jsonl --out run
is "$rc" 0 "a run of two lineages"

run "$hfeval" report run --long
is "$rc" 0 "report exits 0"
like "$out" '^## Lineage: base$' "a block for the lineage of base"
like "$out" '^## Lineage: other$' "and one for the model alone"
is "$(printf '%s\n' "$out" | grep -E '^\| +(base|child|grand) \|' | head -3 | awk '{ print $2 }' | tr '\n' ' ')" \
    "base child grand " "base first, then its derivatives in lineage order"
like "$out" '^\|   child \| base \|' "a derivative is indented under its base"
like "$out" '^\| child \| s/t \| exact_match \| 0\.2500 \| \[0\.0000, 0\.5059\] \| -0\.5833 \| -0\.5833 \| 0\.0156 \(7 down, 0 up\) \|$' \
    "the child: its value, a 95% interval kept in [0, 1], its change from the root and its parent, McNemar's p"
like "$out" '^\| grand \| s/t \| exact_match \| 0\.5000 \| \[0\.2045, 0\.7955\] \| -0\.3333 \| \+0\.2500 \| 0\.125 \(4 down, 0 up\) \|$' \
    "the grandchild: from the root and from its own parent (p = 2 x 0.5^4)"
like "$out" '^Items that flipped against base:$' "under the table, the items that flipped"
like "$out" '^- child, s/t exact_match: 7 down \(q3, q4, q5, q6, q7, q8, q9\), 0 up$' \
    "each derivative's, named, against the root"
like "$out" '^- grand, s/t exact_match: 4 down \(q6, q7, q8, q9\), 0 up$' "the grandchild's too"
run "$hfeval" report run --long --format csv
like "$out" '^lineage,model,base,task,metric,value,ci_low,ci_high,n,delta_root,delta_parent,p_root,down_root,up_root$' "CSV: a header"
like "$out" '^base,grand,child,s/t,exact_match,0\.5000,0\.2045,0\.7955,12,-0\.3333,\+0\.2500,0\.125,4,0$' "and a row a metric"
run "$hfeval" report run --long --format json
json_ok "$out"
ok $? "JSON parses"
like "$out" '"model":"child","task":"s/t","metric":"exact_match","value":0\.25,"ci95":\[' "with the interval"
like "$out" '"paired_root":\{"p":0\.015625,"n":12,"down":7,"up":0\}' "and the paired test"
# the fixture lineage on the engine: one block, the base first
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" --models "$HFEVAL_FIXTURES/random.txt" \
    --limit 4 --out fixture
run "$hfeval" report fixture --long
is "$(printf '%s\n' "$out" | grep -c '^## Lineage:')" 1 "the fixture lineage: one block"
like "$(printf '%s\n' "$out" | grep -m1 '^| tiny-')" '^\| tiny-base \| - \| F32 ' "the base first"
like "$out" '^\| tiny-q4_0 \| arith/arith_choice \| acc \| [0-9.]+ \| [^|]+ \| [+-][0-9.e+-]+ \| [+-][0-9.e+-]+ \| [^|]+ \|$' \
    "each derivative with its Δs and its paired test against the base"
# compliance in every run, not only with compliance.lua
like "$out" '^\| tiny-base \| - \| F32 \| [0-9]+ \| [0-9.]+ MiB \| open source \|$' \
    "a run of arith alone gives the base its class"
like "$out" '^\|   tiny-nolicense \| tiny-base \| F16 \| [0-9]+ \| [0-9.]+ MiB \| restricted \|$' \
    "and the unlicensed derivative restricted"
like "$(tr -d ' \n' <fixture/run.json)" '"name":"tiny-nolicense".*"compliance":\{"class":"restricted","license":null,"failed":\["license\.present","license\.osi"' \
    "run.json records each model's class, license and failed checks"
like "$(tr -d ' \n' <fixture/run.json)" '"name":"tiny-base".*"compliance":\{"class":"opensource","license":"apache-2\.0","failed":\[\]\}' \
    "a model that passes them all: none failed"
run "$hfeval" report nowhere
is "$rc" 8 "a missing run: exit 8"
run "$hfeval" report run --format xml
is "$rc" 2 "an unknown format: exit 2"
done_testing
