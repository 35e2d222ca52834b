#!/usr/bin/env bash
# The runtime's own overhead: a generation suite over N documents (default
# 10,000) through the replay backend, which answers from a file, so what
# is measured is the harness: loading the suite, building prompts in Lua,
# batching, extraction, scoring and records.  The baseline is the same
# command with --limit 0: data read (by the suite and by replay), nothing
# run.  Prints wall time and peak RSS of both and their difference.
#
#   bench/runtime.sh [N]        (from a built tree; goal: < 1 s, < 50 MB)
set -euo pipefail
n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
hfeval=${HFEVAL_BIN:-$root/build/bin/hfeval}
export HFEVAL_PLUGIN_DIR=${HFEVAL_PLUGIN_DIR:-$root/build/lib/hfeval}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

perl -e 'for my $i (0 .. $ARGV[0] - 1) {
    my ($a, $b) = ($i % 97, $i % 89);
    printf qq({"id":"q%d","q":"What is %d plus %d?","a":"%d"}\n), $i, $a, $b, $a + $b;
}' "$n" >"$tmp/data.jsonl"
perl -e 'for my $i (0 .. $ARGV[0] - 1) {
    my ($a, $b) = ($i % 97, $i % 89);
    printf qq({"item_id":"q%d","completion":" The sum is %d.\\nQuestion:"}\n), $i, $a + $b + ($i % 3 == 0);
}' "$n" >"$tmp/answers.jsonl"
cat >"$tmp/gen.lua" <<'L'
local docs = hfe.read_jsonl(hfe.set.data)
return { name = "runtime", version = "1", tasks = { {
    name = "add", kind = "generate", docs = docs,
    prompt = function(d) return "Question: " .. d.q .. "\nAnswer:" end,
    target = function(d) return d.a end, id = function(d) return d.id end,
    ["until"] = { "\nQuestion:" }, max_tokens = 32,
    extract = { strict = "The sum is (\\d+)", last = { "(\\d+)", last = true } },
    metrics = { chars = function(doc, out) return #out.text end } } } }
L
printf 'replayed replay:%s/answers.jsonl\n' "$tmp" >"$tmp/list.txt"

calc() { perl -e "print(($1))"; }
measure() { # label args...
    local label=$1
    shift
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$hfeval" run "$tmp/gen.lua" \
        --models "$tmp/list.txt" --set data="$tmp/data.jsonl" --out "$tmp/out" "$@" \
        >"$tmp/table" 2>"$tmp/err"
    read -r wall rss <"$tmp/time"
    printf '%-10s wall %6.3f s   peak RSS %7.1f MiB\n' "$label" "$wall" "$(calc "$rss / 1024")"
    eval "${label}_wall=$wall ${label}_rss=$rss"
}
measure baseline --limit 0
measure full
grep -E 'exact_match:strict' "$tmp/table"
printf 'records: %s lines\n' "$(wc -l <"$tmp/out/samples.jsonl")"
printf 'overhead for %d samples: %.3f s, %.1f MiB\n' "$n" \
    "$(calc "$full_wall - $baseline_wall")" "$(calc "($full_rss - $baseline_rss) / 1024")"
