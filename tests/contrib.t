#!/usr/bin/env bash
# contrib/slurm-shards.sh against a stand-in sbatch that runs what it is
# given (each array index, then the dependent merge) on this machine: the
# shards and the merge it submits give the unsharded run's table.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH" || exit 1
mkdir bin
cat >bin/sbatch <<'S'
#!/usr/bin/env bash
# a stand-in: runs --wrap for each --array index, in order, at once
array="" wrap="" out=""
for a in "$@"; do
    case $a in
    --array=*) array=${a#--array=} ;;
    --wrap=*) wrap=${a#--wrap=} ;;
    --output=*) out=${a#--output=} ;;
    esac
done
echo "$*" >>"$SBATCH_LOG"
if [ -n "$array" ]; then
    for i in $(seq "${array%-*}" "${array#*-}"); do
        SLURM_ARRAY_TASK_ID=$i bash -c "$wrap" >"${out//%a/$i}" 2>&1 || exit 1
    done
else
    bash -c "$wrap" >"$out" 2>&1 || exit 1
fi
echo $RANDOM
S
chmod +x bin/sbatch
export PATH=$SCRATCH/bin:$PATH SBATCH_LOG=$SCRATCH/sbatch.log HFEVAL=$HFEVAL_BIN
run "$HFEVAL_SRC/contrib/slurm-shards.sh" 3 "$HFEVAL_SRC/suites/arith.lua" \
    "$HFEVAL_FIXTURES/random.txt" "$SCRATCH/spread" --limit 6
is "$rc" 0 "the script submits"; [ "$rc" = 0 ] || printf "# %s\n" "$err"
like "$(cat sbatch.log)" '--array=1-3 ' "an array of three"
like "$(cat sbatch.log)" '--dependency=afterok:' "a merge that waits for it"
"$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" --models "$HFEVAL_FIXTURES/random.txt" \
    --limit 6 --out whole >whole.txt 2>/dev/null
tail -n +1 spread/merge.log | grep -v '^hfeval:' >merged.txt
is "$(cat merged.txt)" "$(cat whole.txt)" "the merged table is the unsharded run's"
done_testing
