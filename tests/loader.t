#!/usr/bin/env bash
# The plugin loader through `hfeval plugins`: the built modules are found
# beside the binary; modules in HFEVAL_PLUGIN_PATH that are built for
# another ABI, lack the entry symbol, leave a slot empty, are not ELF, or
# whose probe says no, are listed with the reason and never used.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN

run "$hfeval" plugins
is "$rc" 0 "plugins exits 0"
like "$out" '^replay +[0-9.]+ +1\.[0-9]+ +usable +loglik,rolling,generate' \
    "replay is listed as usable with its capabilities"
like "$out" '^llama +[0-9.]+\+llama\.cpp-[0-9a-f]{12} +1\.[0-9]+ +usable' "the llama.cpp module is listed as usable"
like "$out" "$HFEVAL_PLUGIN_DIR/hfe-replay.so" "with its path"

# Refused modules, beside a non-ELF file and a non-module name.
dir=$SCRATCH/plugins
mkdir -p "$dir"
cp "$HFEVAL_TEST_BIN"/plugins/hfe-*.so "$dir/"
echo "not an ELF file" >"$dir/hfe-junk.so"
echo "ignored" >"$dir/libother.so"
cp "$HFEVAL_PLUGIN_DIR/hfe-replay.so" "$dir/hfe-replay2.so"
HFEVAL_PLUGIN_PATH=$dir run "$hfeval" plugins
is "$rc" 0 "plugins still exits 0 with broken modules present"
like "$out" 'plugin ABI 99\.0, hfeval expects ABI 1\.x' \
    "an ABI mismatch is refused with both versions"
like "$out" 'not an hfeval plugin: no symbol hfe_plugin_entry' \
    "a module without the entry symbol is refused"
like "$out" "required slot 'submit' is empty" "an empty required slot is refused"
like "$out" 'hfe-junk.so: .*(invalid ELF header|file too short)|cannot load: .*hfe-junk.so' \
    "a file that is not a shared object is refused, not a crash"
like "$out" 'probe_no +0 +1\.[0-9]+ +not usable' "a module whose probe says no"
like "$out" 'no frobnicator on this machine' "is listed with its reason"
like "$out" "another module named 'replay' was found first" \
    "a second module with a taken name is refused"
unlike "$out" 'libother' "files not named hfe-*.so are not loaded"

HFEVAL_PLUGIN_PATH=$dir run "$hfeval" plugins --json
is "$rc" 0 "plugins --json exits 0"
json_ok "$out"
ok $? "plugins --json is valid JSON"
like "$out" '"status":"broken","reason":"plugin ABI 99.0' "with the reasons"

# A model list whose URI no usable backend handles.
printf 'x test:thing\n' >"$SCRATCH/list.txt"
HFEVAL_PLUGIN_PATH=$dir run "$hfeval" inspect --models "$SCRATCH/list.txt"
is "$rc" 7 "a URI only an unusable backend handles: exit 7"
like "$err" "list.txt:1:3: backend 'probe_no' handles 'test:thing' but is not usable here: no frobnicator" \
    "with the probe's reason"
done_testing
