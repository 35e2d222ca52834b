#!/usr/bin/env bash
# The suite runtime: sandbox, limits, messages, hfe library (tests/test_lua.c).
. "$(dirname "$0")/lib.sh"
exec "$HFEVAL_TEST_BIN/test_lua"
