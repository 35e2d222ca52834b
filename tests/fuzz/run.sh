#!/usr/bin/env bash
# Build a libFuzzer target with clang and run it on its committed corpus.
#
#   tests/fuzz/run.sh TARGET [SECONDS]
#       TARGET: models, gguf, journal, jsonl, http
#
# New inputs that find new coverage are added to tests/fuzz/corpus/TARGET;
# tests/fuzz.t replays that corpus through the ordinary build.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: tests/fuzz/run.sh TARGET [SECONDS]}
secs=${2:-60}
out=${TMPDIR:-/tmp}/hfeval-fuzz-$target
# the llama.cpp build (for ggml's gguf reader) that setup.sh made
prefix=$(sed -n 's/^HFEVAL_LLAMA_PREFIX=//p' "${HFEVAL_BUILD:-build}/test-env.sh" 2>/dev/null)
ggml="-I$prefix/include -L$prefix/lib -Wl,-rpath,$prefix/lib -lggml-base"
lua="$(pkg-config --cflags --libs lua5.4 libpcre2-8 zlib) -lbz2"
case "$target" in
models) srcs="core/input/models.c common/util.c" libs="" ;;
gguf) srcs="common/gguf_meta.c common/json.c common/util.c" libs="$ggml" ;;
journal) srcs="core/run/journal.c common/gguf_meta.c common/json.c common/sha256.c common/util.c" libs="$ggml -lcjson" ;;
jsonl) srcs="core/suite/lua_rt.c core/suite/lua_hfe.c common/util.c" libs="$lua -lcjson -lm" ;;
http) srcs="$(echo backends/http/*.c)" libs="-lcurl -lcjson -lm" ;;
*) echo "run.sh: unknown target '$target' (expected: models gguf journal jsonl http)" >&2; exit 2 ;;
esac
max_len=4096
[ "$target" = gguf ] && max_len=65536
# shellcheck disable=SC2086
clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Iplugins \
    $(printf -- '-I%s ' core/*/) \
    tests/fuzz/fuzz_$target.c $srcs $libs -o "$out"
mkdir -p "tests/fuzz/corpus/$target"
"$out" -max_total_time="$secs" -max_len=$max_len -print_final_stats=1 \
    "tests/fuzz/corpus/$target"
