#!/usr/bin/env bash
# The http backend against a real llama-server (the pinned llama.cpp's) on
# loopback: parity with the engine backend on the same file, a proxy that
# drops, delays, cuts and fails requests, the server killed and restarted
# mid-run, the API key kept out of every file, and the errors a user sees.
. "$(dirname "$0")/lib.sh"
need_peer llama-server
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES
src=$HFEVAL_SRC
cd "$SCRATCH" || exit 1

# one request at a time per slot, flash attention off as in the engine
srv_args=(-np 4 -c 2048 -fa off -t 2 --metrics)
port=$(free_port)
start_server srv "$port" "$fx/base.gguf" "${srv_args[@]}"
ok $? "llama-server starts on 127.0.0.1:$port with the fixture base"
url=http://127.0.0.1:$port

# --- parity: the same file through the engine and through the server --------
cat >list.txt <<EOF
eng  $fx/base.gguf  chat_template=chatml
srv  $url
EOF
# a choice suite, chat requests, and a generation suite (gsm8k's
# questions, no shots, so that they fit the 512-token context as they are)
run "$hfeval" run "$src/suites/arith.lua" "$src/tests/suites/chat.lua" \
    --set "questions=$src/suites/data/arith.jsonl" --models list.txt --out par
is "$rc" 0 "arith and chat run on both backends"
[ "$rc" = 0 ] || printf '# %s\n' "$err" | tail -5
run python3 "$src/tests/parity.py" par:eng par:srv 1e-2 0.95
ok $rc "parity: log-likelihoods within 1e-2, at least 95% of greedy generations identical"
printf '%s\n' "$out" | sed 's/^/# /'
like "$out" 'generate 48 same' "both generation tasks were compared"
d=${HFEVAL_DATA:-$src/../shared/data}
if [ -f "$d/gsm8k_test.jsonl" ]; then
    run "$hfeval" run "$src/suites/gsm8k.lua" --set "data=$d/gsm8k_test.jsonl" --set shots=0 \
        --set max_tokens=48 --limit 32 --models list.txt --out gsm
    is "$rc" 0 "gsm8k (no shots) on both backends"
    run python3 "$src/tests/parity.py" gsm:eng gsm:srv 1e-2 0.95
    ok $rc "gsm8k: at least 95% of greedy generations identical"
    printf '%s\n' "$out" | sed 's/^/# /'
fi
rj=$(cat par/run.json)
like "$rj" '"server":\{"url":"http://127\.0\.0\.1:[0-9]+","api":"llama-server","model":"[^"]*base\.gguf","loglik":"logit_bias","concurrency":4,"total_slots":4' \
    "run.json: what the server is, the method, concurrency matched to its 4 slots"
like "$rj" '"stats":\{"loglik_method":"logit_bias","requests":[1-9][0-9]*,"loglik_requests":[1-9]' \
    "run.json: what the log-likelihoods cost"
like "$rj" '"prompt_tokens_cached_total":[1-9][0-9]*,"tokens_predicted_total":[1-9]' \
    "and what the server's /metrics counted for this model (its prompt cache at work)"
like "$rj" '"name":"srv".*"info":\{"name":"[^"]*base\.gguf","architecture":null,"quantization":"F32","n_params":17564928' \
    "the served model's size and type, from /v1/models and /props"

# perplexity: texts scored whole from BOS, every token forced in turn
head -c 2400 "$src/suites/data/fidelity.txt" | perl -MJSON::PP -0777 -ne '
    for (grep { /\S/ } split /\n\n/) { s/^\s+|\s+$//g; print encode_json({text => substr($_, 0, 400)}), "\n" }' >texts.jsonl
run "$hfeval" run "$src/tests/suites/rolling.lua" --set texts=texts.jsonl --models list.txt --out ppl
is "$rc" 0 "a rolling task on both backends"
run python3 "$src/tests/parity.py" ppl:eng ppl:srv 1e-2 1
ok $rc "rolling: each text's log-likelihood within 1e-2, the same tokens and bytes"
printf '%s\n' "$out" | head -1 | sed 's/^/# /'

# hellaswag's choice_prefix: scored after the prefix the four endings share
if [ -f "${HFEVAL_DATA:-$src/../shared/data}/hellaswag_val_full.txt.bz2" ]; then
    d=${HFEVAL_DATA:-$src/../shared/data}
    run "$hfeval" run "$src/suites/hellaswag.lua" --set "data=$d/hellaswag_val_full.txt.bz2" \
        --limit 12 --models list.txt --out hs
    is "$rc" 0 "hellaswag (choice_prefix) on both"
    run python3 "$src/tests/parity.py" hs:eng hs:srv 1e-2 1
    ok $rc "hellaswag: every ending's log-likelihood within 1e-2 of the engine's"
fi

# --- faults: a proxy that misbehaves, and a clean run to compare with -------
pport=$(free_port)
python3 "$src/tests/faultproxy.py" "$pport" "$port" --drop 0.08 --error 0.08 \
    --delay 0.05 --cut 0.08 --seed 7 --log proxy.log >proxy.out 2>&1 &
_pids="$_pids $!"
disown $!
wait_http "http://127.0.0.1:$pport/health" 10
cat >faults.txt <<EOF
srv     $url
faulty  http://127.0.0.1:$pport  backoff=20 backoff_max=200
EOF
run "$hfeval" run "$src/suites/arith.lua" --models faults.txt --out faults
is "$rc" 0 "a run through the faulty proxy completes"
run python3 "$src/tests/parity.py" faults:srv faults:faulty 1e-4 1
ok $rc "and its records equal the clean run's (log-probabilities within 1e-4)"
for what in drop error delay cut; do
    like "$(cat proxy.log)" "^$what\$" "the proxy did $what requests"
done
like "$(cat faults/run.json)" '"retries":[1-9][0-9]*,"failed":0' "the faulty model's requests were retried, none lost"
unlike "$(cat faults/run.json)" '"error"' "no task failed"

# --- the server killed with -9 and restarted mid-run ------------------------
for i in 1 2 3 4 5 6 7 8; do cat "$src/suites/data/arith.jsonl"; done >arith8.jsonl
printf 'srv %s\n' "$url" >one.txt
"$hfeval" run "$src/suites/arith.lua" --set data=arith8.jsonl --models one.txt \
    --out killed >killed.out 2>killed.err &
hpid=$!
sleep 3
kill -9 "$server_pid"
sleep 0.5
start_server srv2 "$port" "$fx/base.gguf" "${srv_args[@]}"
ok $? "llama-server restarted on the same port"
wait "$hpid"
is "$?" 0 "the run survives the restart"
"$hfeval" run "$src/suites/arith.lua" --set data=arith8.jsonl --models one.txt \
    --out unkilled >/dev/null 2>&1
run python3 "$src/tests/parity.py" unkilled:srv killed:srv 1e-4 1
ok $rc "its records equal an uninterrupted run's"
like "$(cat killed/run.json)" '"retries":[1-9]' "the kill cost retries (it happened mid-run)"

# --- the key ------------------------------------------------------------------
secret="sk-hfeval-$$-$RANDOM-do-not-write"
kport=$(free_port)
start_server keyed "$kport" "$fx/base.gguf" -np 2 -c 1024 -fa off -t 2 --api-key "$secret"
printf 'keyed http://127.0.0.1:%s api_key_env=HFE_TEST_KEY\n' "$kport" >keyed.txt
HFE_TEST_KEY=$secret HFEVAL_LOG=4 run "$hfeval" run "$src/suites/arith.lua" --models keyed.txt --out keyed
is "$rc" 0 "a run with the key from api_key_env"
grep -rqa -- "$secret" keyed "$HFEVAL_DB" "$SCRATCH"/*.out "$SCRATCH"/*.err 2>/dev/null
is "$?" 1 "the key is in no file the run wrote (records, history, logs)"
unlike "$out$err" "$secret" "nor in its output"
like "$(cat keyed/run.json)" '"api_key_env":"HFE_TEST_KEY"' "the record names the variable, not the key"
HFE_TEST_KEY=wrong-$secret run "$hfeval" run "$src/suites/arith.lua" --models keyed.txt --out keyed2
isnt_zero=$([ "$rc" != 0 ] && echo yes)
is "$isnt_zero" yes "a refused key fails the run"
like "$err" "keyed.txt:1: model 'keyed': http://127\.0\.0\.1:$kport/(v1/models|props): the server refused the API key \(HTTP 401\)" \
    "with the file, the line and the refusal"
unlike "$out$err$(cat keyed2/run.json 2>/dev/null)" "$secret" "a refused key is not echoed either"
env -u HFE_TEST_KEY "$hfeval" run "$src/suites/arith.lua" --models keyed.txt --out keyed3 >/dev/null 2>err.txt
like "$(cat err.txt)" "api_key_env=HFE_TEST_KEY: the environment has no HFE_TEST_KEY" "a missing variable is named"
printf 'keyed http://127.0.0.1:%s\n' "$kport" >nokey.txt
run "$hfeval" run "$src/suites/arith.lua" --models nokey.txt --out keyed4
like "$err" "refused us: no API key given \(HTTP 401\)" "no key for a server that wants one"

# --- what a user gets wrong ---------------------------------------------------
dead=$(free_port)
printf 'gone http://127.0.0.1:%s\n' "$dead" >dead.txt
run "$hfeval" run "$src/suites/arith.lua" --models dead.txt --out dead
like "$err" "dead.txt:1: model 'gone': cannot reach http://127\.0\.0\.1:$dead/v1/models: (Couldn't|Could not) connect" \
    "an unreachable server, named"
printf 'srv %s model=nope\n' "$url" >nope.txt
run "$hfeval" run "$src/suites/arith.lua" --models nope.txt --out nope
like "$err" "unknown model 'nope' \(the server serves: .*base\.gguf\)" "an unknown model name, with the names the server has"
printf 'srv %s concurrency=0\n' "$url" >conc.txt
run "$hfeval" run "$src/suites/arith.lua" --models conc.txt --out conc
like "$err" "concurrency=0: expected a whole number from 1 to 1024" "a bad option"
printf 'srv http://user:pw-%s@127.0.0.1:%s model=nope\n' "$$" "$port" >cred.txt
run "$hfeval" run "$src/suites/arith.lua" --models cred.txt --out cred
like "$err" "http://127\.0\.0\.1:$port: unknown model" "a URL's password is left out of messages"
unlike "$err$(cat cred/run.json)" "pw-$$" "and out of the record"

done_testing
