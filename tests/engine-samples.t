#!/usr/bin/env bash
# pass@k's n samples of a prompt decode it once (backends/llama/
# generate.c): each sample's text equals the one a separate prefill of
# the prompt gives (share_prompt=off), sample by sample, at a temperature
# where the samples differ; the engine's count of prompt tokens decoded
# is each prompt once (and a token for each sample that joined a prompt
# already decoded), against n times each without sharing.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
cd "$SCRATCH" || exit 1

n=10
f=$HFEVAL_FIXTURES/demo-base.gguf
for how in on off; do
    printf 'base  %s  share_prompt=%s\n' "$f" $how >$how.txt
    HFEVAL_LOG=4 "$hfeval" run "$HFEVAL_SRC/suites/coding.lua" --models $how.txt --limit 8 \
        --set samples=$n --set temperature=1.2 --set k=1,5,10 --out $how >/dev/null 2>$how.err
    is "$?" 0 "coding.lua, $n samples a problem at temperature 1.2, share_prompt=$how"
done
python3 - $n >facts.txt <<'P'
import json, re, sys
n = int(sys.argv[1])
out, np = {}, {}
for run in ("on", "off"):
    for line in open(run + "/samples.jsonl"):
        r = json.loads(line)
        out.setdefault(run, {})[r["doc_id"]] = r["outputs"]
        np[r["doc_id"]] = r["prompt_tokens"]
s, p = out["on"], out["off"]
print("docs", len(s), "equal", sum(s[d] == p.get(d) for d in s),
      "samples", sum(len(v) for v in s.values()))
print("varied", sum(len(set(v)) > 1 for v in s.values()))
# the engine's own count, a line each generation batch (HFEVAL_LOG=4)
fed = {}
for run in ("on", "off"):
    got = re.findall(r"generate: \d+ requests, (\d+) prompt tokens decoded, (\d+) shared",
                     open(run + ".err").read())
    fed[run] = [sum(int(g[i]) for g in got) for i in (0, 1)]
once = sum(np.values())
print("separate", int(fed["off"] == [n * once, 0]))
print("shared", int(fed["on"][0] + fed["on"][1] == n * once and
                    once <= fed["on"][0] <= once + (n - 1) * len(np)))
print("figures: %d prompt tokens, decoded %d shared (%d of them joiners' last tokens), %d separate"
      % (once, fed["on"][0], fed["on"][0] - once, fed["off"][0]))
P
facts=$(cat facts.txt)
like "$facts" "docs 8 equal 8 samples 80" "every sample's text equals the separate prefill's, in order"
like "$facts" "varied [3-8]" "and the samples differ (not one answer copied $n times)"
like "$facts" "separate 1" "share_prompt=off: each prompt decoded $n times"
like "$facts" "shared 1" "share_prompt=on: each prompt once, a token more for a sample that joined late"
printf '# %s\n' "$(grep figures facts.txt)"
done_testing
