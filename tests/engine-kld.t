#!/usr/bin/env bash
# KL divergence of quantized fixtures from the base, and the rate at which
# they agree on the top token, equal llama-perplexity --kl-divergence's on
# the same tokens within 1% relative.  llama-perplexity keeps the base's
# log-probabilities in 16 bits over their top 16 nats; test_engine matches
# that and also prints the exact value.
. "$(dirname "$0")/lib.sh"
need_data gsm8k_test.jsonl
need_peer llama-perplexity
export HFEVAL_PLUGIN_DIR HFE_OPTS="threads=2"
pp=$HFEVAL_LLAMA_BIN/llama-perplexity
fx=$HFEVAL_FIXTURES

perl -CSD -MJSON::PP -ne 'print decode_json($_)->{question}, "\n\n" if $. <= 60' \
    "$HFEVAL_DATA/gsm8k_test.jsonl" >"$SCRATCH/text.txt"
"$pp" -m "$fx/base.gguf" -f "$SCRATCH/text.txt" -c 128 -t 2 -fa off --no-repack \
    --kl-divergence-base "$SCRATCH/base.kld" >"$SCRATCH/base.log" 2>&1
ok $? "llama-perplexity saved the base's log-probabilities"

close() { # got want tolerance
    perl -e 'exit !($ARGV[1] > 0 && abs($ARGV[0] / $ARGV[1] - 1) <= $ARGV[2])' "$@"
    echo $?
}

for q in q8_0 q4_0; do
    "$pp" -m "$fx/$q.gguf" -t 2 -fa off --no-repack --kl-divergence-base "$SCRATCH/base.kld" \
        --kl-divergence >"$SCRATCH/$q.log" 2>&1
    peer_kld=$(sed -n 's/.*Mean *KLD: *\([0-9.]*\).*/\1/p' "$SCRATCH/$q.log")
    peer_top=$(sed -n 's/.*Same top p: *\([0-9.]*\).*/\1/p' "$SCRATCH/$q.log")
    run "$HFEVAL_TEST_BIN/test_engine" kld "$fx/base.gguf" "$fx/$q.gguf" "$SCRATCH/text.txt" 128
    kld=$(printf '%s' "$out" | sed -n 's/^kld \([0-9.e-]*\) .*/\1/p')
    exact=$(printf '%s' "$out" | sed -n 's/.* kld_exact \([0-9.e-]*\) .*/\1/p')
    top=$(printf '%s' "$out" | sed -n 's/.* same_top \([0-9.]*\) .*/\1/p')
    # the peer prints 6 decimals: compare within 1% or its rounding
    ok "$(perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= 0.01 * $ARGV[1] + 5e-7)' "${kld:-9}" "${peer_kld:-0}"; echo $?)" \
        "$q: mean KLD $kld, llama-perplexity $peer_kld"
    ok "$(close "${top:-0}" "${peer_top:-0}" 0.01)" \
        "$q: same top token $top%, llama-perplexity $peer_top%"
    ok "$(perl -e 'exit !($ARGV[0] > 0 && abs($ARGV[0] / $ARGV[1] - 1) < 0.05)' "${exact:-0}" "${kld:-1}"; echo $?)" \
        "$q: unclamped KLD $exact is close to the clamped one"
done
done_testing
