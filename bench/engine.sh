#!/usr/bin/env bash
# bench/engine.sh - the llama.cpp backend against llama.cpp's own tools,
# side by side in one run, on the same model, thread count and settings
# (flash attention off, no repacking: the backend's exact defaults).
#
#   bench/engine.sh [MODEL.gguf ...]     (default: the small and the large
#                                         fixture)
#
# Prints, per model:
#   hellaswag   our wall time / llama-perplexity --hellaswag (goal <= 1.0),
#               and both peak RSS
#   perplexity  our wall time / llama-perplexity's on the same text (goal
#               <= 1.05)
#   scoring     tokens evaluated per second while scoring / llama-bench
#               pp512 (goal >= 0.9)
#   decode      aggregate tokens/s of 8 greedy sequences decoded together,
#               128 tokens each, after their prompts / llama-bench tg128
#               single-stream (goal >= 3)
# Wall times include loading the model, for both sides.  Data: HellaSwag
# and GSM8K from ../shared/data (or $HFEVAL_DATA).  Takes a few minutes.
#
# GPU=cuda (or rocm) runs the llama-cuda module against llama-bench and
# llama-perplexity of the same CUDA build of llama.cpp, every layer on the
# GPU on both sides (-ngl 99; the module's default).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HFEVAL_BUILD:-build}
. "$build/test-env.sh"
export HFEVAL_NO_CACHE=1 # every figure computed now
data=${HFEVAL_DATA:-$HFEVAL_SRC/../shared/data}
T=${THREADS:-$(nproc)}
bin=$HFEVAL_LLAMA_BIN
ngl=()
if [ -n "${GPU:-}" ]; then
    case "$GPU" in
    cuda) bin=$HFEVAL_LLAMA_CUDA_BIN ;;
    rocm) bin=$HFEVAL_LLAMA_ROCM_BIN ;;
    *) echo "engine.sh: GPU=$GPU: expected cuda or rocm" >&2; exit 2 ;;
    esac
    [ -n "$bin" ] || { echo "engine.sh: this build has no $GPU module (cmake -DHFEVAL_${GPU^^}=ON)" >&2; exit 2; }
    export HFE_MODULE=llama-$GPU
    ngl=(-ngl 99)
fi
pp=$bin/llama-perplexity
lb=$bin/llama-bench
eng=$HFEVAL_TEST_BIN/test_engine
export HFEVAL_PLUGIN_DIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ $# -gt 0 ] || set -- "$HFEVAL_FIXTURES/base.gguf" "$HFEVAL_FIXTURES/large.gguf"
bzcat "$data/hellaswag_val_full.txt.bz2" >"$tmp/hs.txt"
perl -CSD -MJSON::PP -ne 'print decode_json($_)->{question}, "\n\n" if $. <= 300' \
    "$data/gsm8k_test.jsonl" >"$tmp/text.txt"
perl -CSD -MJSON::PP -ne 'print decode_json($_)->{question}, "\n" if $. <= 8' \
    "$data/gsm8k_test.jsonl" >"$tmp/prompts.txt"

# timed NAME CMD...: wall seconds and peak RSS (KiB) into $tmp/NAME.time
timed() {
    local name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
}
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$1"; }
ratio() { perl -e 'printf "%.3f", $ARGV[1] ? $ARGV[0] / $ARGV[1] : 0' "$1" "$2"; }

printf '%-12s %-11s %10s %10s %8s  %s\n' model metric hfeval llama.cpp ratio goal
for model in "$@"; do
    name=$(basename "$model" .gguf)

    # -np 16 -c 2048 is llama-perplexity's fastest setting here: -np 32 and
    # 64 take longer and 8.6 and 17 GB (its logits buffers), -np 128 dies
    # of std::bad_alloc on a 24 GB machine
    timed peer_hs "$pp" -m "$model" -f "$tmp/hs.txt" --hellaswag --hellaswag-tasks 400 \
        -np 16 -c 2048 -t "$T" -fa off --no-repack "${ngl[@]}"
    HFE_OPTS="threads=$T" timed ours_hs "$eng" hellaswag "$model" "$tmp/hs.txt" 400
    read -r pw pm <"$tmp/peer_hs.time"
    read -r ow om <"$tmp/ours_hs.time"
    printf '%-12s %-11s %9.2fs %9.2fs %8s  <= 1.0\n' "$name" hellaswag "$ow" "$pw" "$(ratio "$ow" "$pw")"
    printf '%-12s %-11s %7d MiB %6d MiB %8s  (peak RSS)\n' "$name" "  memory" $((om / 1024)) $((pm / 1024)) "$(ratio "$om" "$pm")"
    score_rate=$(field "$tmp/ours_hs.out" eval_tok_s)

    timed peer_ppl "$pp" -m "$model" -f "$tmp/text.txt" -c 512 -t "$T" -fa off --no-repack "${ngl[@]}"
    HFE_OPTS="threads=$T" timed ours_ppl "$eng" ppl "$model" "$tmp/text.txt" 512
    read -r pw pm <"$tmp/peer_ppl.time"
    read -r ow om <"$tmp/ours_ppl.time"
    printf '%-12s %-11s %9.2fs %9.2fs %8s  <= 1.05\n' "$name" perplexity "$ow" "$pw" "$(ratio "$ow" "$pw")"

    "$lb" -m "$model" -t "$T" -fa off -p 512 -n 128 -r 3 "${ngl[@]}" -o jsonl >"$tmp/bench.jsonl" 2>/dev/null
    pp512=$(perl -MJSON::PP -ne '$d = decode_json($_); print $d->{avg_ts} if $d->{n_prompt} == 512' "$tmp/bench.jsonl")
    tg128=$(perl -MJSON::PP -ne '$d = decode_json($_); print $d->{avg_ts} if $d->{n_gen} == 128' "$tmp/bench.jsonl")
    printf '%-12s %-11s %8.0f/s %8.0f/s %8s  >= 0.9 (vs pp512)\n' "$name" scoring "$score_rate" "$pp512" "$(ratio "$score_rate" "$pp512")"

    HFE_OPTS="threads=$T parallel=8" timed ours_gen "$eng" generate "$model" "$tmp/prompts.txt" 128
    gen_rate=$(field "$tmp/ours_gen.out" decode_tok_s)
    printf '%-12s %-11s %8.1f/s %8.1f/s %8s  >= 3 (8 sequences vs tg128)\n' "$name" decode "$gen_rate" "$tg128" "$(ratio "$gen_rate" "$tg128")"
done
