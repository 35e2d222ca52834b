#!/usr/bin/env bash
# The committed fuzz corpora, replayed through the ordinary build (and the
# sanitizer build in CI): every input that libFuzzer kept still parses or
# fails with a message, without a crash.
. "$(dirname "$0")/lib.sh"
for t in models gguf journal jsonl http; do
    dir=$HFEVAL_SRC/tests/fuzz/corpus/$t
    n=$(ls "$dir" | wc -l)
    run "$HFEVAL_TEST_BIN/fuzz_${t}_replay" "$dir"/*
    is "$rc" 0 "$t: $n corpus inputs replay without a crash"
    like "$out" "^$n inputs$" "$t: all of them ran"
done
done_testing
