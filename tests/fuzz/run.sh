#!/usr/bin/env bash
# Build a libFuzzer target with clang and run it on its committed corpus.
#
#   tests/fuzz/run.sh TARGET [SECONDS]     (TARGET: models)
#
# New inputs that find new coverage are added to tests/fuzz/corpus/TARGET;
# tests/fuzz.t replays that corpus through the ordinary build.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: tests/fuzz/run.sh TARGET [SECONDS]}
secs=${2:-60}
out=${TMPDIR:-/tmp}/hfeval-fuzz-$target
case "$target" in
models) srcs="core/models.c core/util.c" ;;
*) echo "run.sh: unknown target '$target' (expected: models)" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore -Iplugins \
    tests/fuzz/fuzz_$target.c $srcs -o "$out"
mkdir -p "tests/fuzz/corpus/$target"
"$out" -max_total_time="$secs" -max_len=4096 "tests/fuzz/corpus/$target"
