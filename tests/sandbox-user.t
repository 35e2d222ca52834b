#!/usr/bin/env bash
# The code sandbox as a user other than root (tests/test_sandbox.c user):
# contained through a user namespace, or refused where the kernel gives
# none.  Run as root, it drops to an unused user id for the test.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null || { echo "1..0 # SKIP no setpriv"; exit 0; }
    cd / || exit 1
    exec env -i PATH=/usr/bin:/bin HOME=/nonexistent setpriv --reuid=23456 --regid=23456 \
        --clear-groups "$HFEVAL_TEST_BIN/test_sandbox" user
fi
exec "$HFEVAL_TEST_BIN/test_sandbox" user
