#!/usr/bin/env bash
# Set up everything on a Debian 12 machine, from nothing: the Debian
# packages (scripts/deps.sh), the pinned llama.cpp (scripts/llama.sh, cached
# outside the checkout), hfeval, its backends and the fixture lineage.
#
#   scripts/setup.sh                       build into ./build
#   HFEVAL_BUILD=build-asan HFEVAL_CMAKE_ARGS=-DHFEVAL_SANITIZE=ON scripts/setup.sh
#
# Idempotent: a second run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! scripts/deps.sh --check 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        scripts/deps.sh
    elif command -v sudo >/dev/null; then
        sudo scripts/deps.sh
    else
        scripts/deps.sh # prints the apt-get line to run as root, fails
    fi
fi

build=${HFEVAL_BUILD:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" ${HFEVAL_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
