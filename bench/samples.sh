#!/usr/bin/env bash
# bench/samples.sh - pass@k's n samples a prompt, the prompt decoded once
# (share_prompt=on, the default) against decoded for every sample
# (share_prompt=off), and against llama-batched-bench with a shared prompt
# (-pps) at the same parallelism.
#
#   bench/samples.sh [MODEL.gguf]     (default: the demo lineage's base)
#
# suites/coding.lua's own 32 problems, N=10 samples each at temperature
# 0.8, parallel=10 (one problem's samples a batch), on both sides.
# Prints the prompt tokens the engine decoded (its own count, HFEVAL_LOG=4)
# and the engine's generation time (run.json: generated tokens over
# decode tokens/s) for both settings, and llama-batched-bench's time for
# the same shape (the mean prompt and completion lengths, npl 10, its
# prompt shared), times the 32 problems.  llama-batched-bench is built on
# first use into the cached llama.cpp (scripts/llama.sh --with-tool;
# about 5 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HFEVAL_BUILD:-build}
. "$build/test-env.sh"
export HFEVAL_NO_CACHE=1 # every figure computed now
T=${THREADS:-$(nproc)}
N=10
model=${1:-$HFEVAL_FIXTURES/demo-base.gguf}
bb=$HFEVAL_LLAMA_BIN/llama-batched-bench
if [ ! -x "$bb" ]; then
    prefix=$(scripts/llama.sh --with-tool llama-batched-bench | tail -1)
    bb=$prefix/bin/llama-batched-bench
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for how in on off; do
    printf 'm  %s  parallel=%d threads=%d share_prompt=%s\n' "$model" $N "$T" $how >"$tmp/$how.txt"
    HFEVAL_LOG=4 "$HFEVAL_BIN" run suites/coding.lua --models "$tmp/$how.txt" \
        --set samples=$N --set temperature=0.8 --set k=1,10 --out "$tmp/$how" \
        >/dev/null 2>"$tmp/$how.err"
done
# the engine's prompt tokens decoded; its generation seconds; the mean
# prompt and completion lengths
facts() {
    perl -MJSON::PP -e '
        my ($run, $err) = @ARGV; my ($fed, $np, $gen, $n) = (0, 0, 0, 0);
        open my $e, "<", $err or die; while (<$e>) { $fed += $1 if /generate: \d+ requests, (\d+) prompt tokens decoded/ }
        open my $s, "<", "$run/samples.jsonl" or die;
        while (<$s>) { my $d = decode_json($_); $np += $d->{prompt_tokens}; $n++ }
        local $/; open my $r, "<", "$run/run.json" or die; my $j = decode_json(<$r>);
        my $m = $j->{models}[0]{measure};
        # every sample'"'"'s tokens: the engine'"'"'s own count (a record holds the first'"'"'s)
        printf "%d %.3f %d %d %d\n", $fed, $m->{generated_tokens} / $m->{decode_tok_s}, $np / $n,
            $m->{generated_tokens} / ($n * '"$N"') + 0.5, $n' "$1" "$1.err"
}
read -r fed_on s_on npp ntg probs < <(facts "$tmp/on")
read -r fed_off s_off _ _ _ < <(facts "$tmp/off")
"$bb" -m "$model" -c 8192 -b 512 -ub 512 -npp "$npp" -ntg "$ntg" -npl $N -pps \
    -t "$T" -fa off --no-repack --output-format jsonl >"$tmp/bb.jsonl" 2>/dev/null
s_bb=$(perl -MJSON::PP -ne 'next unless /\S/; $d = decode_json($_); printf "%.3f", $d->{t} * '"$probs" "$tmp/bb.jsonl")
ratio() { perl -e 'printf "%.3f", $ARGV[1] ? $ARGV[0] / $ARGV[1] : 0' "$1" "$2"; }

echo "$(basename "$model" .gguf): $probs problems x $N samples, prompts of $npp tokens, completions of $ntg on average"
printf '%-34s %10s %10s %8s\n' measure shared separate ratio
printf '%-34s %10d %10d %8s\n' "prompt tokens decoded" "$fed_on" "$fed_off" "$(ratio "$fed_on" "$fed_off")"
printf '%-34s %9.2fs %9.2fs %8s\n' "engine generation time" "$s_on" "$s_off" "$(ratio "$s_on" "$s_off")"
printf '%-34s %9.2fs %9.2fs %8s\n' "vs llama-batched-bench -pps x$probs" "$s_on" "$s_bb" "$(ratio "$s_on" "$s_bb")"
