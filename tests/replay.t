#!/usr/bin/env bash
# The replay reference backend: tests/test_replay.c.
. "$(dirname "$0")/lib.sh"
exec "$HFEVAL_TEST_BIN/test_replay" "$HFEVAL_PLUGIN_DIR/hfe-replay.so"
