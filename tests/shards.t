#!/usr/bin/env bash
# Shards: four runs of a quarter of the documents each (--shard K/4), in
# parallel, merged with hfeval merge, give the table of one unsharded run,
# and the same per-sample records.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
cd "$SCRATCH" || exit 1
suite=$HFEVAL_SRC/suites/arith.lua
lin=$HFEVAL_FIXTURES/random.txt

run "$hfeval" run "$suite" --models "$lin" --limit 12 --out whole
is "$rc" 0 "the unsharded run"
printf '%s\n' "$out" >whole.txt
for k in 1 2 3 4; do
    "$hfeval" run "$suite" --models "$lin" --limit 12 --shard $k/4 --out shard$k \
        >shard$k.txt 2>shard$k.err &
done
wait
for k in 1 2 3 4; do
    is "$(wc -l <shard$k/samples.jsonl)" $((7 * 6)) "shard $k/4: three documents a task, seven models"
done
like "$(cat shard2/run.json)" '"shard":\{"k":2,"n":4\}' "a shard's record says which it is"
run "$hfeval" merge --out merged shard1 shard2 shard3 shard4
is "$rc" 0 "merge exits 0"
is "$out" "$(cat whole.txt)" "the merged table is the unsharded run's"
# what a record says of the item: who, which, and its metrics (log-probs
# of F16 and Q4_0 models move by 1e-4 with the batch's make-up, a limit
# of llama.cpp's kernels that tests/engine-invariance.t documents)
keyed() {
    perl -MJSON::PP -ne 'my $d = decode_json($_);
        print JSON::PP->new->canonical->encode([@$d{qw(model suite task doc_id item_id metrics)}]), "\n"' "$1"
}
is "$(keyed merged/samples.jsonl | md5sum)" "$(keyed whole/samples.jsonl | md5sum)" \
    "the per-sample records: the same items in the same order, the same metrics"
like "$(cat merged/run.json)" '"merged_from":' "the merged record names its shards"
run "$hfeval" run "$suite" --models "$lin" --shard 5/4
is "$rc" 2 "--shard 5/4: exit 2"
run env -u SLURM_ARRAY_TASK_ID "$hfeval" run "$suite" --models "$lin" --shard slurm
is "$rc:$(grep -c 'SLURM_ARRAY_TASK_ID' <<<"$err")" 2:1 "--shard slurm outside an array: exit 2, naming what is missing"
run env JOB_COMPLETION_INDEX=4 "$hfeval" run "$suite" --models "$lin" --shard k8s/4
is "$rc:$(grep -c 'JOB_COMPLETION_INDEX' <<<"$err")" 2:1 "--shard k8s/4 at index 4: exit 2"
run env JOB_COMPLETION_INDEX=0 "$hfeval" run "$suite" --models "$lin" --shard k8s/x
is "$rc" 2 "--shard k8s/x: exit 2"
done_testing
