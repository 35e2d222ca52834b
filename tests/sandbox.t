#!/usr/bin/env bash
# The code sandbox against hostile programs: tests/test_sandbox.c.
. "$(dirname "$0")/lib.sh"
exec "$HFEVAL_TEST_BIN/test_sandbox"
