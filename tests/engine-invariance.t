#!/usr/bin/env bash
# Batch invariance of the engine backend: log-likelihoods in a full batch
# equal each computed alone within 1e-4; greedy generations decoded eight
# at a time equal each decoded alone.  On F32, Q8_0 and Q4_K_M weights.
# (F16 and Q4_0 weights differ by up to 2e-4 and 3e-2 in log-likelihood:
# llama.cpp's CPU kernels for them depend on the batch's shape beyond
# what the backend evens out; see backends/llama/engine.h.)
. "$(dirname "$0")/lib.sh"
need_data gsm8k_test.jsonl
export HFEVAL_PLUGIN_DIR
perl -CSD -MJSON::PP -ne 'print decode_json($_)->{question}, "\n" if $. <= 16' \
    "$HFEVAL_DATA/gsm8k_test.jsonl" >"$SCRATCH/prompts.txt"
for m in base q8_0 q4_k_m; do
    echo "# $m"
    while IFS= read -r line; do
        case "$line" in
        "ok "*) _result 1 "$m: ${line#ok * - }" ;;
        "not ok "*) _result 0 "$m: ${line#not ok * - }" ;;
        1..*) ;;
        *) echo "$line" ;;
        esac
    done < <(HFE_OPTS="threads=2 parallel=8" "$HFEVAL_TEST_BIN/test_engine" \
        invariance "$HFEVAL_FIXTURES/$m.gguf" "$SCRATCH/prompts.txt")
done
done_testing
