#!/usr/bin/env bash
# Slurm for real: a one-node cluster on loopback (Debian's slurmctld,
# slurmd and munge; tests/slurm-cluster.sh), contrib/slurm-shards.sh
# submitting a job array of shards and a merge that waits for them
# (afterok).  One shard is killed with SIGKILL mid-run: the merge can
# never start, `slurm-shards.sh --resume` resubmits that shard, which
# resumes from its journal, and the merge equals the unsharded run.  And
# `hfeval run --shard slurm` inside a real array.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
src=$HFEVAL_SRC
cd "$SCRATCH" || exit 1

why=
for b in slurmctld slurmd sbatch munged; do
    command -v "$b" >/dev/null || PATH=$PATH:/usr/sbin command -v "$b" >/dev/null ||
        why="no $b (Debian's slurmctld, slurmd, slurm-client and munge)"
done
[ "$(id -u)" = 0 ] || why=${why:-"the daemons need root"}
if [ -n "$why" ]; then
    [ "${CI:-}" = true ] && { echo "Bail out! $why"; exit 1; }
    echo "1..0 # SKIP $why"
    exit 0
fi
PATH=$PATH:/usr/sbin
started=$(date +%s.%N)
setup=$("$src/tests/slurm-cluster.sh" start "$SCRATCH/cluster" 2>&1)
ok $? "a one-node cluster starts ($(perl -e 'printf "%.1f", $ARGV[1] - $ARGV[0]' "$started" "$(date +%s.%N)") s)"
eval "$setup" || { printf '# %s\n' "$setup"; done_testing; exit; }
# the daemons go with the test whatever happens
_pids="$_pids $(cat "$SCRATCH"/cluster/*.pid)"
export HFEVAL=$hfeval

# until no job of this cluster is pending or running (120 s at most),
# a job held by a dependency that can never be met aside
settle() {
    local _ left
    for _ in $(seq 1200); do
        left=$(squeue -h -o '%i %r' | grep -cv 'DependencyNeverSatisfied')
        [ "$left" = 0 ] && return 0
        sleep 0.1
    done
    squeue >&2
    return 1
}
entries() { tail -n +2 "$1/journal.jsonl" 2>/dev/null | grep -c .; }

for i in $(seq 16); do cat "$src/suites/data/arith.jsonl"; done >arith16.jsonl
printf 'a  %s\nb  %s  base=a\n' "$HFEVAL_FIXTURES/base.gguf" "$HFEVAL_FIXTURES/q8_0.gguf" >list.txt
suite=$src/suites/arith.lua
"$hfeval" run "$suite" --models list.txt --set data=arith16.jsonl --out whole >whole.txt 2>/dev/null
total=$(entries whole)

run "$src/contrib/slurm-shards.sh" 3 "$suite" list.txt spread --set data=arith16.jsonl
is "$rc" 0 "slurm-shards.sh submits"
like "$out" 'submitted: shards [0-9]+ \(1-3 of 3\), merge [0-9]+' "an array of three and a merge"
. spread/slurm-shards.jobs
like "$(scontrol show job "$merge")" "Dependency=afterok:${array}_\*" "the merge waits for the whole array"

# shard 2 killed when it has journaled part of its answers
for _ in $(seq 1200); do
    [ "$(entries spread/shard-2)" -ge 150 ] && break
    sleep 0.05
done
scancel --signal=KILL --full "${array}_2"
settle
ok $? "the other shards finish"
killed=$(entries spread/shard-2)
[ "$killed" -ge 150 ] && [ ! -f spread/shard-2/run.json ]
ok $? "shard 2 was killed mid-run, $killed answers journaled, no run.json"
like "$(squeue -h -j "$merge" -o %r)" DependencyNeverSatisfied "its merge can never start"
[ ! -e spread/merged ]
ok $? "and nothing was merged"

run "$src/contrib/slurm-shards.sh" --resume spread
is "$rc" 0 "--resume resubmits"
like "$out" 'submitted: shards [0-9]+ \(2 of 3\)' "only the shard that did not finish"
old=$merge
. spread/slurm-shards.jobs
settle
ok $? "the resubmitted shard and the merge finish"
is "$(squeue -h -j "$old" 2>/dev/null | grep -c .)" 0 "the merge that could not start is cancelled"
like "$(cat spread/shard-2.log)" "resuming .*shard-2: $killed answers in its journal" \
    "the shard resumed from its journal"
is "$(($(entries spread/shard-1) + $(entries spread/shard-2) + $(entries spread/shard-3)))" \
    "$total" "the shards asked every request exactly once in all"
grep -v '^hfeval:' spread/merge.log >merged.txt
is "$(cat merged.txt)" "$(cat whole.txt)" "the merged table is the unsharded run's"
# the records, log-probabilities within 1e-5 (a batch's make-up moves
# F32 ones by up to 6e-6, as engine-invariance.t measures)
for m in a b; do
    why=$(PARITY_METRICS=1 python3 "$src/tests/parity.py" "whole:$m" "spread/merged:$m" 1e-5 1)
    ok $? "model $m: the merged records equal the unsharded run's"
    [ $? = 0 ] || printf '# %s\n' "$why"
done
run "$src/contrib/slurm-shards.sh" --resume spread
like "$out" 'every shard finished; submitted the merge' "--resume when all finished: the merge alone"
settle

# --shard slurm in a real array: K = the index from the array's first
sbatch --parsable --array=4-6 --output=sl-%a.log --wrap="$hfeval run $suite \
--models list.txt --limit 6 --shard slurm --out sl-\$SLURM_ARRAY_TASK_ID" >/dev/null
# part of an array, resubmitted, is not an array of consecutive indices
sbatch --parsable --array=1,3 --output=sparse-%a.log --wrap="$hfeval run $suite \
--models list.txt --limit 6 --shard slurm; echo status \$?" >/dev/null
settle
got=""
for i in 4 5 6; do got="$got $(grep -o '"shard":{[^}]*}' sl-$i/run.json)"; done
is "$got" ' "shard":{"k":1,"n":3} "shard":{"k":2,"n":3} "shard":{"k":3,"n":3}' \
    "--shard slurm: each task of --array=4-6 its shard of 3"
like "$(head -c 400 sl-5/journal.jsonl)" '"--shard","2/3"' \
    "the journal keeps the shard found, for a resume anywhere"
like "$(tr '\n' ' ' <sparse-3.log)" 'needs an array of consecutive indices.*status 2' \
    "--array=1,3: refused with exit 2, the message says what to do"

"$src/tests/slurm-cluster.sh" stop "$SCRATCH/cluster"
done_testing
