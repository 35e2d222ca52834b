#!/usr/bin/env bash
# Fetch, verify and build the pinned llama.cpp into a cache outside the
# checkout, then print the install prefix on stdout (last line).
#
#   scripts/llama.sh [--src DIR] [--variant cpu|cuda|rocm] [--native ON|OFF]
#                    [--cuda-arch LIST] [--gpu-targets LIST]
#                    [--with-tool NAME]
#
# Source, in this order: --src DIR (any commit; the key records it), else
# the git bundle inside the npm package node-llama-cpp@3.22.1, which must
# clone to the pinned commit or the script refuses it.
#
# The prefix holds lib/ (shared libraries with RUNPATH $ORIGIN), include/
# (llama.h, ggml headers, gguf.h) and bin/ (llama-server, llama-quantize,
# llama-perplexity, llama-bench, all with RUNPATH $ORIGIN/../lib). It is
# keyed by commit, variant and options, so a second build, a clean clone
# and CI reuse it. Concurrent callers wait on a lock. --with-tool NAME
# adds another of llama.cpp's tools to a prefix that lacks it (a bench's
# peer, such as llama-batched-bench), built from the same source with the
# same options.
#
# The GPU variants (cuda, rocm) are built as static, position-independent
# archives instead (lib/*.a), with llama-perplexity and llama-bench linked
# against them: a GPU module carries its own llama.cpp, so that it can
# share a process with the CPU module, whose libllama.so.0 has the same
# name. --cuda-arch defaults to "native" where nvidia-smi sees a GPU, else
# to llama.cpp's own list for the toolkit (ggml/src/ggml-cuda/CMakeLists.txt).
# The rocm variant needs ROCm >= 6.1 (hipconfig on PATH, or ROCM_PATH).
set -euo pipefail

PIN_COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6
NPM_PKG=node-llama-cpp@3.22.1
TOOLS="llama-server llama-quantize llama-perplexity llama-bench"

src="" variant=cpu native=ON cuda_arch="" gpu_targets="" with_tool=""
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
    case "$1" in
    --src) src=$2; shift 2 ;;
    --variant) variant=$2; shift 2 ;;
    --native) native=$2; shift 2 ;;
    --cuda-arch) cuda_arch=$2; shift 2 ;;
    --gpu-targets) gpu_targets=$2; shift 2 ;;
    --with-tool) with_tool=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    *) echo "llama.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done

say() { echo "llama.sh: $*" >&2; }
die() { say "$*"; exit 1; }

cache=${HFEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hfeval}
mkdir -p "$cache"

# --- source --------------------------------------------------------------
if [ -n "$src" ]; then
    [ -f "$src/include/llama.h" ] || die "$src: not a llama.cpp source tree (no include/llama.h)"
    src=$(cd "$src" && pwd)
    commit=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo "dir-$(echo "$src" | sha256sum | cut -c1-12)")
else
    commit=$PIN_COMMIT
    src=$cache/src/llama.cpp-$commit
    if [ ! -f "$src/.hfeval-verified" ]; then
        exec 9>"$cache/.src.lock"; flock 9
        if [ ! -f "$src/.hfeval-verified" ]; then
            command -v npm >/dev/null || die "npm is needed to fetch $NPM_PKG (apt-get install npm)"
            mkdir -p "$cache/npm"
            tgz=$cache/npm/node-llama-cpp-3.22.1.tgz
            if [ ! -s "$tgz" ]; then
                say "fetching $NPM_PKG from the npm registry"
                (cd "$cache/npm" && npm pack --silent "$NPM_PKG" >/dev/null) ||
                    die "npm pack $NPM_PKG failed"
            fi
            mkdir -p "$cache/src"
            tmp=$(mktemp -d "$cache/src/.tmp.XXXXXX")
            tar -xzf "$tgz" -C "$tmp" package/llama/gitRelease.bundle ||
                die "$tgz: no package/llama/gitRelease.bundle inside"
            rm -rf "$src"
            git clone -q "$tmp/package/llama/gitRelease.bundle" "$src" 2>/dev/null ||
                die "cloning the bundle from $tgz failed"
            rm -rf "$tmp"
            got=$(git -C "$src" rev-parse HEAD)
            if [ "$got" != "$PIN_COMMIT" ]; then
                rm -rf "$src"
                die "bundle in $NPM_PKG cloned to commit $got, expected $PIN_COMMIT: refusing it"
            fi
            touch "$src/.hfeval-verified"
        fi
        exec 9>&-
    fi
fi

# --- options and key -----------------------------------------------------
opts=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON
      -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF
      -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF
      -DGGML_NATIVE="$native" -DGGML_CCACHE=OFF)
gpu_opts=(-DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON
          -DLLAMA_BUILD_SERVER=OFF)
case "$variant" in
cpu) ;;
cuda)
    nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
    [ -x "$nvcc" ] || die "the cuda variant needs the CUDA toolkit's nvcc (not on PATH, nor /usr/local/cuda/bin)"
    if [ -z "$cuda_arch" ]; then
        if nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
            cuda_arch=native
        else
            cuda_ver=$("$nvcc" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
            cuda_arch="75-virtual;80-virtual;86-real;89-real;90-virtual;120a-real;121a-real"
            [ "${cuda_ver:-13}" -lt 13 ] && cuda_arch="50-virtual;61-virtual;70-virtual;$cuda_arch"
        fi
    fi
    opts+=(-DGGML_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$cuda_arch" "${gpu_opts[@]}")
    TOOLS="llama-perplexity llama-bench" ;;
rocm)
    command -v hipconfig >/dev/null || [ -n "${ROCM_PATH:-}" ] ||
        die "the rocm variant needs ROCm >= 6.1 (hipconfig on PATH, or ROCM_PATH)"
    rocm=${ROCM_PATH:-$(hipconfig -R)}
    export HIPCXX=${HIPCXX:-$rocm/llvm/bin/clang} HIP_PATH=${HIP_PATH:-$rocm}
    opts+=(-DGGML_HIP=ON "${gpu_opts[@]}")
    [ -n "$gpu_targets" ] && opts+=(-DGPU_TARGETS="$gpu_targets")
    TOOLS="llama-perplexity llama-bench" ;;
*) die "unknown variant '$variant' (expected cpu, cuda or rocm)" ;;
esac
# Some VMs list AMX in cpuinfo but fault on its first instruction (the
# hypervisor keeps no tile state); a native build would then crash in
# ggml's AMX kernels on every quantized model.  Try it; build without AMX
# where it faults.
amx_works() {
    local d rc
    d=$(mktemp -d)
    cat >"$d/amx.c" <<'C'
#include <sys/syscall.h>
#include <unistd.h>
#include <immintrin.h>
int main(void)
{
    unsigned char cfg[64] = {1}; /* palette 1, tile 0: 16 rows of 64 bytes */
    if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18))
        return 1;
    cfg[16] = 64;
    cfg[48] = 16;
    _tile_loadconfig(cfg);
    _tile_zero(0);
    _tile_release();
    return 0;
}
C
    rc=1
    if cc -O1 -mamx-tile "$d/amx.c" -o "$d/amx" 2>/dev/null; then
        # the braces take the shell's own "Illegal instruction" report too
        { "$d/amx"; } 2>/dev/null && rc=0
    fi
    rm -rf "$d"
    return $rc
}
noamx=""
if [ "$native" = ON ]; then
    if grep -qw amx_tile /proc/cpuinfo 2>/dev/null && ! amx_works; then
        noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
        opts+=("-DCMAKE_C_FLAGS=$noamx" "-DCMAKE_CXX_FLAGS=$noamx")
    fi
fi
# A native build is only valid on the CPU it was made for.
cpu_id=""
[ "$native" = ON ] && cpu_id=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-8)
key=$(printf '%s\n' "$commit" "$variant" "${opts[*]}" "$cpu_id" "$(cc --version 2>/dev/null | head -1)" | sha256sum | cut -c1-10)
prefix=$cache/llama.cpp/${commit:0:12}-$variant-$key

# add_tool: the one tool --with-tool names, into the finished prefix
add_tool() {
    local tb=$prefix.$with_tool
    exec 8>"$cache/.build-$key-$with_tool.lock"; flock 8
    [ -x "$prefix/bin/$with_tool" ] && ! ldd "$prefix/bin/$with_tool" | grep -q 'not found' && return 0
    say "building $with_tool of llama.cpp ${commit:0:12} ($variant) into $prefix"
    cmake -S "$src" -B "$tb" -G "Unix Makefiles" "${opts[@]}" \
        -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON '-DCMAKE_INSTALL_RPATH=$ORIGIN:$ORIGIN/../lib' \
        >"$tb.configure.log" 2>&1 || die "configure failed (log: $tb.configure.log)"
    cmake --build "$tb" -j "$jobs" --target "$with_tool" >"$tb.build.log" 2>&1 ||
        { tail -30 "$tb.build.log" >&2; die "build of $with_tool failed (log: $tb.build.log)"; }
    # a tool may come with its own library (libllama-batched-bench-impl.so)
    local so
    for so in "$tb"/bin/*.so*; do
        [ -e "$so" ] && [ ! -e "$prefix/lib/${so##*/}" ] && cp -P "$so" "$prefix/lib/"
    done
    cp "$tb/bin/$with_tool" "$prefix/bin/"
    rm -rf "$tb"
}

if [ -f "$prefix/.hfeval-complete" ]; then
    [ -n "$with_tool" ] && add_tool
    echo "$prefix"
    exit 0
fi

exec 9>"$cache/.build-$key.lock"; flock 9
if [ -f "$prefix/.hfeval-complete" ]; then echo "$prefix"; exit 0; fi

bld=$prefix.build
mkdir -p "$cache/llama.cpp"
say "building llama.cpp ${commit:0:12} ($variant, native=$native) with $jobs jobs into $prefix"
[ -n "${noamx:-}" ] && say "the CPU lists AMX but it faults here: building without AMX"
start=$(date +%s)
cmake -S "$src" -B "$bld" -G "Unix Makefiles" "${opts[@]}" \
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON '-DCMAKE_INSTALL_RPATH=$ORIGIN:$ORIGIN/../lib' \
    >"$bld.configure.log" 2>&1 || { tail -30 "$bld.configure.log" >&2; die "configure failed (log: $bld.configure.log)"; }
cmake --build "$bld" -j "$jobs" --target llama $TOOLS >"$bld.build.log" 2>&1 ||
    { tail -30 "$bld.build.log" >&2; die "build failed (log: $bld.build.log)"; }

rm -rf "$prefix"; mkdir -p "$prefix/lib" "$prefix/bin" "$prefix/include"
if [ "$variant" = cpu ]; then
    cp -P "$bld"/bin/lib*.so* "$prefix/lib/"
else # the archives a module links: llama and ggml's
    find "$bld/src" "$bld/ggml" -name 'lib*.a' -exec cp {} "$prefix/lib/" \;
    # and what they need, in link order: llama-bench's own link line from
    # libllama.a on, the archives moved to the prefix
    tr ' ' '\n' <"$bld/tools/llama-bench/CMakeFiles/llama-bench.dir/link.txt" |
        awk -v lib="$prefix/lib" '/libllama\.a$/ { on = 1 }
            on && NF { if ($0 ~ /^\.\.\/.*\.a$/) { n = split($0, p, "/"); print lib "/" p[n] } else print }' \
        >"$prefix/LINK"
    grep -q 'libllama\.a$' "$prefix/LINK" || die "no libllama.a in llama-bench's link line"
fi
for t in $TOOLS; do cp "$bld/bin/$t" "$prefix/bin/"; done
cp "$src"/include/llama.h "$src"/include/llama-cpp.h "$src"/ggml/include/*.h "$prefix/include/"
printf 'commit=%s\nvariant=%s\noptions=%s\n' "$commit" "$variant" "${opts[*]}" >"$prefix/BUILD-INFO"
# Smoke test: the tools start and find their libraries.
"$prefix/bin/llama-quantize" --help >/dev/null 2>&1 || true
# (a GPU build's tools need the GPU driver's libcuda, absent on a machine
# without one: that is not a fault of the build)
ldd "$prefix/bin/llama-perplexity" | grep 'not found' | grep -qv 'libcuda\.so' &&
    die "llama-perplexity has unresolved libraries"
touch "$prefix/.hfeval-complete"
rm -rf "$bld"
[ -n "$with_tool" ] && add_tool
say "built in $(( $(date +%s) - start )) s"
echo "$prefix"
