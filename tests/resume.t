#!/usr/bin/env bash
# The journal: kill -9 halfway and --resume gives the records of an
# uninterrupted run; a torn last line is dropped; a corrupt line is an
# error with its line; Ctrl-C stops cleanly and says how to resume, and a
# second Ctrl-C leaves at once with the journal still readable.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
src=$HFEVAL_SRC
cd "$SCRATCH" || exit 1

for i in 1 2 3 4 5 6 7 8; do cat "$src/suites/data/arith.jsonl"; done >arith8.jsonl
printf 'a  %s\nb  %s  base=a\n' "$HFEVAL_FIXTURES/base.gguf" "$HFEVAL_FIXTURES/q8_0.gguf" >list.txt
cmd=("$hfeval" run "$src/suites/arith.lua" --set data=arith8.jsonl --models list.txt)
# Records equal an uninterrupted run's: the same picks, texts and metrics,
# log-probabilities within 1e-5 (the resumed part is batched differently,
# and F32 log-likelihoods move by up to 6e-6 with a batch's make-up, as
# engine-invariance.t measures; Q8_0 ones do not move), timings aside.
same() { # DIR DESC
    local m ok=0 why=
    for m in a b; do
        why=$(PARITY_METRICS=1 python3 "$src/tests/parity.py" "whole:$m" "$1:$m" 1e-5 1) || ok=1
        [ "$ok" = 0 ] || { printf '# %s\n' "$why"; break; }
    done
    ok $ok "$2"
}
entries() { tail -n +2 "$1/journal.jsonl" | grep -c .; }
distinct() { tail -n +2 "$1/journal.jsonl" | perl -MJSON::PP -ne '$j = decode_json($_);
    $s{"$j->{m} $j->{s} $j->{t} $j->{i}"}++; END { print scalar(keys %s), "\n" }'; }
# wait_lines DIR N: until its journal holds N answers (60 s at most)
wait_lines() {
    for _ in $(seq 600); do
        [ -f "$1/journal.jsonl" ] && [ "$(entries "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

run "${cmd[@]}" --out whole
is "$rc" 0 "an uninterrupted run"
total=$(entries whole)
is "$total" 1920 "its journal holds every answer: 2 models x 192 x (4 choices + 1)"

# kill -9 halfway
"${cmd[@]}" --out killed >/dev/null 2>&1 &
pid=$!
wait_lines killed 600
kill -9 "$pid"
wait "$pid" 2>/dev/null
n=$(entries killed)
[ "$n" -ge 600 ] && [ "$n" -lt "$total" ]
ok $? "killed with $n of $total answers journaled"
run "$hfeval" run --resume killed
is "$rc" 0 "hfeval run --resume DIR finishes it"
like "$err" "resuming killed: $n answers in its journal" "from where it stopped"
same killed "its records equal the uninterrupted run's"
is "$(entries killed)" "$total" "every request answered exactly once in all"
is "$(distinct killed)" "$total" "(no request twice)"

# a torn last line: a run killed in the middle of writing one
mkdir torn
{ head -n 301 whole/journal.jsonl; sed -n 302p whole/journal.jsonl | head -c 77; } >torn/journal.jsonl
run "$hfeval" run --resume torn
is "$rc" 0 "a journal with a torn last line resumes"
like "$err" "torn/journal.jsonl:302: a torn last line .* is dropped" "and says what it dropped"
same torn "with the same records"
is "$(distinct torn)" "$total" "and the torn answer asked again, once"

# a corrupt line in the middle is not guessed at
mkdir bad
{ head -n 40 whole/journal.jsonl; echo '{"m":"a","s":'; sed -n '41,80p' whole/journal.jsonl; } >bad/journal.jsonl
run "$hfeval" run --resume bad
is "$rc" 6 "a corrupt journal: exit status 6"
like "$err" "bad/journal.jsonl:41: expected a JSON object of the journal" "with its file and line"
run "$hfeval" run --resume nowhere
is "$rc" 8 "nothing to resume: exit status 8"
like "$err" "nowhere/journal.jsonl: No such file or directory" "names what is missing"

# a full disk (a file size limit): the write fails with a message and
# status 8, and what the journal kept is not asked again
(ulimit -f 100; exec "${cmd[@]}" --out full >full.out 2>full.err)
is "$?" 8 "a full disk while writing results: exit status 8"
like "$(cat full.err)" "full/(samples\.jsonl|journal\.jsonl).*File too large" "with the file and the reason"
n=$(entries full)
[ "$n" -gt 0 ] && [ "$n" -lt "$total" ]
ok $? "the journal kept $n answers up to the limit, whole lines only"
run "$hfeval" run --resume full
is "$rc" 0 "with room again, the run resumes"
same full "to the same records"

# an output directory that cannot be made: said before any work is done
run "${cmd[@]}" --out /proc/hfeval-cannot-be-here
is "$rc" 8 "an unwritable output directory: exit status 8"
like "$err" "/proc/hfeval-cannot-be-here: cannot create it" "named, before any model ran"

# Ctrl-C: stop, keep the journal, say how to resume
"${cmd[@]}" --out int >int.out 2>int.err &
pid=$!
wait_lines int 1000
kill -INT "$pid"
wait "$pid"
is "$?" 130 "Ctrl-C: exit status 130"
like "$(cat int.err)" "resume with: hfeval run --resume int" "it prints the command that resumes"
like "$(cat int.out)" "^a +arith_choice" "and the table of what was finished"
[ ! -f int/samples.jsonl ]
ok $? "no records of a run that did not finish"
run "$hfeval" run --resume int
is "$rc" 0 "the interrupted run resumes"
same int "to the same records"

# a second Ctrl-C leaves at once; the journal still reads
"${cmd[@]}" --out int2 >/dev/null 2>&1 &
pid=$!
wait_lines int2 300
kill -INT "$pid"
kill -INT "$pid"
wait "$pid"
is "$?" 130 "a second Ctrl-C: out at once, status 130"
run "$hfeval" run --resume int2
is "$rc" 0 "and it resumes"
same int2 "to the same records"
done_testing
