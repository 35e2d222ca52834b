#!/usr/bin/env bash
# Unit tests of the core (model lists, helpers): tests/test_units.c.
. "$(dirname "$0")/lib.sh"
exec "$HFEVAL_TEST_BIN/test_units"
