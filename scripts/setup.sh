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

# playwright-core, pinned, from the npm registry: it drives Debian's
# Chromium in the HTML report's tests (it downloads no browser).  Cached
# outside the checkout, like llama.cpp.
pw_version=1.64.1
pw_dir=${XDG_CACHE_HOME:-$HOME/.cache}/hfeval/npm
if command -v npm >/dev/null &&
    ! grep -qs "\"version\": \"$pw_version\"" "$pw_dir/node_modules/playwright-core/package.json"; then
    mkdir -p "$pw_dir"
    npm install --prefix "$pw_dir" --no-audit --no-fund --silent \
        "playwright-core@$pw_version" ||
        echo "setup: playwright-core did not install; the browser tests will say so" >&2
fi

build=${HFEVAL_BUILD:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" ${HFEVAL_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
