#!/usr/bin/env bash
# hfeval history: every run in SQLite; a series over time, with the
# breaks in comparability (suite, data, backend, model file) marked.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
cd "$SCRATCH" || exit 1
db=$SCRATCH/h.db

for i in 0 1 2 3; do
    printf '{"id":"q%d","q":"%d","a":"%d"}\n' "$i" "$i" "$i" >>data.jsonl
    printf '{"item_id":"q%d","completion":"%s"}\n' "$i" "$([ "$i" -lt 3 ] && echo "$i" || echo x)" >>base.jsonl
    printf '{"item_id":"q%d","completion":"%s"}\n' "$i" "$([ "$i" -lt 1 ] && echo "$i" || echo x)" >>child.jsonl
done
cat >s.lua <<'L'
return { name = "s", tasks = { { name = "t", kind = "generate", docs = hfe.read_jsonl(hfe.set.data),
  prompt = function(d) return d.q end, target = function(d) return d.a end,
  id = function(d) return d.id end } } }
L
printf 'base replay:base.jsonl\nchild replay:child.jsonl base=base\n' >list.txt
for n in 1 2; do
    run "$hfeval" run s.lua --models list.txt --set data=data.jsonl --out run$n --db "$db"
    is "$rc" 0 "run $n is recorded"
    sleep 1 # a later start time
done
echo "-- a comment" >>s.lua
run "$hfeval" run s.lua --models list.txt --set data=data.jsonl --out run3 --db "$db"
sleep 1
printf '{"id":"q4","q":"4","a":"4"}\n' >>data.jsonl
printf '{"item_id":"q4","completion":"x"}\n' | tee -a base.jsonl >>child.jsonl
run "$hfeval" run s.lua --models list.txt --set data=data.jsonl --out run4 --db "$db"

run "$hfeval" history --db "$db" --model base --metric exact_match
is "$rc" 0 "history exits 0"
is "$(printf '%s\n' "$out" | grep -c ' base ')" 4 "four runs of base"
is "$(printf '%s\n' "$out" | awk 'NR > 1 { print $NF }' | tr '\n' ' ')" "first yes changed; changed; " \
    "the first, a comparable one, then the breaks"
like "$out" 'run3 +0\.7500 +0\.2500  suite changed; $' "the suite file changed"
like "$out" 'run4 +0\.6000 +0\.2449  data changed; model file changed; $' \
    "the data changed (and the replayed answers: the \"model file\")"
run "$hfeval" history --db "$db" --lineage base --metric exact_match
is "$(printf '%s\n' "$out" | grep -c ' child ')" 4 "--lineage: the child's runs are in its base's lineage"
run "$hfeval" history --db "$db" --model nobody
is "$rc" 1 "no match: exit 1"
run "$hfeval" history --db "$SCRATCH/none.db"
is "$rc" 8 "no database: exit 8"
sqlite3 "$db" 'SELECT count(*) FROM runs' >/dev/null 2>&1 &&
    is "$(sqlite3 "$db" 'SELECT count(*) FROM runs')" 4 "a row a run in the database"
done_testing
