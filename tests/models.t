#!/usr/bin/env bash
# hfeval models: the lineage of a list as a tree, with a base from base=
# or, where the list gives none, from the GGUF's general.base_model.*;
# ambiguous or cyclic declarations.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES
cd "$SCRATCH" || exit 1

printf 'b %s/base.gguf\nf %s/finetune.gguf\nq %s/q8_0.gguf\n' "$fx" "$fx" "$fx" >infer.txt
run "$hfeval" models infer.txt
is "$rc" 0 "models exits 0"
like "$out" '^MODEL +BASE +ARCH +QUANT +PARAMS +CTX +SIZE +LICENSE +URI$' "a header"
like "$out" '^  f +b \(gguf\) +llama +F16 +17\.6M +512 ' \
    "the fine-tune's base read from its GGUF (its quantized copy shares the name; the full one wins)"
like "$out" '^q +- +llama +Q8_0 ' "a llama-quantize file declares nothing: a root"
run "$hfeval" models --json infer.txt
like "$out" '"model":"f","base":"b","base_from":"gguf"' "JSON says where the base came from"
printf 'b %s/base.gguf\nf %s/finetune.gguf base=q\nq %s/q8_0.gguf\n' "$fx" "$fx" "$fx" >given.txt
run "$hfeval" models --json given.txt
like "$out" '"model":"f","base":"q","base_from":"list"' "base= in the list wins"

mk() { # out name base-name
    "$HFEVAL_TEST_BIN/mkmodel" --vocab "$HFEVAL_LLAMA_VOCAB" --out "$1" --n-embd 64 --n-layer 1 \
        --n-head 4 --n-head-kv 2 --n-ff 128 --seed 1 --kv "general.name=str:$2" \
        --kv "general.base_model.count=u32:1" --kv "general.base_model.0.name=str:$3" >/dev/null
}
mk x.gguf X Y
mk y.gguf Y X
printf 'x x.gguf\ny y.gguf\n' >cycle.txt
run "$hfeval" models cycle.txt
is "$rc" 3 "two models naming each other: exit 3"
like "$err" "cycle.txt:[12]: lineage cycle through model '[xy]' \(bases read from the GGUF files' general.base_model: set base= to say which is which\)" \
    "the line, and what to do"
printf 'x x.gguf base=y\ny y.gguf\n' >fixed.txt
run "$hfeval" models fixed.txt
is "$rc" 3 "base= on one side does not break the other's declaration"
printf 'x x.gguf\ny y.gguf base=y\n' >self.txt
run "$hfeval" models self.txt
is "$rc" 3 "a model named as its own base: exit 3"
run "$hfeval" models
is "$rc" 2 "no list: exit 2"
done_testing
