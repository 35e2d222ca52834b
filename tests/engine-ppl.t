#!/usr/bin/env bash
# Perplexity of the fixture models with llama-perplexity's windows equals
# llama-perplexity's final estimate on the same text and context, within
# 0.1% relative.  The text: GSM8K questions from ../shared/data.
. "$(dirname "$0")/lib.sh"
need_data gsm8k_test.jsonl
need_peer llama-perplexity
export HFEVAL_PLUGIN_DIR HFE_OPTS="threads=2"

perl -CSD -MJSON::PP -ne 'print decode_json($_)->{question}, "\n\n" if $. <= 120' \
    "$HFEVAL_DATA/gsm8k_test.jsonl" >"$SCRATCH/text.txt"

for m in base q8_0 q4_k_m; do
    for c in 128 256; do
        model=$HFEVAL_FIXTURES/$m.gguf
        peer=$("$HFEVAL_LLAMA_BIN/llama-perplexity" -m "$model" -f "$SCRATCH/text.txt" \
            -c $c -t 2 -fa off --no-repack 2>&1 | sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p')
        run "$HFEVAL_TEST_BIN/test_engine" ppl "$model" "$SCRATCH/text.txt" $c
        ours=$(printf '%s' "$out" | sed -n 's/^ppl \([0-9.]*\) .*/\1/p')
        rel=$(perl -e 'printf "%.6f", abs($ARGV[0] / $ARGV[1] - 1)' "${ours:-0}" "${peer:-1}")
        ok "$(perl -e 'exit !($ARGV[0] <= 0.001 && $ARGV[1] > 1)' "$rel" "${peer:-0}"; echo $?)" \
            "$m, context $c: ours $ours, llama-perplexity $peer (relative difference $rel)"
        [ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/# /' | head -5
    done
done
done_testing
