#!/usr/bin/env bash
# lm-evaluation-harness task files run as they are (core/suite/lmeval.c,
# jinja.c, yaml_doc.c): for arc_easy, arc_challenge (an include) and
# mmlu_anatomy (an include, a subject of the all-subjects file, 0- and
# 5-shot from dev), the contexts, continuations and gold hfeval builds
# equal, byte for byte, what tests/lmeval_ref.py builds with the real
# Jinja2 and PyYAML from lm-evaluation-harness's semantics; what is not
# supported yet is refused with the file, the line and what to do (exit 5).
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES
tasks=$HFEVAL_SRC/../shared/lm-eval-tasks
data=$HFEVAL_SRC/../shared/data
ref=$HFEVAL_SRC/tests/lmeval_ref.py
cd "$SCRATCH" || exit 1
if [ ! -d "$tasks" ] || [ ! -d "$data" ]; then
    skip 1 "no ../shared beside the checkout (its task files and data)"
    done_testing
    exit
fi
if ! python3 -c 'import jinja2, yaml' 2>/dev/null; then
    echo "Bail out! python3-jinja2 and python3-yaml are needed (scripts/deps.sh)"
    exit 1
fi
printf 'demo-base %s\n' "$fx/demo-base.gguf" >one.txt
n=12
# built FILE OUT: hfeval's items as the reference prints them
built() {
    perl -MJSON::PP -e '
        my (%gold, @items); my $j = JSON::PP->new->canonical;
        open my $s, "<", "$ARGV[0]/samples.jsonl" or die; while (<$s>) { my $d = decode_json($_); $gold{$d->{doc_id}} = $d->{gold} }
        open my $i, "<", "$ARGV[0]/items.jsonl" or die;
        while (<$i>) { my $d = decode_json($_); print $j->encode({prompt => $d->{prompt}, choices => $d->{choices}, gold => $gold{$d->{doc_id}} + 0}), "\n" }' "$1"
}
canon() { perl -MJSON::PP -ne 'print JSON::PP->new->canonical->encode(decode_json($_)), "\n"'; }
check() { # NAME YAML DATA [FEWSHOT SHOTS]
    local name=$1 yaml=$2 file=$3
    shift 3
    local set=(--set data="$file")
    [ $# -gt 0 ] && set+=(--set fewshot="$1" --set num_fewshot="$2")
    run "$hfeval" run "$yaml" --models one.txt "${set[@]}" --limit "$n" --out "$name"
    is "$rc" 0 "$name: runs (${yaml##*/})"
    python3 "$ref" "$yaml" "$file" "$n" "$@" | canon >"$name.ref"
    built "$name" >"$name.got"
    is "$(wc -l <"$name.got")" "$n" "$name: $n items"
    if cmp -s "$name.ref" "$name.got"; then
        ok 0 "$name: every context, continuation and gold equal lm-evaluation-harness's"
    else
        ok 1 "$name: every context, continuation and gold equal lm-evaluation-harness's"
        diff "$name.ref" "$name.got" | head -5 | sed 's/^/# /'
    fi
}
check arc_easy "$tasks/arc/arc_easy.yaml" "$data/arc_easy_test.jsonl"
check arc_challenge "$tasks/arc/arc_challenge.yaml" "$data/arc_challenge_test.jsonl"
check mmlu0 "$tasks/mmlu/default/mmlu_anatomy.yaml" "$data/mmlu_test.jsonl.gz"
check mmlu5 "$tasks/mmlu/default/mmlu_anatomy.yaml" "$data/mmlu_test.jsonl.gz" "$data/mmlu_dev.jsonl" 5
like "$(head -1 mmlu5.got)" 'about anatomy.\\n\\n.*Answer: [A-D]\\n\\n' "mmlu 5-shot: the description, then examples with their answers"
run "$hfeval" report arc_easy
like "$out" "arc_easy" "a table like any suite's"
sum=$(sha256sum "$data/arc_easy_test.jsonl" | cut -c1-64)
like "$(perl -MJSON::PP -e 'local $/; open my $f, "<", "arc_easy/run.json";
    print map { "$_->{path} $_->{sha256}\n" } @{decode_json(<$f>)->{suites}[0]{data}}')" \
    "arc_easy_test.jsonl $sum" "run.json records the data file with its digest (and the task file's)"

primary() { perl -MJSON::PP -e 'local $/; open my $f, "<", "$ARGV[0]/run.json";
    print decode_json(<$f>)->{suites}[0]{tasks}[0]{primary}' "$1"; }
is "$(primary arc_easy)" acc "the primary metric: the task file's first (acc)"
printf 'task: t\noutput_type: multiple_choice\ndoc_to_text: "{{question}}"\ndoc_to_choice: "{{choices.text}}"\ndoc_to_target: "{{choices.label.index(answerKey)}}"\nmetric_list:\n  - metric: acc_norm\n' >norm.yaml
run "$hfeval" run norm.yaml --models one.txt --set data="$data/arc_easy_test.jsonl" --limit 3 --out norm
is "$(primary norm)" acc_norm "acc_norm when the file lists it first"

# refused, with the file, the line and what to do
refused() { # YAML PATTERN DESC [SET...]
    local yaml=$1 pat=$2 desc=$3
    shift 3
    run "$hfeval" run "$yaml" --models one.txt --set data="$data/arc_easy_test.jsonl" "$@" --out x
    is "$rc" 5 "$desc: exit 5"
    like "$err" "$pat" "$desc: says so"
}
refused "$tasks/winogrande/default.yaml" 'default.yaml:[0-9]+: !function preprocess_winogrande.doc_to_text is Python' \
    "winogrande's !function"
refused "$tasks/gsm8k/gsm8k.yaml" "gsm8k.yaml:[0-9]+: output_type 'generate_until' is not supported yet" \
    "a generation task"
refused "$tasks/mmlu/default/_mmlu.yaml" "_mmlu.yaml:[0-9]+: 'group' is not supported yet" "a group"
refused "$tasks/hellaswag/hellaswag.yaml" "hellaswag.yaml:[0-9]+: 'process_docs' is not supported yet" \
    "hellaswag's process_docs"
run "$hfeval" run "$tasks/arc/arc_easy.yaml" --models one.txt --out x
is "$rc" 5 "no data: exit 5"
like "$err" "reads the Hub dataset allenai/ai2_arc \(ARC-Easy\), split 'test'.*--set data=FILE.jsonl" \
    "and says which split to give, and how"
printf 'task: t\noutput_type: multiple_choice\ndoc_to_text: "Q: {{ question | frob }}"\ndoc_to_choice: ["a", "b"]\ndoc_to_target: 0\n' >bad.yaml
refused bad.yaml 'bad.yaml:3: template: the filter \|frob' "a template outside the subset"
printf 'task: t\noutput_type: multiple_choice\ndoc_to_text: "{{ nope }}"\ndoc_to_choice: ["a", "b"]\ndoc_to_target: 0\n' >undef.yaml
refused undef.yaml "undef.yaml:3: template: 'nope' is undefined" "an undefined name"
perl -e 'print "task: t\nx: ", "[" x 100000, "\n"' >deep.yaml
refused deep.yaml 'deep.yaml:2:[0-9]+: nested deeper than 64 levels' "YAML nested 100,000 deep"
printf 'task: [unclosed\n' >broken.yaml
refused broken.yaml 'broken.yaml:[0-9]+:[0-9]+: ' "YAML that does not parse"
done_testing
