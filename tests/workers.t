#!/usr/bin/env bash
# Each model runs in a worker process: a GGUF that makes llama.cpp abort,
# a backend that segfaults, exits, hangs or hangs halfway each becomes that
# model's error row with the reason, and the models around them finish.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
cd "$SCRATCH" || exit 1
export HFEVAL_PLUGIN_PATH=$HFEVAL_TEST_BIN/faults

# passes the loader's checks, then trips GGML_ASSERT(n_expert_used_max <=
# n_expert) while llama.cpp reads the hyperparameters
"$HFEVAL_TEST_BIN/mkmodel" --vocab "$HFEVAL_LLAMA_VOCAB" --out experts.gguf \
    --n-embd 64 --n-layer 1 --kv llama.expert_used_count=u32:2 >/dev/null 2>&1
ok $? "a GGUF with expert_used_count but no experts"
run "$hfeval" inspect experts.gguf
is "$rc" 0 "its header and metadata read fine"

cat >list.txt <<LIST
good1      $HFEVAL_FIXTURES/base.gguf
aborts     experts.gguf
segv       fault:segv
exits      fault:exit
killed     fault:killed
hangs      fault:hang        watchdog=2
half       fault:half        watchdog=2
openabort  fault:open-abort
good2      $HFEVAL_FIXTURES/q8_0.gguf
LIST
t0=$(date +%s)
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" --models list.txt --out run
t1=$(date +%s)
is "$rc" 1 "the run ends with status 1: some models failed"
row() { printf '%s\n' "$out" | grep -E "^$1 +$2 " | head -1; }
like "$(row good1 arith_choice)" "acc +0\.[0-9]+" "the first good model has its rows"
like "$(row good2 arith_gen)" "exact_match +0\.[0-9]+" "and so has the last, after all the failures"
like "$err" "model 'aborts': the worker was killed by signal 6 \(Aborted\); it said: .*GGML_ASSERT\(n_expert_used_max <= hparams\.n_expert\) failed" \
    "an abort inside llama.cpp: the signal and the assertion"
# under AddressSanitizer the worker's SIGSEGV is ASan's: it reports it and
# exits 1
segv='the worker was killed by signal 11 \(Segmentation fault\)'
[ "$HFEVAL_SANITIZE" = ON ] && segv='the worker exited with status 1; it said: .*ABORTING'
like "$(row segv arith_choice)" "error: task 'arith_choice': $segv" \
    "a segfault in the backend: an error row with the signal"
like "$(row exits arith_choice)" "error: task 'arith_choice': the worker exited with status 3" "an exit: its status"
like "$(row killed arith_choice)" "the worker was killed by signal 9 \(Killed; out of memory\?\)" \
    "a SIGKILL, as the out-of-memory killer sends"
like "$(row hangs arith_choice)" "error: task 'arith_choice': the worker hung: no answer in 2 s \(the watchdog killed it\)" \
    "a hang: the watchdog stops it"
like "$(row hangs arith_gen)" "error: task 'arith_gen': the worker hung" "and the model's next task says so too"
like "$(row half arith_choice)" "the worker hung" "a worker that answers half a batch, then hangs"
like "$err" "model 'openabort': the worker was killed by signal 6 \(Aborted\); it said: faults: giving up while opening: abort\(\)" \
    "an abort while opening, with the worker's last words"
[ $((t1 - t0)) -lt 60 ]
ok $? "the hangs cost their watchdog time, not the run ($((t1 - t0)) s)"
n=$(grep -c '"model":"good[12]"' run/samples.jsonl)
is "$n" 96 "every record of both good models is written (2 x 48)"
like "$(cat run/run.json)" "\"model\":\"segv\".*\"error\":\"task .arith_choice.: $segv" \
    "run.json keeps the failures with their reasons"
pgrep -f "hfeval run .*list.txt" >/dev/null
is "$?" 1 "no worker is left behind"

printf 'x fault:ok watchdog=soon\n' >wd.txt
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" --models wd.txt --out wd
is "$rc" 3 "a watchdog that is not seconds: a bad model list"
like "$err" "wd\.txt:1:12: watchdog=soon: expected seconds, a number above 0" "with its line and column"

# bad model files: each its own message and row, status 4, the good one
# complete
printf 'not a gguf at all\n' >notgguf.gguf
"$HFEVAL_TEST_BIN/mkmodel" --vocab "$HFEVAL_LLAMA_VOCAB" --out arch.gguf \
    --n-embd 64 --n-layer 1 --kv general.architecture=str:nosuch >/dev/null 2>&1
printf '%s\n' "good $HFEVAL_FIXTURES/q8_0.gguf" "missing nope.gguf" \
    "trunc $HFEVAL_FIXTURES/truncated.gguf" "notgguf notgguf.gguf" "arch arch.gguf" >bad.txt
run "$hfeval" run "$HFEVAL_SRC/suites/arith.lua" --models bad.txt --out bad
is "$rc" 4 "bad model files: exit status 4"
like "$(row good arith_gen)" "exact_match +0\.[0-9]+" "the good model is complete"
like "$(row missing -)" "error: .*nope\.gguf: No such file or directory" "a missing file"
like "$(row trunc -)" "error: .*truncated\.gguf: truncated: its 21 tensors need [0-9]+ bytes, the file has [0-9]+" "a truncated file"
like "$(row notgguf -)" "error: .*notgguf\.gguf: not a valid GGUF file: invalid magic characters" "a file that is not GGUF"
like "$(row arch -)" "error: .*arch\.gguf: the engine cannot load it: .*unknown model architecture: 'nosuch'" \
    "an architecture llama.cpp does not know"
like "$err" "bad\.txt:3: model 'trunc'" "each with its list's file and line"
done_testing
