#!/usr/bin/env bash
# The llama.cpp backend module on the fixture lineage: tests/test_backend.c.
. "$(dirname "$0")/lib.sh"
exec "$HFEVAL_TEST_BIN/test_backend" "$HFEVAL_PLUGIN_DIR" "$HFEVAL_FIXTURES"
