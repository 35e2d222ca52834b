#!/usr/bin/env bash
# The command line: usage errors, version, and model-list errors with
# their file, line, column and distinct exit status.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN

run "$hfeval"
is "$rc" 2 "no command: exit 2"
like "$err" '^usage: hfeval COMMAND' "prints usage"
run "$hfeval" frobnicate
is "$rc" 2 "an unknown command: exit 2"
like "$err" "unknown command 'frobnicate'" "and names it"
run "$hfeval" inspect
is "$rc" 2 "inspect without a file: exit 2"
run "$hfeval" inspect --bogus x.gguf
is "$rc" 2 "an unknown option: exit 2"
like "$err" "unknown option '--bogus'" "and names it"
run "$hfeval" plugins --nope
is "$rc" 2 "plugins with an unknown option: exit 2"
run "$hfeval" version
is "$rc" 0 "version exits 0"
like "$out" '^hfeval [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI 1\.[0-9]+\)$' "version names the ABI"
run "$hfeval" --help
is "$rc" 0 "--help exits 0"
like "$out" "inspect" "and lists the commands"

# Model lists: exit 3 and FILE:LINE:COL.
list=$SCRATCH/list.txt
printf 'a %s/base.gguf\nb %s/q8_0.gguf base=a ctxx=512\n' \
    "$HFEVAL_FIXTURES" "$HFEVAL_FIXTURES" >"$list"
run "$hfeval" inspect --models "$list"
is "$rc" 3 "an unknown key: exit 3"
like "$err" "list.txt:2:[0-9]+: unknown key 'ctxx' for backend 'llama' \(did you mean 'ctx'\?\)" \
    "names the line, the key, the backend, and the likely key"

printf 'a base.gguf\na q8.gguf\n' >"$list"
run "$hfeval" inspect --models "$list"
is "$rc" 3 "a name used twice: exit 3"
like "$err" "list.txt:2:1: model name 'a' is used twice \(first on line 1\)" "says where"

printf '# header\nb x.gguf base=nope\n' >"$list"
run "$hfeval" inspect --models "$list"
is "$rc" 3 "an unknown base: exit 3"
like "$err" "list.txt:2:10: base 'nope' is not a model of this list" "says where"

printf 'a x.gguf base=b\nb y.gguf base=a\n' >"$list"
run "$hfeval" inspect --models "$list"
is "$rc" 3 "a lineage cycle: exit 3"
like "$err" "lineage cycle" "says so"

printf 'a something.bin\n' >"$list"
run "$hfeval" inspect --models "$list"
is "$rc" 7 "a URI no backend handles: exit 7"
like "$err" "list.txt:1:3: no backend handles '.*something.bin'" "says so"

printf 'a %s/truncated.gguf\nb %s/base.gguf\n' "$HFEVAL_FIXTURES" "$HFEVAL_FIXTURES" >"$list"
run "$hfeval" inspect --models "$list"
is "$rc" 4 "a truncated model in a list: exit 4"
like "$err" "list.txt:1: model 'a': .*truncated.gguf: truncated: its" "names the list line, the model and the reason"
like "$out" '^b ' "the other model is still listed"

run "$hfeval" inspect --models "$SCRATCH/missing.txt"
is "$rc" 3 "a missing list: exit 3"
like "$err" "missing.txt: No such file or directory" "with the reason"
done_testing
