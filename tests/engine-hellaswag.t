#!/usr/bin/env bash
# HellaSwag, 400 tasks (40 on a sanitizer build), scored the way llama-perplexity --hellaswag scores
# them: the same ending is picked on every task.  llama-perplexity prints
# only a running accuracy, so it runs three times on copies of the data
# whose gold label is 0, 1 and 2 on every task: a task's accuracy step in
# run L says whether it picked L (and no step in any run: it picked 3).
. "$(dirname "$0")/lib.sh"
need_data hellaswag_val_full.txt.bz2
need_peer llama-perplexity
export HFEVAL_PLUGIN_DIR HFE_OPTS="threads=2"
N=400
# the peer dominates the time and does not change with our sanitizers
[ "${HFEVAL_SANITIZE:-OFF}" = ON ] && N=40

bzcat "$HFEVAL_DATA/hellaswag_val_full.txt.bz2" >"$SCRATCH/hs.txt"
ok $? "the data decompresses"

for L in 0 1 2; do
    awk -v L=$L 'NR % 6 == 2 { print L; next } { print }' "$SCRATCH/hs.txt" >"$SCRATCH/hs$L.txt"
    "$HFEVAL_LLAMA_BIN/llama-perplexity" -m "$HFEVAL_FIXTURES/base.gguf" -f "$SCRATCH/hs$L.txt" \
        --hellaswag --hellaswag-tasks $N -c 2048 -np 16 -t 2 -fa off --no-repack 2>&1 |
        awk '/^[0-9]+\t/ { n = $1; c = $2 * n / 100; print n, (c - prev > 0.5); prev = c }' \
            >"$SCRATCH/peer$L.txt"
done
paste "$SCRATCH/peer0.txt" "$SCRATCH/peer1.txt" "$SCRATCH/peer2.txt" |
    awk '{ p = $2 ? 0 : $4 ? 1 : $6 ? 2 : 3; print $1, p }' >"$SCRATCH/peer.txt"
is "$(wc -l <"$SCRATCH/peer.txt")" $N "llama-perplexity scored $N tasks"

run "$HFEVAL_TEST_BIN/test_engine" hellaswag "$HFEVAL_FIXTURES/base.gguf" "$SCRATCH/hs.txt" $N
is "$rc" 0 "hfeval's engine scored them"
printf '%s\n' "$out" | awk '/^task / { print $2, $4 }' >"$SCRATCH/ours.txt"
is "$(wc -l <"$SCRATCH/ours.txt")" $N "one pick per task"
differ=$(diff "$SCRATCH/peer.txt" "$SCRATCH/ours.txt" | grep -c '^>')
is "$differ" 0 "the same ending is picked on every task"
[ "$differ" != 0 ] && diff "$SCRATCH/peer.txt" "$SCRATCH/ours.txt" | head -10 | sed 's/^/# /'
acc=$(printf '%s\n' "$out" | sed -n 's/^acc_norm \([0-9.]*\).*/\1/p')
like "$acc" '^[0-9]+\.[0-9]+$' "acc_norm is reported ($acc%)"
done_testing
