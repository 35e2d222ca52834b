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
# built DIR: hfeval's items as the reference prints them
built() {
    perl -MJSON::PP -e '
        my (%gold, @items); my $j = JSON::PP->new->canonical->utf8;
        open my $s, "<", "$ARGV[0]/samples.jsonl" or die; while (<$s>) { my $d = decode_json($_); $gold{$d->{doc_id}} = $d->{gold} }
        open my $i, "<", "$ARGV[0]/items.jsonl" or die;
        while (<$i>) {
            my $d = decode_json($_); my %o = (prompt => $d->{prompt});
            for my $k (qw(choices contexts continuation)) { $o{$k} = $d->{$k} if exists $d->{$k} }
            $o{gold} = $gold{$d->{doc_id}} + 0 if defined $gold{$d->{doc_id}};
            print $j->encode(\%o), "\n" }' "$1"
}
canon() { perl -MJSON::PP -ne 'print JSON::PP->new->canonical->utf8->encode(decode_json($_)), "\n"'; }
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

check winogrande "$tasks/winogrande/default.yaml" "$data/winogrande_validation.jsonl"
like "$(head -1 winogrande.got)" '"contexts":\["Sarah was a much better surgeon than Maria so Sarah"' \
    "winogrande: the choices are the contexts (its three helpers, native)"
check winogrande3 "$tasks/winogrande/default.yaml" "$data/winogrande_validation.jsonl" \
    "$data/winogrande_validation.jsonl" 3
check truthfulqa_mc1 "$tasks/truthfulqa/truthfulqa_mc1.yaml" "$data/truthfulqa_mc_validation.jsonl"
check truthfulqa_mc2 "$tasks/truthfulqa/truthfulqa_mc2.yaml" "$data/truthfulqa_mc_validation.jsonl"
check lambada "$tasks/lambada/lambada_openai.yaml" "$data/lambada_test.jsonl"
# gsm8k, 5-shot by the default sampler (Python's random.Random(1234), one
# stream for the task): its few-shot split is train, which is not here, so
# the examples come from other test questions
sed -n '200,400p' "$data/gsm8k_test.jsonl" >gsm_pool.jsonl
check gsm8k "$tasks/gsm8k/gsm8k.yaml" "$data/gsm8k_test.jsonl" gsm_pool.jsonl 5
# a pool no larger than Python's set threshold: random.sample's other path
sed -n '300,319p' "$data/gsm8k_test.jsonl" >gsm_small.jsonl
check gsm8k_small "$tasks/gsm8k/gsm8k.yaml" "$data/gsm8k_test.jsonl" gsm_small.jsonl 3
# the same split as the few-shot pool: an example is never the question
check gsm8k_self "$tasks/gsm8k/gsm8k.yaml" "$data/gsm8k_test.jsonl" "$data/gsm8k_test.jsonl" 8

# gsm8k.yaml and suites/gsm8k.lua, 0-shot on the demo base: the same
# prompts, stops and patterns, so item by item the same completion, the
# same answers read out and the same exact matches
run "$hfeval" run "$tasks/gsm8k/gsm8k.yaml" --models one.txt --set data="$data/gsm8k_test.jsonl" \
    --set num_fewshot=0 --limit 10 --out gy
run "$hfeval" run "$HFEVAL_SRC/suites/gsm8k.lua" --models one.txt --set data="$data/gsm8k_test.jsonl" \
    --set shots=0 --limit 10 --out gl
rows() { perl -MJSON::PP -ne 'my $d = decode_json($_); my $m = $d->{metrics}; my @m = map { $m->{$_} } sort grep /^exact/, keys %$m;
    print JSON::PP->new->canonical->utf8->encode([$d->{doc_id}, $d->{output}, $d->{extracted}, @m]), "\n"' "$1/samples.jsonl"; }
rows gy >gy.rows
rows gl >gl.rows
is "$(wc -l <gy.rows)" 10 "gsm8k: 10 questions"
if cmp -s gy.rows gl.rows; then ok 0 "gsm8k: the task file and suites/gsm8k.lua agree item by item"; else
    ok 1 "gsm8k: the task file and suites/gsm8k.lua agree item by item"; diff gy.rows gl.rows | head -4 | sed 's/^/# /'; fi

# (also: metadata.version as written, 1.0 a float)
like "$(cat arc_easy/run.json)" '"version": *"1.0"' "metadata.version recorded as written (1.0)"

# truthfulqa_mc2's acc is its process_results_mc2, here native: each
# document's value equals the helper's own on hfeval's log-likelihoods
python3 "$ref" "$tasks/truthfulqa/truthfulqa_mc2.yaml" --mc2 "$data/truthfulqa_mc_validation.jsonl" \
    truthfulqa_mc2/samples.jsonl >mc2.ref
perl -MJSON::PP -ne 'my $d = decode_json($_); printf "%d %.6e\n", $d->{doc_id}, $d->{metrics}{acc}' \
    truthfulqa_mc2/samples.jsonl >mc2.got
perl -MJSON::PP -ne 'my $d = decode_json($_); printf "%d %.6e\n", $d->{doc_id}, $d->{acc}' mc2.ref >mc2.want
# (the records print log-likelihoods to 9 digits: 1e-5 relative)
close() { perl -e 'open my $a, "<", $ARGV[0]; open my $b, "<", $ARGV[1]; my @a = <$a>; my @b = <$b>;
    exit 1 unless @a == @b && @a;
    for (0 .. $#a) { my @x = split " ", $a[$_]; my @y = split " ", $b[$_];
        for my $k (0 .. $#x) { exit 1 if abs($x[$k] - $y[$k]) > 1e-5 * (abs($x[$k]) + abs($y[$k])) + 1e-300 } }' "$1" "$2"; }
close mc2.got mc2.want
ok $? "truthfulqa_mc2: acc equals process_results_mc2 document by document"
unlike "$(cat truthfulqa_mc2/samples.jsonl)" 'acc_norm|acc_tok' "and its metric alone, as lm-evaluation-harness reports it"
like "$(sort -u mc2.got | wc -l)" '^(1[0-2]|[2-9])$' "and the values differ between documents"

# lambada: acc is greedy (every token the argmax), perplexity e^-mean(ll)
perl -MJSON::PP -e 'my ($s, $n, $a) = (0, 0, 0); open my $f, "<", "lambada/samples.jsonl";
    while (<$f>) { my $d = decode_json($_); $s += $d->{metrics}{logprob}; $a += $d->{metrics}{acc}; $n++ }
    printf "%.4f %.4f\n", $a / $n, exp(-$s / $n)' >lambada.want
want=$(perl -MJSON::PP -e 'local $/; open my $f, "<", "lambada/run.json"; my %v;
    $v{$_->{metric}} = $_->{value} for @{decode_json(<$f>)->{results}};
    printf "%.4f %.4f\n", $v{acc}, $v{perplexity}')
is "$(primary lambada)" acc "lambada's primary: acc (its perplexity is lower-is-better, no quality share)"
run "$hfeval" report lambada
like "$out" '\| lambada_openai acc ±95% \|' "the decision table shows lambada's acc"
echo "$want" >lambada.got
close lambada.got lambada.want
ok $? "lambada: acc and perplexity as lm-evaluation-harness aggregates them ($want)"

# hellaswag's process_docs, native, against the helper itself, on rows
# in the Hub dataset's layout (brackets, [title], a lower-case ctx_b)
cat >hs.jsonl <<'JSONL'
{"ind": 4, "activity_label": "Removing ice from car", "ctx_a": "Then, the man writes over the snow covering the window of a car, and a woman wearing winter clothes smiles.", "ctx_b": "then", "ctx": "x", "endings": [", the man adds wax to the windshield and cuts it.", ", a person board a ski lift, while two men supporting the head of the person wearing winter clothes snow as the we girls sled.", ", the man puts on a christmas coat, knitted with netting.", ", the man continues removing the snow on his car."], "source_id": "a", "split": "val", "split_type": "indomain", "label": "3"}
{"ind": 9, "activity_label": "Home and Garden", "ctx_a": "[header] How to grow a tree [title] Dig a hole.", "ctx_b": "MAKE it  deep [step] twice the root ball.", "ctx": "x", "endings": ["[substeps] Water it.", "Plant  it [title] now.", "Wait.", "Leave it [x] there."], "source_id": "b", "split": "val", "split_type": "zeroshot", "label": "1"}
JSONL
n=2
check hellaswag "$tasks/hellaswag/hellaswag.yaml" hs.jsonl
n=12

# the whole MMLU group (_mmlu.yaml: four groups of tags of 57 subjects),
# gl documents a subject (2 on a sanitizer build, whose C is the same)
gl=3
[ "${HFEVAL_SANITIZE:-OFF}" = ON ] && gl=2
run "$hfeval" run "$tasks/mmlu/default/_mmlu.yaml" --models one.txt --set data="$data/mmlu_test.jsonl.gz" \
    --limit $gl --out mmlu_all
is "$rc" 0 "the mmlu group runs"
is "$(perl -MJSON::PP -e 'local $/; open my $f, "<", "mmlu_all/run.json";
    print scalar @{decode_json(<$f>)->{suites}[0]{tasks}}')" 57 "every subject of its four groups, once"
# its groups (mmlu_stem, _other, _social_sciences, _humanities, then mmlu)
# as lm-evaluation-harness aggregates them: weight_by_size means and the
# pooled standard error, each group from its members' rows
grows() { perl -MJSON::PP -e 'local $/; open my $f, "<", "$ARGV[0]/run.json"; my $r = decode_json(<$f>);
    my %g = map { $_->{name} => 1 } @{$r->{suites}[0]{groups}};
    printf "%s %s %.6f %.6f %d\n", @$_{qw(task metric value stderr n)} for grep { $g{$_->{task}} } @{$r->{results}}' "$1"; }
grows mmlu_all >groups.got
python3 "$HFEVAL_SRC/tests/lmeval_groups.py" mmlu_all >groups.want
is "$(wc -l <groups.got)" 5 "five group rows: four categories and mmlu"
is "$(cat groups.got)" "$(cat groups.want)" "each as lm-evaluation-harness aggregates it"
like "$(grep '^mmlu acc' groups.got)" " $((57 * gl))\$" "mmlu's: every document of the 57 subjects ($gl each)"
run "$hfeval" report mmlu_all
like "$out" '\| mmlu acc ±95% \|' "the decision table shows the group"
unlike "$out" 'mmlu_anatomy acc' "and not its 57 members"
# the group 5-shot from dev: each subject's contexts are its own file's
run "$hfeval" run "$tasks/mmlu/default/_mmlu.yaml" --models one.txt --set data="$data/mmlu_test.jsonl.gz" \
    --set fewshot="$data/mmlu_dev.jsonl" --set num_fewshot=5 --limit 2 --out mmlu_all5
is "$rc" 0 "the mmlu group runs 5-shot"
for sub in anatomy world_religions; do
    python3 "$ref" "$tasks/mmlu/default/mmlu_$sub.yaml" "$data/mmlu_test.jsonl.gz" 2 "$data/mmlu_dev.jsonl" 5 |
        canon >"g5_$sub.ref"
    mkdir -p "g5_$sub"
    grep "\"task\":\"mmlu_$sub\"" mmlu_all5/items.jsonl >"g5_$sub/items.jsonl"
    grep "\"task\":\"mmlu_$sub\"" mmlu_all5/samples.jsonl >"g5_$sub/samples.jsonl"
    built "g5_$sub" >"g5_$sub.got"
    is "$(wc -l <"g5_$sub.got")" 2 "the group, 5-shot: mmlu_$sub's two documents"
    cmp -s "g5_$sub.ref" "g5_$sub.got"
    ok $? "the group, 5-shot: mmlu_$sub's contexts equal lm-evaluation-harness's"
done
# a directory runs every task and group in it; DIR/NAME the one named
run "$hfeval" run "$tasks/arc/" --models one.txt --set data="$data/arc_easy_test.jsonl" --limit 2 --out dirrun
is "$(perl -MJSON::PP -e 'local $/; open my $f, "<", "dirrun/run.json";
    print join " ", map { $_->{name} } @{decode_json(<$f>)->{suites}[0]{tasks}}')" "arc_challenge arc_easy" \
    "a directory: its every task"
run "$hfeval" run "$tasks/mmlu/default/mmlu_stem" --models one.txt --set data="$data/mmlu_test.jsonl.gz" \
    --limit 2 --out namerun
is "$(perl -MJSON::PP -e 'local $/; open my $f, "<", "namerun/run.json"; my $s = decode_json(<$f>)->{suites}[0];
    print scalar @{$s->{tasks}}, " ", join " ", map { $_->{name} } @{$s->{groups}}')" "19 mmlu_stem" \
    "DIR/NAME: the group of that name, its 19 subjects"
run "$hfeval" run "$tasks/mmlu/default/nothing" --models one.txt --set data=x --out x
is "$rc" 5 "DIR/NAME naming nothing: exit 5"
like "$err" "no task, tag or group 'nothing' is defined in .*mmlu/default" "and says so"
# sharded and merged: the same group rows
for k in 1 2; do
    run "$hfeval" run "$tasks/mmlu/default/_mmlu.yaml" --models one.txt --set data="$data/mmlu_test.jsonl.gz" \
        --limit $gl --shard $k/2 --out mshard$k
done
run "$hfeval" merge --out mmerged mshard1 mshard2
is "$rc" 0 "two shards of the group merge"
grows mmerged >groups.merged
is "$(cat groups.merged)" "$(cat groups.got)" "and give the unsharded run's group rows"
# refused, with the file, the line and what to do
refused() { # YAML PATTERN DESC [SET...]
    local yaml=$1 pat=$2 desc=$3
    shift 3
    run "$hfeval" run "$yaml" --models one.txt --set data="$data/arc_easy_test.jsonl" "$@" --out x
    is "$rc" 5 "$desc: exit 5"
    like "$err" "$pat" "$desc: says so"
}
printf 'task: t\noutput_type: multiple_choice\ndoc_to_text: !function utils.my_text\ndoc_to_choice: ["a", "b"]\ndoc_to_target: 0\n' >fn.yaml
refused fn.yaml 'fn.yaml:3: !function utils.my_text is Python.*write utils.lua beside the task file' \
    "a !function with no native equivalent or hook"
# a split given as CSV (winogrande's flat fields): the same requests as
# its JSONL
perl -MJSON::PP -e 'binmode STDOUT, ":utf8"; print "sentence,option1,option2,answer\n";
    while (<STDIN>) { my $d = decode_json($_); print join(",", map { my $v = $_; $v =~ s/"/""/g; "\"$v\"" }
        @$d{qw(sentence option1 option2 answer)}), "\n" }' <"$data/winogrande_validation.jsonl" >wino.csv
run "$hfeval" run "$tasks/winogrande/default.yaml" --models one.txt --set data=wino.csv --limit "$n" --out wcsv
is "$rc" 0 "a CSV split runs"
built wcsv >wcsv.got
cmp -s wcsv.got winogrande.got
ok $? "and gives the JSONL split's contexts, continuations and gold"
# a Lua hook beside the task file stands for a helper hfeval lacks
mkdir -p hook
printf 'task: t\noutput_type: multiple_choice\ndoc_to_text: !function myhooks.text\ndoc_to_choice: "{{choices.text}}"\ndoc_to_target: "{{choices.label.index(answerKey)}}"\nprocess_results: !function myhooks.results\nmetric_list:\n  - metric: top\n' >hook/h.yaml
printf 'return {\n  text = function(doc) return "Q: " .. doc.question:upper() .. "\\nA:" end,\n  results = function(doc, out) return { top = out.logprobs[1] } end,\n}\n' >hook/myhooks.lua
run "$hfeval" run hook/h.yaml --models one.txt --set data="$data/arc_easy_test.jsonl" --limit 2 --out hooked
is "$rc" 0 "a task whose helpers are Lua hooks runs"
like "$(head -1 hooked/items.jsonl)" '"prompt":"Q: WHICH STATEMENT BEST' "its doc_to_text is the hook's"
is "$(perl -MJSON::PP -ne 'my $d = decode_json($_); print $d->{metrics}{top} == $d->{logprobs}[0] ? "y" : "n"' hooked/samples.jsonl)" yy \
    "its process_results gives the metric the file lists"
like "$(cat hooked/run.json)" 'myhooks.lua' "the hook is one of the run's recorded files"
printf 'return { text = function(doc) return io.open("/etc/passwd"):read("a") end }\n' >hook/myhooks.lua
sed -i '/process_results\|metric_list\|metric: top/d' hook/h.yaml
run "$hfeval" run hook/h.yaml --models one.txt --set data="$data/arc_easy_test.jsonl" --limit 2 --out hooked2
is "$rc" 5 "a hook runs in the suite's sandbox (no io): exit 5"
like "$err" "myhooks.lua:1:.*'io'" "and says where"
printf 'task: t\noutput_type: generate_until\ndoc_to_text: "{{question}}"\ndoc_to_target: "{{answer}}"\nmetric_list:\n  - metric: bleu\n' >bleu.yaml
refused bleu.yaml "bleu.yaml:5: metric 'bleu' is not one hfeval computes for generate_until" "a metric hfeval lacks"
printf 'group: g\ntask:\n  - nothere\n' >grp.yaml
refused grp.yaml "grp.yaml:2: 'nothere' is no task, tag or group" "a group naming nothing"
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
