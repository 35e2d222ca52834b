#!/usr/bin/env bash
# scripts/llama.sh: a bundle that clones to any commit but the pinned one
# is refused; a source directory that is not llama.cpp is refused; a
# complete cached build is reused at once.
. "$(dirname "$0")/lib.sh"
script=$HFEVAL_SRC/scripts/llama.sh
pin=de3ff815ea7d559ee917f063901b8986f038abc6

# A fake npm package whose bundle holds another commit.
repo=$SCRATCH/repo
git init -q "$repo"
echo hello >"$repo/README"
git -C "$repo" add README
git -C "$repo" -c user.name=t -c user.email=t@example.invalid commit -qm one
other=$(git -C "$repo" rev-parse HEAD)
mkdir -p "$SCRATCH/pkg/package/llama" "$SCRATCH/cache/npm"
git -C "$repo" bundle create -q "$SCRATCH/pkg/package/llama/gitRelease.bundle" HEAD 2>/dev/null ||
    git -C "$repo" bundle create "$SCRATCH/pkg/package/llama/gitRelease.bundle" HEAD
tar -czf "$SCRATCH/cache/npm/node-llama-cpp-3.22.1.tgz" -C "$SCRATCH/pkg" package

HFEVAL_CACHE=$SCRATCH/cache run bash "$script"
is "$rc" 1 "a bundle of another commit fails"
like "$err" "cloned to commit $other, expected $pin: refusing it" \
    "and names both commits"
ok "$([ ! -e "$SCRATCH/cache/src/llama.cpp-$pin" ] && echo 0 || echo 1)" \
    "nothing is left in the cache under the pinned name"

mkdir -p "$SCRATCH/notllama"
HFEVAL_CACHE=$SCRATCH/cache run bash "$script" --src "$SCRATCH/notllama"
is "$rc" 1 "a source directory without include/llama.h fails"
like "$err" "notllama: not a llama.cpp source tree" "and says why"

run bash "$script" --variant tpu
is "$rc" 1 "an unknown variant fails"
like "$err" "unknown variant 'tpu'" "and names it"

# The build this checkout uses is complete and found again at once.
if [ "$HFEVAL_LLAMA_FROM" != bundle ]; then
    echo "ok $((_n + 1)) # SKIP llama.cpp came from '$HFEVAL_LLAMA_FROM', not the bundle"
    _n=$((_n + 1))
else
    run bash "$script" --native "$HFEVAL_LLAMA_NATIVE"
    is "$rc" 0 "the cached build is found"
    is "$out" "$HFEVAL_LLAMA_PREFIX" "it is the prefix this build links"
    ok "$([ -x "$out/bin/llama-perplexity" ] && [ -f "$out/.hfeval-complete" ] && echo 0 || echo 1)" \
        "its prefix holds the tools"
    like "$(cat "$out/BUILD-INFO")" "^commit=$pin" "and records the pinned commit"
    run ldd "$HFEVAL_LLAMA_PREFIX/bin/llama-server"
    unlike "$out" "not found" "llama-server finds its libraries (RUNPATH)"
fi
done_testing
