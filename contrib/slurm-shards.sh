#!/usr/bin/env bash
# Spread one hfeval run over a Slurm job array, then merge.
#
#   contrib/slurm-shards.sh N SUITE.lua LIST OUT [hfeval run args...]
#   contrib/slurm-shards.sh --resume OUT
#
# The first submits an array of N tasks, task i running `hfeval run ...
# --shard i/N --out OUT/shard-i`, and a merge job that starts when all of
# them succeeded: `hfeval merge --out OUT/merged OUT/shard-*`.  A task
# whose directory holds a journal resumes it (`hfeval run --resume`), so
# a shard that was killed, or a node that went down, costs only the
# answers it had not journaled.  `--resume OUT` resubmits the shards that
# did not finish (no run.json) and a merge that waits for them; it
# cancels the merge that waits on the failed array.  OUT must be on a
# file system every node sees.  Set HFEVAL (default: hfeval on PATH) and
# SBATCH_ARGS (partition, time, memory, GPUs) as your site needs.
set -euo pipefail
usage() {
    sed -n '2,16p' "$0" >&2
    exit 2
}
hfeval=${HFEVAL:-hfeval}

# submit OUT N INDICES: the array over INDICES (1-3, or 2,5) and its merge
submit() {
    local out=$1 n=$2 idx=$3 q array merge shards="" i
    q=$(printf '%q' "$out")
    # shellcheck disable=SC1091
    . "$out/slurm-shards.args"
    array=$(sbatch --parsable ${SBATCH_ARGS:-} --array="$idx" --job-name=hfeval-shards \
        --output="$out/shard-%a.log" --wrap="d=$q/shard-\${SLURM_ARRAY_TASK_ID}
if [ -s \"\$d/journal.jsonl\" ]; then exec $hfeval run --resume \"\$d\"; fi
exec $hfeval run $suite --models $list --shard \${SLURM_ARRAY_TASK_ID}/$n --out \"\$d\"$extra")
    for i in $(seq 1 "$n"); do shards="$shards $q/shard-$i"; done
    merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency=afterok:"${array%%;*}" \
        --job-name=hfeval-merge --output="$out/merge.log" \
        --wrap="$hfeval merge --out $q/merged$shards")
    printf 'array=%s\nmerge=%s\n' "$array" "$merge" >"$out/slurm-shards.jobs"
    echo "submitted: shards $array ($idx of $n), merge $merge; results in $out/merged"
}

if [ "${1:-}" = --resume ]; then
    [ $# = 2 ] || usage
    out=$2
    if [ ! -f "$out/slurm-shards.args" ]; then
        echo "slurm-shards: $out/slurm-shards.args: not found (is $out a directory this script submitted?)" >&2
        exit 2
    fi
    # shellcheck disable=SC1091
    . "$out/slurm-shards.args"
    # the old merge can never start (its array failed): it goes
    if [ -f "$out/slurm-shards.jobs" ]; then
        old=$(sed -n 's/^merge=//p' "$out/slurm-shards.jobs")
        [ -n "$old" ] && scancel "${old%%;*}" 2>/dev/null || true
    fi
    todo=""
    for i in $(seq 1 "$n"); do
        [ -f "$out/shard-$i/run.json" ] || todo="$todo${todo:+,}$i"
    done
    if [ -z "$todo" ]; then
        merge=$(sbatch --parsable ${SBATCH_ARGS:-} --job-name=hfeval-merge \
            --output="$out/merge.log" --wrap="$hfeval merge --out $(printf '%q' "$out")/merged$(
                for i in $(seq 1 "$n"); do printf ' %q' "$out/shard-$i"; done)")
        printf 'merge=%s\n' "$merge" >"$out/slurm-shards.jobs"
        echo "every shard finished; submitted the merge $merge"
        exit 0
    fi
    submit "$out" "$n" "$todo"
    exit 0
fi

[ $# -ge 4 ] || usage
n=$1 suite=$2 list=$3 out=$4
shift 4
case $n in '' | *[!0-9]* | 0*) echo "slurm-shards: N must be a count, got '$n'" >&2 && exit 2 ;; esac
mkdir -p "$out"
# what --resume needs to submit a shard again, as shell words
{
    printf 'n=%q\n' "$n"
    printf 'suite=%q\n' "$(printf '%q' "$suite")"
    printf 'list=%q\n' "$(printf '%q' "$list")"
    e=""
    [ $# = 0 ] || e=$(printf ' %q' "$@")
    printf 'extra=%q\n' "$e"
} >"$out/slurm-shards.args"
submit "$out" "$n" "1-$n"
