#!/usr/bin/env bash
# suites/fidelity.lua against llama-perplexity --kl-divergence on the same
# text and windows: mean KLD within 1% (or the peer's printed rounding),
# the same-top-token rate within 1%, mean Δp within the peer's printed
# rounding (0.0005 percentage points, and a little).
# llama-perplexity keeps the base's log-probabilities in 16 bits over their
# top 16 nats; hfeval keeps them the same way (core/score/fidelity.c).
. "$(dirname "$0")/lib.sh"
need_data gsm8k_test.jsonl
need_peer llama-perplexity
pp=$HFEVAL_LLAMA_BIN/llama-perplexity
fx=$HFEVAL_FIXTURES

perl -CSD -MJSON::PP -ne 'print decode_json($_)->{question}, "\n\n" if $. <= 60' \
    "$HFEVAL_DATA/gsm8k_test.jsonl" >"$SCRATCH/text.txt"
"$pp" -m "$fx/base.gguf" -f "$SCRATCH/text.txt" -c 128 -t 2 -fa off --no-repack \
    --kl-divergence-base "$SCRATCH/base.kld" >"$SCRATCH/base.log" 2>&1
ok $? "llama-perplexity saved the base's log-probabilities"

printf 'base %s/base.gguf threads=2\n' "$fx" >"$SCRATCH/list.txt"
for q in q8_0 q4_0; do
    printf '%s %s/%s.gguf base=base threads=2\n' "$q" "$fx" "$q" >>"$SCRATCH/list.txt"
done
run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/fidelity.lua" --models "$SCRATCH/list.txt" \
    --set text="$SCRATCH/text.txt" --set ctx=128 --out "$SCRATCH/run"
is "$rc" 0 "fidelity.lua ran over the base and two quantizations"

val() { # model metric
    printf '%s\n' "$out" | awk -v m="$1" -v k="$2" '$1 == m && $3 == k { print $4 }'
}
near() { # got want relative absolute
    perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= $ARGV[2] * abs($ARGV[1]) + $ARGV[3])' -- "$@"
    echo $?
}
for q in q8_0 q4_0; do
    "$pp" -m "$fx/$q.gguf" -t 2 -fa off --no-repack --kl-divergence-base "$SCRATCH/base.kld" \
        --kl-divergence >"$SCRATCH/$q.log" 2>&1
    peer_kld=$(sed -n 's/.*Mean *KLD: *\([0-9.]*\).*/\1/p' "$SCRATCH/$q.log")
    peer_top=$(sed -n 's/.*Same top p: *\([0-9.]*\).*/\1/p' "$SCRATCH/$q.log")
    peer_dp=$(sed -n 's/.*Mean *Δp: *\([-0-9.]*\).*/\1/p' "$SCRATCH/$q.log")
    kld=$(val "$q" kld) top=$(val "$q" same_top) dp=$(val "$q" delta_p)
    # the peer prints 6 decimals: compare within 1% or its rounding
    ok "$(near "${kld:-9}" "${peer_kld:-0}" 0.01 5e-7)" "$q: mean KLD $kld, llama-perplexity $peer_kld"
    ok "$(near "$(perl -e "print 100 * ${top:-0}")" "${peer_top:-0}" 0.01 0)" \
        "$q: same top token $top, llama-perplexity $peer_top%"
    ok "$(near "$(perl -e "print 100 * ${dp:-9}")" "${peer_dp:-0}" 0 0.0006)" \
        "$q: mean Δp $dp, llama-perplexity $peer_dp%"
done
done_testing
