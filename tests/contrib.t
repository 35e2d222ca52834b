#!/usr/bin/env bash
# contrib/slurm-shards.sh against a stand-in sbatch that runs what it is
# given (each array index, then the dependent merge) on this machine: the
# shards and the merge it submits give the unsharded run's table.  And the
# CI jobs (contrib/github-actions.yml, contrib/gitlab-ci.yml): each parses,
# and its compare commands run as they are written, giving JUnit XML.
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

# the CI jobs' commands, on a baseline and a candidate of the demo lineage
mkdir -p results/baselines results/runs build/bin
ln -s "$HFEVAL_BIN" build/bin/hfeval
ln -s "$HFEVAL_SRC/suites" suites
printf 'demo-q2_k %s/demo-q2_k.gguf\n' "$HFEVAL_FIXTURES" >candidate.txt
printf 'demo-base %s/demo-base.gguf\n' "$HFEVAL_FIXTURES" >baseline.txt
"$HFEVAL_BIN" run "$HFEVAL_SRC/suites/coding.lua" --models baseline.txt \
    --out results/baselines/coding >/dev/null 2>&1
for f in github-actions gitlab-ci; do
    if ! python3 -c 'import yaml' 2>/dev/null; then
        skip 2 "no python3-yaml to read contrib/$f.yml"
        continue
    fi
    python3 - "$HFEVAL_SRC/contrib/$f.yml" >"$f.sh" <<'P'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
jobs = doc["jobs"].values() if "jobs" in doc else [doc["hfeval-gate"]]
for job in jobs:
    steps = [s.get("run", "") for s in job["steps"]] if "steps" in job else job["script"]
    for cmd in steps:
        if "hfeval run" in cmd or "hfeval compare" in cmd:
            print(cmd.replace("--format md >>\"$GITHUB_STEP_SUMMARY\"", "--format md >summary.md"))
P
    ok $? "contrib/$f.yml parses"
    rm -f hfeval-junit.xml
    bash -c ". ./$f.sh" >/dev/null 2>&1
    python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); sys.exit(not (r.tag == "testsuites" and r.find("testsuite/testcase") is not None))' \
        hfeval-junit.xml 2>/dev/null
    ok $? "its commands run as written and leave the JUnit report"
done
done_testing
