#!/usr/bin/env bash
# `hfeval inspect` on every fixture: every key, arrays included, without
# loading tensors; the lineage keys of the fine-tuned derivative; the
# quantization of each derivative; JSON output; and bad files.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES

for f in base q8_0 q4_0 q4_k_m finetune nolicense large; do
    run "$hfeval" inspect "$fx/$f.gguf"
    is "$rc" 0 "inspect $f.gguf exits 0"
    like "$out" "^$fx/$f.gguf: GGUF v3, .* tensors, .* parameters" "$f: summary line"
    like "$out" '^  general\.architecture +str +"llama"$' "$f: architecture"
    like "$out" '^  tokenizer\.ggml\.tokens +arr\[str\] +\["<unk>","<s>","</s>",.*\.\.\. \(32000 items\)$' \
        "$f: a 32000-item array, cut in text output with its count"
done

run "$hfeval" inspect "$fx/base.gguf"
like "$out" '^  general\.license +str +"apache-2\.0"$' "base: its license"
like "$out" '^  general\.tags +arr\[str\] +\[.*"fixture".*\]$' "base: tags as an array"
like "$out" '^  general\.languages +arr\[str\] +\["en"\]$' "base: languages"
like "$out" '^  general\.dataset\.0\.name +str' "base: a dataset is named"
like "$out" 'F32, [0-9]+ keys$' "base: F32"

run "$hfeval" inspect "$fx/finetune.gguf"
like "$out" '^  general\.base_model\.count +u32 +1$' "fine-tune: base_model.count"
like "$out" '^  general\.base_model\.0\.name +str +"hfeval Tiny Base"$' \
    "fine-tune: base_model.0.name points at the base"
like "$out" '^  general\.base_model\.0\.organization +str +"hfeval"$' \
    "fine-tune: base_model.0.organization"
like "$out" '^  general\.tags +arr\[str\] +\[.*"finetune".*\]$' "fine-tune: its tags"

for q in q8_0:Q8_0 q4_0:Q4_0 q4_k_m:Q4_K_M; do
    run "$hfeval" inspect "$fx/${q%%:*}.gguf"
    like "$out" ", ${q##*:}, [0-9]+ keys$" "${q%%:*}: quantization ${q##*:}"
done

run "$hfeval" inspect "$fx/nolicense.gguf"
unlike "$out" 'general\.license' "the derivative without a license has no license key"

run "$hfeval" inspect --full "$fx/base.gguf"
like "$out" '"<0x0A>"' "--full prints whole arrays"
unlike "$out" 'items\)$' "--full cuts nothing"

# JSON: one object a line, whole arrays.
run "$hfeval" inspect --json "$fx/base.gguf" "$fx/finetune.gguf"
is "$rc" 0 "inspect --json exits 0"
json_ok "$out" --lines
ok $? "inspect --json prints valid JSON, one document a line"
is "$(printf '%s\n' "$out" | wc -l)" 2 "one line per file"
n=$(printf '%s\n' "$out" | head -1 | perl -MJSON::PP -ne \
    'print scalar @{decode_json($_)->{metadata}{"tokenizer.ggml.tokens"}}')
is "$n" 32000 "JSON arrays are whole"
t=$(printf '%s\n' "$out" | tail -1 | perl -MJSON::PP -ne \
    'my $d = decode_json($_); print $d->{types}{"general.tags"}, " ", $d->{metadata}{"general.base_model.0.name"}')
is "$t" "arr[str] hfeval Tiny Base" "JSON carries types and lineage keys"

# Bad files: status 4 and the reason, other files still printed.
run "$hfeval" inspect "$fx/truncated.gguf"
is "$rc" 4 "a truncated file: exit 4"
like "$err" "truncated.gguf: truncated: its [0-9]+ tensors need [0-9]+ bytes, the file has [0-9]+" \
    "says how much is missing"
printf 'GGUF\003\000\000\000' >"$SCRATCH/short.gguf"
run "$hfeval" inspect "$SCRATCH/short.gguf"
is "$rc" 4 "a cut header: exit 4"
like "$err" "short.gguf: not a valid GGUF file: " "names the file and the reason"
echo "plain text" >"$SCRATCH/text.gguf"
run "$hfeval" inspect "$SCRATCH/text.gguf" "$fx/q8_0.gguf"
is "$rc" 4 "not GGUF, then a good file: exit 4"
like "$err" "text.gguf: not a valid GGUF file: .*magic" "the bad magic is named"
like "$out" "q8_0.gguf: GGUF v3" "the good file is still printed"
run "$hfeval" inspect "$SCRATCH/none.gguf"
is "$rc" 4 "a missing file: exit 4"
like "$err" "none.gguf: No such file or directory" "with the system's reason"

# The lineage list.
run "$hfeval" inspect --models "$fx/random.txt"
is "$rc" 0 "inspect --models exits 0"
like "$out" '^tiny-base +- +llama +F32 ' "the base first, at the root"
like "$out" '^  tiny-q4_k_m +tiny-base +llama +Q4_K_M ' "derivatives indented under it"
like "$out" '^  tiny-nolicense +tiny-base .* \(none\) ' "a missing license shows"
like "$out" '^  tiny-chat +tiny-base +llama +F(32|16) .* apache-2\.0 ' "the fine-tune"
is "$(printf '%s\n' "$out" | wc -l)" 8 "a header and seven models"
run "$hfeval" inspect --json --models "$fx/random.txt"
json_ok "$out" --lines
ok $? "inspect --json --models is valid JSON lines"
done_testing
