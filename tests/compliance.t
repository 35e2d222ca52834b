#!/usr/bin/env bash
# Metadata compliance (core/checks/compliance.c): the fixture lineage's expected
# verdicts, then each check with a model that passes it and one that fails
# it (small models made here with mkmodel and llama-quantize), model
# cards, classes, and bad cards with their line.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES
mk() { # out.gguf mkmodel-args...
    local out=$1
    shift
    "$HFEVAL_TEST_BIN/mkmodel" --vocab "$HFEVAL_LLAMA_VOCAB" --out "$SCRATCH/$out" \
        --n-embd 64 --n-layer 1 --n-head 4 --n-head-kv 2 --n-ff 128 --seed 1 "$@" >/dev/null ||
        echo "Bail out! mkmodel $out failed"
}
# result of check ID (or "class") for model M in the JSON lines of $OUT
res() {
    M=$1 I=$2 perl -MJSON::PP -e 'for (split /\n/, $ENV{OUT}) {
        my $r = decode_json($_); next unless $r->{model} eq $ENV{M};
        if ($ENV{I} eq "class") { print $r->{class}; next }
        for (@{$r->{checks}}) { print $_->{result} if $_->{id} eq $ENV{I} } }'
}
check() { # list model id want desc
    OUT=$(cat "$SCRATCH/$1.json") is "$(OUT=$(cat "$SCRATCH/$1.json") res "$2" "$3")" "$4" "$5"
}
cc() { # name: inspect --compliance --json --models $SCRATCH/name.txt
    run "$hfeval" inspect --compliance --json --models "$SCRATCH/$1.txt"
    printf '%s\n' "$out" >"$SCRATCH/$1.json"
}

# The fixture lineage.
cp "$fx/random.txt" "$SCRATCH/lin.txt"
sed -i "s|^\([a-z0-9_-]*\) *\([a-z0-9_]*\.gguf\)|\1 $fx/\2|" "$SCRATCH/lin.txt"
cc lin
is "$rc" 1 "the fixture lineage: exit 1, error-level checks fail"
check lin tiny-base class "open source" "the base: open source (OSI license, data, source)"
check lin tiny-base license.compatible "n/a" "the base: no parent to be compatible with"
check lin tiny-nolicense license.present fail "the derivative without a license fails license.present"
check lin tiny-nolicense class restricted "and is restricted"
check lin tiny-chat lineage.declared pass "the fine-tune declares its base and the relation"
check lin tiny-chat class "open weights" "the fine-tune names no data: open weights"
check lin tiny-q8_0 lineage.declared fail "a llama-quantize file does not declare its base"
check lin tiny-q8_0 quantization.attributed fail "q8_0 says who quantized it, not from what"
check lin tiny-retok lineage.consistent fail "a derivative with another tokenizer fails lineage.consistent"
check lin tiny-chat lineage.consistent pass "the fine-tune's tokenizer is the base's"
json_ok "$(cat "$SCRATCH/lin.json")" --lines
ok $? "the JSON is one object a line"

# identity
mk named.gguf --kv "general.name=str:Named"
mk anon.gguf --drop-key general.name --drop-key general.architecture
mk label.gguf --kv "general.name=str:L" --kv "general.size_label=str:7B"
printf 'named %s/named.gguf\nanon %s/anon.gguf\nlabel %s/label.gguf\n' "$SCRATCH" "$SCRATCH" "$SCRATCH" >"$SCRATCH/id.txt"
cc id
check id named identity.name pass "identity.name: present"
check id anon identity.name fail "identity.name: missing"
check id named identity.architecture pass "identity.architecture: present"
check id anon identity.architecture fail "identity.architecture: missing"
check id named identity.size_label pass "identity.size_label: mkmodel's label fits the count"
check id label identity.size_label fail "identity.size_label: 7B on a tiny model"

# licenses
mk mit.gguf --kv "general.license=str:mit"
mk weird.gguf --kv "general.license=str:my-own-license"
mk other.gguf --kv "general.license=str:other" --kv "general.license.name=str:Tiny License" \
    --kv "general.license.link=str:https://example.org/LICENSE"
mk otherbare.gguf --kv "general.license=str:other"
mk nc.gguf --kv "general.name=str:NC Base" --kv "general.license=str:cc-by-nc-4.0"
par=(--kv "general.base_model.count=u32:1" --kv "general.base_model.0.name=str:NC Base"
    --kv "general.finetune=str:ft")
mk nc-ap.gguf --kv "general.license=str:apache-2.0" "${par[@]}" --perturb 0.1 --perturb-seed 2
mk nc-nc.gguf --kv "general.license=str:cc-by-nc-4.0" "${par[@]}" --perturb 0.1 --perturb-seed 3
mk spdx.gguf --kv "general.license=str:MIT OR llama3.1"
mk ncup.gguf --kv "general.license=str:CC-BY-NC-4.0"
mk unk.gguf --kv "general.license=str:unknown"
{
    for m in mit weird other otherbare nc spdx ncup unk; do printf '%s %s/%s.gguf\n' "$m" "$SCRATCH" "$m"; done
    printf 'nc-ap %s/nc-ap.gguf base=nc\nnc-nc %s/nc-nc.gguf base=nc\n' "$SCRATCH" "$SCRATCH"
} >"$SCRATCH/lic.txt"
cc lic
check lic mit license.known pass "license.known: mit"
check lic weird license.known fail "license.known: an id nobody knows"
check lic other license.known pass "license.known: other, with a name and a link"
check lic otherbare license.known fail "license.known: other, without them"
check lic mit license.osi pass "license.osi: mit is OSI-approved"
check lic nc license.osi fail "license.osi: cc-by-nc-4.0 is not"
check lic nc-ap license.compatible fail "license.compatible: apache-2.0 on a cc-by-nc-4.0 base"
check lic nc-nc license.compatible pass "license.compatible: cc-by-nc-4.0 kept"
check lic nc class restricted "a non-commercial license: restricted"
check lic spdx license.osi pass "license.osi: SPDX 'MIT OR llama3.1' offers an OSI choice"
check lic ncup class restricted "CC-BY-NC-4.0 in SPDX case: restricted"
check lic unk license.present fail "license.present: 'unknown' says nothing"
check lic nc-ap class restricted "a derivative is never more open than its base"

# lineage: declared, chat template, context
mk b.gguf --kv "general.name=str:B" --kv "tokenizer.chat_template=str:{{ x }}"
mk wrongbase.gguf --kv "general.base_model.count=u32:1" --kv "general.base_model.0.name=str:Someone Else" \
    --kv "general.finetune=str:ft" --kv "tokenizer.chat_template=str:{{ x }}"
mk norel.gguf --kv "general.base_model.count=u32:1" --kv "general.base_model.0.name=str:B" \
    --kv "tokenizer.chat_template=str:{{ y }}" --ctx 1024
printf 'b %s/b.gguf\nwrongbase %s/wrongbase.gguf base=b\nnorel %s/norel.gguf base=b\n' \
    "$SCRATCH" "$SCRATCH" "$SCRATCH" >"$SCRATCH/lin2.txt"
cc lin2
check lin2 wrongbase lineage.declared fail "lineage.declared: names another base than the list's"
check lin2 norel lineage.declared fail "lineage.declared: names the base, not the relation"
check lin2 wrongbase lineage.chat_template pass "lineage.chat_template: the same"
check lin2 norel lineage.chat_template fail "lineage.chat_template: another one"
check lin2 wrongbase lineage.context pass "lineage.context: the same window"
check lin2 norel lineage.context fail "lineage.context: a larger window, unsaid"

# quantization: llama-quantize, with and without attribution
q=$HFEVAL_LLAMA_BIN/llama-quantize
"$q" "$SCRATCH/b.gguf" "$SCRATCH/qbare.gguf" Q8_0 1 >/dev/null 2>&1
"$q" --override-kv general.quantized_by=str:tester --override-kv general.base_model.count=int:1 \
    --override-kv "general.base_model.0.name=str:B" "$SCRATCH/b.gguf" "$SCRATCH/qfull.gguf" Q8_0 1 >/dev/null 2>&1
printf 'b %s/b.gguf\nqbare %s/qbare.gguf base=b\nqfull %s/qfull.gguf base=b\n' \
    "$SCRATCH" "$SCRATCH" "$SCRATCH" >"$SCRATCH/q.txt"
cc q
check q b quantization.attributed "n/a" "quantization.attributed: n/a on F32"
check q qbare quantization.attributed fail "quantization.attributed: no quantized_by"
check q qfull quantization.attributed pass "quantization.attributed: who and from what"
check q qfull lineage.declared pass "a quantization that declares its base passes lineage.declared"

# data and source, from GGUF keys, a card, a saved Hub info
mk bare.gguf --kv "general.name=str:Bare"
cat >"$SCRATCH/card.md" <<'C'
---
license: mit
datasets:
  - org/data-one
base_model: org/base
---
# A model card
C
printf '{"id": "org/bare", "cardData": {"license": "mit"}}\n' >"$SCRATCH/hub.json"
printf 'bare %s/bare.gguf\ncarded %s/bare.gguf card=card.md hub=hub.json\n' "$SCRATCH" "$SCRATCH" >"$SCRATCH/ds.txt"
cc ds
check ds bare data.disclosed fail "data.disclosed: nothing named"
check ds carded data.disclosed pass "data.disclosed: the card's datasets"
check ds bare source.declared fail "source.declared: no URL"
check ds carded source.declared pass "source.declared: the Hub id"
check ds carded license.present pass "license.present: from the card"
check lin tiny-base data.disclosed pass "data.disclosed: general.dataset.*"
check lin tiny-base source.declared pass "source.declared: general.repo_url"

# the text form, one file, a profile
run "$hfeval" inspect --compliance --profile transparency "$SCRATCH/bare.gguf" --card "$SCRATCH/card.md"
is "$rc" 0 "one file with a card: the transparency profile has no error-level check"
like "$out" '^  transparency +1/2$' "the profile's score"
like "$out" 'PASS warning data.disclosed +card datasets' "each check with its evidence"
unlike "$out" 'identity.name' "only the profile's checks"
run "$hfeval" inspect --compliance --profile nonsense "$SCRATCH/bare.gguf"
is "$rc" 2 "an unknown profile: exit 2"

# suites/compliance.lua: a column beside the others, custom checks in Lua
run "$hfeval" run "$HFEVAL_SRC/suites/compliance.lua" --models "$SCRATCH/lin.txt" --out "$SCRATCH/r1"
is "$rc" 0 "compliance.lua runs over the fixture lineage"
like "$out" '^tiny-base +compliance +provenance +1\.0000 +- +6$' "the base passes its 6 applicable provenance checks"
like "$out" '^tiny-nolicense +compliance +class=restricted +1\.0000 ' "the class of each model"
like "$out" '^tiny-nolicense +compliance +failed_errors +1\.0000 ' "its failed error-level check"
like "$out" '^tiny-chat +compliance +custom +0\.5000 +- +2$' \
    "the suite's own checks: base version declared, chat template missing"
json_ok "$(cat "$SCRATCH/r1/samples.jsonl")" --lines
ok $? "the records are JSON lines"
like "$(grep '"model":"tiny-chat"' "$SCRATCH/r1/samples.jsonl")" \
    '"id":"custom.chat_template","severity":"warning","result":"fail","evidence":"tokenizer.chat_template missing"' \
    "a record lists every check with its evidence"
cat >"$SCRATCH/cq.lua" <<'L'
return { name = "c", tasks = { { name = "c", kind = "compliance",
    checks = { ['odd"id'] = function(meta) return true, "fine" end } } } }
L
run "$hfeval" run "$SCRATCH/cq.lua" --models "$SCRATCH/lin.txt" --out "$SCRATCH/r3"
is "$rc" 0 "a custom check with a quote in its id"
cat >"$SCRATCH/cbad.lua" <<'L'
return { name = "c", tasks = { { name = "c", kind = "compliance",
    checks = { x = function(meta) return "yes" end } } } }
L
run "$hfeval" run "$SCRATCH/cbad.lua" --models "$SCRATCH/lin.txt" --out "$SCRATCH/r2"
is "$rc" 5 "a custom check returning a string: exit 5"
like "$err" "cbad.lua: task 'c': checks.x must return true, false or nil" "and says what it must return"

# bad cards and hub files
printf -- '---\nlicense: mit\ndatasets: [a, b\n---\n' >"$SCRATCH/bad.md"
run "$hfeval" inspect --compliance "$SCRATCH/bare.gguf" --card "$SCRATCH/bad.md"
is "$rc" 6 "a malformed front matter: exit 6"
like "$err" "bad.md:[45]: " "names the card's line"
printf -- '---\nlicense: mit\n' >"$SCRATCH/open.md"
run "$hfeval" inspect --compliance "$SCRATCH/bare.gguf" --card "$SCRATCH/open.md"
like "$err" "open.md:1: the front matter opened with '---' never closes" "an unclosed front matter"
printf -- '---\n- a\n- b\n---\n' >"$SCRATCH/list.md"
run "$hfeval" inspect --compliance "$SCRATCH/bare.gguf" --card "$SCRATCH/list.md"
like "$err" "list.md:2: expected the front matter to be a mapping" "a front matter that is a list"
run "$hfeval" inspect --compliance "$SCRATCH/bare.gguf" --card "$SCRATCH/missing.md"
is "$rc" 6 "a missing card: exit 6"
like "$err" "missing.md: " "names it"
printf -- '---\nlicense: &l mit\nlicense_name: *l\n---\n' >"$SCRATCH/alias.md"
run "$hfeval" inspect --compliance "$SCRATCH/bare.gguf" --card "$SCRATCH/alias.md"
like "$err" "alias.md:3: an alias \(\*name\)" "an alias in a card: its line"
printf 'not a model\n' >"$SCRATCH/m.bin"
run "$hfeval" inspect --compliance "$SCRATCH/m.bin" --card "$SCRATCH/card.md"
is "$rc" 1 "a file that is not GGUF: checked on its card alone (no name: exit 1), no crash"
like "$out" 'PASS error +license.present +card license = "mit"' "the card's license is read"
printf '{"id": \n' >"$SCRATCH/bad.json"
run "$hfeval" inspect --compliance "$SCRATCH/bare.gguf" --hub "$SCRATCH/bad.json"
is "$rc" 6 "a bad Hub info file: exit 6"
like "$err" "bad.json:[12]: expected a Hub model-info JSON object" "names it"
done_testing
