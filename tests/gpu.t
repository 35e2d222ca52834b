#!/usr/bin/env bash
# The GPU modules, llama-cuda and llama-rocm.
#
# In every build: their front (backends/llama/gpu.c, built alone into
# build/tests/gpu) tells why it cannot run here; a model list naming such
# a module is refused with that reason; backend=auto passes it by for the
# CPU engine; llama.cpp's own buffer sizes, which the GPU tables show by
# device, agree with the engine's weights and KV figures.
#
# Where a GPU module is built (-DHFEVAL_CUDA=ON, -DHFEVAL_ROCM=ON) and
# usable: the fixture lineage on it, with GPU memory and tokens/s in the
# table, and the GPU run's KLD against the CPU run of the same files.
# Elsewhere those tests are TAP SKIPs that say why.
. "$(dirname "$0")/lib.sh"
fx=$HFEVAL_FIXTURES
cd "$SCRATCH" || exit 1
fronts=$HFEVAL_BUILD/tests/gpu

# ---- the fronts, without a GPU or without an engine --------------------
run env HFEVAL_PLUGIN_PATH="$fronts" "$HFEVAL_BIN" plugins
is "$rc" 0 "hfeval plugins lists the GPU fronts"
like "$out" "^llama-cuda +[^ ]+ +1\.[0-9]+ +not usable +[a-z,]*gpu" \
    "llama-cuda: not usable here, a GPU module"
cuda_why=$(printf '%s\n' "$out" | awk '/^llama-cuda / { l = NR + 2 } NR == l { sub(/^ +/, ""); print }')
like "$cuda_why" "^(no NVIDIA driver \(libcuda\.so\.1: .*\)|no CUDA device|the NVIDIA driver (supports CUDA|does not start)|cannot load its engine: .*engine/llama-cuda\.so)" \
    "with the driver's reason: $cuda_why"
like "$out" "^llama-rocm +[^ ]+ +1\.[0-9]+ +not usable +[a-z,]*gpu" "llama-rocm too"
rocm_why=$(printf '%s\n' "$out" | awk '/^llama-rocm / { l = NR + 2 } NR == l { sub(/^ +/, ""); print }')
like "$rocm_why" "^(no AMD GPU driver \(/dev/kfd: .*\)|no HIP runtime|no AMD GPU device|cannot load its engine)" \
    "with its reason: $rocm_why"

# naming it in a model list: refused before any work, with the reason
printf 'a  %s  backend=llama-cuda  ngl=99\n' "$fx/base.gguf" >cuda.txt
run env HFEVAL_PLUGIN_PATH="$fronts" "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" \
    --models cuda.txt --limit 2 --out refused
is "$rc" 7 "backend=llama-cuda where it cannot run: exit status 7"
like "$err" "cuda.txt:1: backend 'llama-cuda' is not usable here: $(printf '%s' "$cuda_why" | sed 's/[][().*+?^$|\\]/\\&/g')" \
    "the list's line and the module's reason"
[ ! -e refused/samples.jsonl ]
ok $? "and nothing was run"
printf 'a  %s  backend=llama-tpu\n' "$fx/base.gguf" >tpu.txt
run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" --models tpu.txt --limit 2 --out none
is "$rc" 7 "a backend nobody built: exit status 7"
like "$err" "tpu.txt:1: no backend 'llama-tpu' \(\`hfeval plugins\` lists them\)" "said as such"

# backend=auto: a GPU module that is not usable is passed by
printf 'a  %s  backend=auto\n' "$fx/base.gguf" >auto.txt
run env HFEVAL_PLUGIN_PATH="$fronts" "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" \
    --models auto.txt --limit 4 --out auto
is "$rc" 0 "backend=auto runs"
backend_of() { perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{models}[0]{backend}{name}' <"$1/run.json"; }
is "$(backend_of auto)" llama "on the CPU engine, the GPU modules not being usable"

# options of the GPU modules, checked by every llama module
printf 'a  %s  split_mode=diagonal\n' "$fx/base.gguf" >split.txt
run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" --models split.txt --limit 2 --out split
is "$rc" 1 "split_mode=diagonal: the model fails (exit status 1)"
like "$err" "split.txt:1: model 'a': option split_mode=diagonal: expected none, layer or row" \
    "with its line, saying what it takes"
printf 'a  %s  main_gpu=9999\n' "$fx/base.gguf" >main.txt
run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" --models main.txt --limit 2 --out main
like "$err" "main_gpu=9999: expected an integer from 0 to [0-9]+" "main_gpu out of range too"
printf 'a  %s  flash_attn=maybe\nb  %s  ngl=-2\n' "$fx/base.gguf" "$fx/base.gguf" >fa.txt
run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" --models fa.txt --limit 2 --out fa
like "$err" "fa.txt:1: model 'a': option flash_attn=maybe: expected on, off or auto" "flash_attn too"
like "$err" "fa.txt:2: model 'b': option ngl=-2: expected an integer from -1 to" "and ngl"

# ---- llama.cpp's buffers: what the GPU tables show by device ---------------
printf 'a  %s\nq  %s\n' "$fx/base.gguf" "$fx/q8_0.gguf" >two.txt
run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/speed.lua" --models two.txt \
    --set lengths=16 --set gen=4 --set reps=1 --out speed
is "$rc" 0 "speed.lua over an F32 and a Q8_0 model"
for m in a q; do
    want_w=$(printf '%s\n' "$out" | awk -v m=$m '$1 == m && $3 == "weights_mib" { print $4; exit }')
    want_kv=$(printf '%s\n' "$out" | awk -v m=$m '$1 == m && $3 == "kv_mib" { print $4; exit }')
    got=$(M=$m perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
        my ($r) = grep { $_->{name} eq $ENV{M} } @{$j->{models}};
        my (%s, %n); for (@{$r->{stats}{buffers}}) { $s{$_->{kind}} += $_->{bytes}; $n{$_->{kind}}++ }
        printf "%.6f %d %.6f %d\n", $s{weights} / 1048576, $n{weights}, $s{kv} / 1048576, $n{kv}' <speed/run.json)
    read -r w nw kv nkv <<<"$got"
    # each buffer's size is printed to 0.01 MiB
    perl -e 'exit !($ARGV[2] > 0 && abs($ARGV[0] - $ARGV[1]) <= 0.005 * $ARGV[2] + 1e-9)' "$w" "$want_w" "$nw"
    ok $? "$m: llama.cpp's weight buffers, $w MiB in $nw, are the model's $want_w MiB"
    perl -e 'exit !($ARGV[2] > 0 && abs($ARGV[0] - $ARGV[1]) <= 0.005 * $ARGV[2] + 1e-9)' "$kv" "$want_kv" "$nkv"
    ok $? "$m: its KV buffer, $kv MiB, is the cache's $want_kv MiB"
done
unlike "$out" "@" "the CPU engine's table has no rows by device"

# ---- a CUDA engine and no driver: the toolkit's stub libcuda.so.1 ----------
# The engine loads in the same process as hfe-llama, llama.cpp twice, each
# with its own symbols: its probe starts its CUDA backend, which finds no
# device; the CPU engine beside it is untouched.  The front, given the
# stub, says what it is.
engine=$HFEVAL_PLUGIN_DIR/engine/llama-cuda.so
stub=
for d in /usr/local/cuda/lib64/stubs /usr/local/cuda/lib/stubs; do
    [ -f "$d/libcuda.so" ] && stub=$d/libcuda.so && break
done
if [ ! -f "$engine" ]; then
    skip 3 "no llama-cuda engine in this build"
elif [ -z "$stub" ]; then
    skip 3 "no stub libcuda.so in the CUDA toolkit"
elif nvidia-smi -L >/dev/null 2>&1; then
    skip 3 "an NVIDIA driver is here: the GPU tests below run instead"
else
    mkdir -p stub eng
    ln -s "$stub" stub/libcuda.so.1
    ln -s "$engine" eng/hfe-llama-cuda.so
    run env LD_LIBRARY_PATH="$PWD/stub" HFEVAL_PLUGIN_PATH="$PWD/eng" "$HFEVAL_BIN" plugins
    why=$(printf '%s\n' "$out" | awk '/^llama-cuda .* not usable / { l = NR + 2 } NR == l { sub(/^ +/, ""); print }')
    like "$why" "^llama.cpp found no GPU device" \
        "the engine, loaded alone: llama.cpp's CUDA backend finds no device"
    like "$out" "^llama +[^ ]+ +1\.[0-9]+ +usable " "and hfe-llama, in the same process, is usable"
    run env LD_LIBRARY_PATH="$PWD/stub" "$HFEVAL_BIN" plugins
    like "$out" "libcuda\.so\.1 is the CUDA toolkit's stub, not a driver" \
        "the front, given the stub, says what it is"
fi

# ---- on a GPU ------------------------------------------------------------
"$HFEVAL_BIN" plugins >plugins.txt
gpu=$(awk '$1 ~ /^llama-(cuda|rocm)$/ && $4 == "usable" { print $1; exit }' plugins.txt)
built=$(awk '$1 ~ /^llama-(cuda|rocm)$/ { printf "%s%s", sep, $1; sep = ", " }' plugins.txt)
n_gpu_tests=9
if [ -z "$built" ]; then
    skip $n_gpu_tests "no GPU module in this build (cmake -DHFEVAL_CUDA=ON or -DHFEVAL_ROCM=ON)"
elif [ -z "$gpu" ]; then
    why=$(awk '$1 ~ /^llama-(cuda|rocm)$/ { l = NR + 2 } NR == l { sub(/^ +/, ""); print; exit }' plugins.txt)
    skip $n_gpu_tests "$built built, not usable here: $why"
else
    dev=$([ "$gpu" = llama-cuda ] && echo CUDA0 || echo ROCm0)
    sed "s/base=tiny-base/& backend=$gpu/; /^tiny-base /s/\$/ backend=$gpu/" "$fx/random.txt" |
        sed "s|  *\([a-z0-9_]*\.gguf\)| $fx/\1|" >gpu-lineage.txt
    run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/speed.lua" --models gpu-lineage.txt \
        --set lengths=64 --set gen=16 --set reps=2 --out gpu-speed
    is "$rc" 0 "speed.lua over the fixture lineage on $gpu"
    like "$out" "^tiny-q8_0 +speed_p64 +weights_mib@$dev " "weights on $dev in the table"
    like "$out" "^tiny-q8_0 +speed_p64 +kv_mib@$dev " "its KV cache on $dev"
    like "$out" "^tiny-q8_0 +speed_p64 +device_peak_mib@$dev +[0-9.]+ " "the peak $dev memory"
    like "$out" "^tiny-q8_0 +speed_p64 +decode_tok_s +[0-9.]+ " "and tokens/s"
    printf '%s\n' "$out" | grep -E "@$dev|tok_s" | sed 's/^/# /'

    # The same files on the CPU and the GPU: GPU kernels round otherwise
    # (cuBLAS, MMQ's int8 activations), so the two differ a little.
    # Bound: mean KLD below 1e-3 nats per token for F32 and Q8_0.
    : >kld.txt
    for q in base q8_0; do
        printf 'cpu-%s %s/%s.gguf threads=2\ngpu-%s %s/%s.gguf base=cpu-%s backend=%s\n' \
            "$q" "$fx" "$q" "$q" "$fx" "$q" "$q" "$gpu" >>kld.txt
    done
    run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/fidelity.lua" --models kld.txt --set ctx=128 --out gpu-kld
    is "$rc" 0 "fidelity.lua: each GPU run against the CPU run of its file"
    for q in base q8_0; do
        kld=$(printf '%s\n' "$out" | awk -v m=gpu-$q '$1 == m && $3 == "kld" { print $4 }')
        perl -e 'exit !(length $ARGV[0] && $ARGV[0] < 1e-3)' "$kld"
        ok $? "$q: mean KLD GPU against CPU $kld < 1e-3"
    done
    # HellaSwag picks may differ on near-ties: counted, not required equal
    printf 'cpu %s/q8_0.gguf threads=2\ngpu %s/q8_0.gguf backend=%s\n' "$fx" "$fx" "$gpu" >hs.txt
    run "$HFEVAL_BIN" run "$HFEVAL_SRC/suites/arith.lua" --models hs.txt --out gpu-picks
    is "$rc" 0 "arith.lua on the CPU and the GPU"
    n=$(perl -MJSON::PP -ne '$j = decode_json($_); $p{$j->{doc_id}}{$j->{model}} = $j->{pick};
        END { $d = grep { $p{$_}{cpu} ne $p{$_}{gpu} } keys %p; print "$d of ", scalar(keys %p), "\n" }' gpu-picks/samples.jsonl)
    echo "# multiple-choice picks that differ between CPU and GPU: $n"
fi
done_testing
