#!/usr/bin/env bash
# The CI jobs (contrib/github-actions.yml, contrib/gitlab-ci.yml): each
# parses, and its compare commands run as they are written, giving JUnit
# XML.  (contrib/slurm-shards.sh meets a real cluster in tests/slurm.t.)
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH" || exit 1

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

# the Kubernetes Indexed Job: each pod's command as written (its paths
# here, a small suite), JOB_COMPLETION_INDEX 0..3, then the merge Job's
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$HFEVAL_SRC/contrib/k8s-indexed-job.yaml" >k8s.sh <<'P'
import shlex, sys, yaml
shards, merge = yaml.safe_load_all(open(sys.argv[1]))
pod = shards["spec"]["template"]["spec"]["containers"][0]
n = shards["spec"]["completions"]
print("pod() { %s; }" % pod["args"][0])
print("for i in $(seq 0 %d); do (JOB_COMPLETION_INDEX=$i pod) >/dev/null || exit 1; done" % (n - 1))
print(shlex.join(merge["spec"]["template"]["spec"]["containers"][0]["command"]))
P
    ok $? "contrib/k8s-indexed-job.yaml parses"
    sed -i "s#suites/coding.lua#$HFEVAL_SRC/suites/arith.lua --limit 8#; \
        s#/data/lineage.txt#$HFEVAL_FIXTURES/random.txt#; s#/results/#$SCRATCH/results/#g" k8s.sh
    PATH=$SCRATCH/build/bin:$PATH bash k8s.sh >k8s.out 2>k8s.err
    ok $? "its pods' and its merge's commands run as written"
    "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" --limit 8 --models "$HFEVAL_FIXTURES/random.txt" \
        --out whole >whole.txt 2>/dev/null
    is "$(grep -o '"shard":{[^}]*}' results/run/shard-3/run.json)" '"shard":{"k":3,"n":4}' \
        "--shard k8s/4 in the pod of index 2: shard 3 of 4"
    is "$(grep -v '^hfeval:' k8s.out)" "$(cat whole.txt)" "the merged table is the unsharded run's"
else
    skip 4 "no python3-yaml to read contrib/k8s-indexed-job.yaml"
fi
done_testing
