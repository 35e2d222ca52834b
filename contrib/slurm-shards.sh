#!/usr/bin/env bash
# Spread one hfeval run over a Slurm job array, then merge.
#
#   contrib/slurm-shards.sh N SUITE.lua LIST OUT [hfeval run args...]
#
# submits an array of N tasks, task i running `hfeval run ... --shard
# i/N --out OUT/shard-i`, and a merge job that starts when all of them
# succeeded: `hfeval merge --out OUT/merged OUT/shard-*`.  OUT must be on
# a file system every node sees.  Set HFEVAL (default: hfeval on PATH) and
# SBATCH_ARGS (partition, time, memory, GPUs) as your site needs.
set -euo pipefail
if [ $# -lt 4 ]; then
    sed -n '2,12p' "$0" >&2
    exit 2
fi
n=$1 suite=$2 list=$3 out=$4
shift 4
hfeval=${HFEVAL:-hfeval}
mkdir -p "$out"
extra=$(printf ' %q' "$@")

array=$(sbatch --parsable ${SBATCH_ARGS:-} --array=1-"$n" --job-name=hfeval-shards \
    --output="$out/shard-%a.log" --wrap="$hfeval run $(printf '%q' "$suite") \
--models $(printf '%q' "$list") --shard \${SLURM_ARRAY_TASK_ID}/$n \
--out $(printf '%q' "$out")/shard-\${SLURM_ARRAY_TASK_ID}$extra")
shards=""
for i in $(seq 1 "$n"); do shards="$shards $(printf '%q' "$out/shard-$i")"; done
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency=afterok:"$array" --job-name=hfeval-merge \
    --output="$out/merge.log" --wrap="$hfeval merge --out $(printf '%q' "$out")/merged$shards")
echo "submitted: shards $array (1-$n), merge $merge; results in $out/merged"
