#!/usr/bin/env bash
# The llama.cpp backend module on the fixture lineage: tests/test_backend.c.
. "$(dirname "$0")/lib.sh"
# a valid GGUF of an architecture llama.cpp does not know
vocab=$HFEVAL_LLAMA_VOCAB
if [ -n "$vocab" ] && "$HFEVAL_TEST_BIN/mkmodel" --vocab "$vocab" --out "$SCRATCH/arch.gguf" \
    --n-embd 256 --n-layer 1 --kv general.architecture=str:nosucharch >/dev/null 2>&1; then
    "$HFEVAL_TEST_BIN/test_backend" "$HFEVAL_PLUGIN_DIR" "$HFEVAL_FIXTURES" "$SCRATCH/arch.gguf"
else
    echo "# no vocab file to make an unknown-architecture model from"
    "$HFEVAL_TEST_BIN/test_backend" "$HFEVAL_PLUGIN_DIR" "$HFEVAL_FIXTURES"
fi
