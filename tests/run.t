#!/usr/bin/env bash
# `hfeval run`: a suite over a model list.  Exact scores through the replay
# backend (recorded answers), an end-to-end run over the fixture lineage,
# a suite in a directory of its own reading data given with --set, and
# every kind of bad suite with its file, line and exit status 5.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
suite=$HFEVAL_SRC/suites/arith.lua

# Recorded answers for the first three questions: the gold choice is the
# most likely on questions 0 and 2, not on 1; generations answer 0 and 1
# right (one with words around the number), 2 wrong.
cat >"$SCRATCH/answers.jsonl" <<'J'
{"item_id": "arith-0", "continuation": " 33", "logprob": -9.0}
{"item_id": "arith-0", "continuation": " 34", "logprob": -8.0}
{"item_id": "arith-0", "continuation": " 35", "logprob": -1.0}
{"item_id": "arith-0", "continuation": " 45", "logprob": -7.0}
{"item_id": "arith-1", "continuation": " 17", "logprob": -1.0}
{"item_id": "arith-1", "continuation": " 19", "logprob": -2.0}
{"item_id": "arith-1", "continuation": " 21", "logprob": -3.0}
{"item_id": "arith-1", "continuation": " 29", "logprob": -4.0}
{"item_id": "arith-2", "continuation": " -8", "logprob": -5.0}
{"item_id": "arith-2", "continuation": " -1", "logprob": -6.0}
{"item_id": "arith-2", "continuation": " 2", "logprob": -0.5}
{"item_id": "arith-2", "continuation": " 5", "logprob": -7.0}
{"item_id": "arith-0", "task": "arith_gen", "completion": " 35\nQuestion: next"}
{"item_id": "arith-1", "task": "arith_gen", "completion": " it is 19."}
{"item_id": "arith-2", "task": "arith_gen", "completion": " 3"}
J
printf 'saved replay:answers.jsonl\n' >"$SCRATCH/replay.txt"
run "$hfeval" run "$suite" --models "$SCRATCH/replay.txt" --limit 3 --out "$SCRATCH/r1"
is "$rc" 0 "a run through replay exits 0"
like "$out" '^saved +arith_choice +acc +0\.6667 +0\.3333 +3$' "acc is 2/3 with its standard error"
like "$out" '^saved +arith_gen +exact_match +0\.6667 +0\.3333 +3$' "exact match after extraction is 2/3"
recs=$SCRATCH/r1/samples.jsonl
is "$(wc -l <"$recs")" 6 "one record per sample"
json_ok "$(cat "$recs")" --lines
ok $? "the records are JSON lines"
like "$(head -1 "$recs")" '"model":"saved","suite":"arith","task":"arith_choice","doc_id":0,"item_id":"arith-0","prompt_sha256":"[0-9a-f]{64}","gold":2,"pick":2,"metrics":\{"acc":1' \
    "a record names model, suite, task, doc_id, item_id, the prompt's digest and its metrics"
like "$(sed -n 5p "$recs")" '"extracted":\["19"\],"target":"19"' "the answer is extracted from the completion"

# The whole lineage through the engine.
run "$hfeval" run "$suite" --models "$HFEVAL_FIXTURES/random.txt" --limit 4 --out "$SCRATCH/r2"
is "$rc" 0 "the suite runs over the fixture lineage"
is "$(printf '%s\n' "$out" | grep -c ' arith_choice  *acc ')" 7 "a row for each of the seven models"
like "$out" '^tiny-q4_k_m +arith_gen +exact_match ' "generation too"

# A suite of the user's own, elsewhere, reading a file given with --set.
mkdir -p "$SCRATCH/mine"
cat >"$SCRATCH/mine/mine.lua" <<'L'
local docs = hfe.read_jsonl(hfe.set.questions)
return { name = "mine", tasks = { {
    name = "mine", kind = "generate", docs = docs,
    prompt = function(d) return d.q end, target = function(d) return d.a end,
    id = function(d) return d.id end, extract = "(\\d+)" } } }
L
printf '{"id": "m1", "q": "1+1?", "a": "2"}\n' >"$SCRATCH/q.jsonl"
printf '{"item_id": "m1", "completion": "2"}\n' >"$SCRATCH/mine/a.jsonl"
printf 'me replay:mine/a.jsonl\n' >"$SCRATCH/mine.txt"
cd / || exit 1
run "$hfeval" run "$SCRATCH/mine/mine.lua" --models "$SCRATCH/mine.txt" \
    --set questions="$SCRATCH/q.jsonl" --out "$SCRATCH/r3"
cd - >/dev/null || exit 1
is "$rc" 0 "a user's suite elsewhere runs, reading --set data"
like "$out" '^me +mine +exact_match +1\.0000 ' "and scores"

# Bad suites: exit 5, file and line.
bad() { # name text pattern description [status]
    printf '%s' "$2" >"$SCRATCH/$1"
    run "$hfeval" run "$SCRATCH/$1" --models "$SCRATCH/replay.txt"
    is "$rc" "${5:-5}" "$4: exit ${5:-5}"
    like "$err" "$3" "$4: message"
}
bad syntax.lua $'return {\n name = "x"\n tasks = {}\n}\n' "syntax.lua:3: '}' expected" "a syntax error"
bad until.lua $'return { name = "x", tasks = { { name = "t", kind = "generate", ["until"] = 5,\n docs = {}, prompt = function(d) return "" end } } }\n' \
    "until.lua: task 't': field 'until' must be a list of strings, got number" "a wrong field type"
bad throws.lua $'return { name = "x", tasks = { { name = "t", kind = "generate",\n docs = { {} },\n prompt = function(d) return d.q.x end } } }\n' \
    "task 't', document 0: .*throws.lua:3: attempt to index a nil value" "an error in a prompt function"
bad regex.lua $'return { name = "x", tasks = { { name = "t", kind = "generate",\n docs = {}, prompt = function(d) return "" end, extract = "(" } } }\n' \
    "regex.lua: task 't': field 'extract': /\\(/: missing closing parenthesis" "a bad extraction pattern"
bad os.lua $'os.execute("true")\nreturn {}\n' "os.lua:1: the sandbox forbids 'os'" "os.execute"
bad io.lua $'local f = io.open("/etc/passwd")\nreturn {}\n' "io.lua:1: the sandbox forbids 'io'" "io.open"
bad req.lua $'local m = require("socket")\nreturn {}\n' "req.lua:1: the sandbox forbids 'require'" "require"
printf '{"id": 1}\nnot json\n' >"$SCRATCH/bad.jsonl"
bad data.lua $'local d = hfe.read_jsonl("bad.jsonl")\nreturn {}\n' "bad.jsonl:2: expected a JSON object" "a malformed data line (the data's status)" 6

# GSM8K scoring (suites/gsm8k.lua) on three questions of its format.
gs=$HFEVAL_SRC/suites/gsm8k.lua
cat >"$SCRATCH/gsm.jsonl" <<'J'
{"question": "Q0?", "answer": "Work.\n#### 18"}
{"question": "Q1?", "answer": "Work.\n#### 1,234"}
{"question": "Q2?", "answer": "Work.\n#### 8"}
J
cat >"$SCRATCH/gsm-answers.jsonl" <<'J'
{"doc_id": 0, "completion": " 9 + 9 = 18.\n#### 18"}
{"doc_id": 1, "completion": " The answer is $1,234."}
{"doc_id": 2, "completion": " #### 7"}
J
printf 'g replay:gsm-answers.jsonl\n' >"$SCRATCH/gsm.txt"
run "$hfeval" run "$gs" --models "$SCRATCH/gsm.txt" --set data="$SCRATCH/gsm.jsonl" \
    --set shots=2 --out "$SCRATCH/r5"
is "$rc" 0 "gsm8k runs through replay"
like "$out" '^g +gsm8k +exact_match:strict +0\.3333 ' "strict: only '#### 18' counts"
like "$out" '^g +gsm8k +exact_match:flexible +0\.6667 ' "flexible: the last number, commas and \$ ignored"
run "$hfeval" run "$gs" --models "$SCRATCH/gsm.txt"
is "$rc" 5 "gsm8k without its data: exit 5"
like "$err" "gsm8k.lua needs its data: --set data=" "and says what to give it"

# A rolling task: corpus perplexity and bits per byte from the recorded
# log-likelihoods (exp(6/4) = 4.4817; 6 nats over 12 bytes = 0.7213 bits).
cat >"$SCRATCH/roll.lua" <<'L'
return { name = "roll", tasks = { {
    name = "text", kind = "rolling", docs = { { t = "abcdef" }, { t = "ghijkl" } },
    text = function(d) return d.t end } } }
L
cat >"$SCRATCH/roll.jsonl" <<'J'
{"prompt": "abcdef", "logprob": -2.5, "n_tokens": 2, "n_bytes": 6}
{"prompt": "ghijkl", "logprob": -3.5, "n_tokens": 2, "n_bytes": 6}
J
printf 'r replay:roll.jsonl\n' >"$SCRATCH/roll.txt"
run "$hfeval" run "$SCRATCH/roll.lua" --models "$SCRATCH/roll.txt" --out "$SCRATCH/r6"
is "$rc" 0 "a rolling task runs"
like "$out" '^r +text +ppl_token +4\.4817 +- +2$' "token perplexity over the corpus"
like "$out" '^r +text +bits_per_byte +0\.7213 +- +2$' "bits per byte"
printf 'b %s/base.gguf\n' "$HFEVAL_FIXTURES" >"$SCRATCH/roll2.txt"
run "$hfeval" run "$SCRATCH/roll.lua" --models "$SCRATCH/roll2.txt" --out "$SCRATCH/r7"
is "$rc" 0 "and through the engine"
like "$out" '^b +text +ppl_token +[0-9]+\.[0-9]+ ' "with a perplexity"

# HellaSwag in llama.cpp's layout, bzip2-compressed, through the engine.
if [ -f "${HFEVAL_DATA:-$HFEVAL_SRC/../shared/data}/hellaswag_val_full.txt.bz2" ]; then
    run "$hfeval" run "$HFEVAL_SRC/suites/hellaswag.lua" --models "$SCRATCH/roll2.txt" \
        --set data="${HFEVAL_DATA:-$HFEVAL_SRC/../shared/data}/hellaswag_val_full.txt.bz2" \
        --limit 8 --out "$SCRATCH/r8"
    is "$rc" 0 "hellaswag.lua reads the .bz2 data and runs"
    like "$out" '^b +hellaswag +acc_tok +[0-9.]+ +[0-9.]+ +8$' "acc_tok over 8 tasks"
else
    echo "ok $((_n + 1)) # SKIP no HellaSwag data"; echo "ok $((_n + 2)) # SKIP no HellaSwag data"
    _n=$((_n + 2))
fi
printf 'ctx\n1\na\nb\nc\nd\nctx2\n9\na\nb\nc\nd\n' | bzip2 >"$SCRATCH/hs-bad.txt.bz2"
run "$hfeval" run "$HFEVAL_SRC/suites/hellaswag.lua" --models "$SCRATCH/roll2.txt" \
    --set data="$SCRATCH/hs-bad.txt.bz2"
is "$rc" 6 "a bad HellaSwag line: exit 6 (data)"
like "$err" "hs-bad.txt.bz2:8: expected the gold ending's index \(0-3\), got \"9\"" \
    "names the file and line of the bzip2 data"

# Several samples a prompt: take-first, majority vote, pass@k (unbiased:
# 2 of 3 right gives pass@1 = 2/3, pass@2 = 1), a check() function, and
# metrics written in Lua.
cat >"$SCRATCH/samp.lua" <<'L'
local docs = { { q = "2+3", a = "5" }, { q = "1+1", a = "2" } }
local function task(name, extra)
    local t = { name = name, kind = "generate", docs = docs, samples = 3,
        prompt = function(d) return d.q end, target = function(d) return d.a end,
        pass_at = { 1, 2 }, extract = "(\\d+)" }
    for k, v in pairs(extra) do t[k] = v end
    return t
end
return { name = "samp", tasks = {
    task("s", {}),
    task("c", { check = function(doc, text) return text:find("ok") ~= nil end,
        filters = { "majority" }, match = "\\bok$",
        metrics = { len = function(doc, out) return #out.texts[1] end,
                    right = function(doc, out) return out.answer == doc.a end } }),
} }
L
: >"$SCRATCH/samp.jsonl"
for t in s c; do
    i=0
    for a in "5 ok" 5 4 1 "2 ok" 2; do
        printf '{"doc_id": %d, "task": "%s", "sample": %d, "completion": "%s"}\n' \
            $((i / 3)) $t $((i % 3)) "$a" >>"$SCRATCH/samp.jsonl"
        i=$((i + 1))
    done
done
printf 'p replay:samp.jsonl\n' >"$SCRATCH/samp.txt"
run "$hfeval" run "$SCRATCH/samp.lua" --models "$SCRATCH/samp.txt" --out "$SCRATCH/r9"
is "$rc" 0 "a task with three samples a prompt runs"
like "$out" '^p +s +exact_match +0\.5000 +0\.5000 +2$' "take-first: the first sample's answer"
like "$out" '^p +s +maj@3 +1\.0000 +0\.0000 +2$' "majority vote over the three"
like "$out" '^p +s +pass@1 +0\.6667 +0\.0000 +2$' "pass@1 = c/n"
like "$out" '^p +s +pass@2 +1\.0000 +0\.0000 +2$' "pass@2 by the unbiased estimator"
like "$out" '^p +c +pass@1 +0\.3333 +0\.0000 +2$' "check() decides pass@k where given"
unlike "$out" '^p +c +exact_match ' "filters = { \"majority\" } drops take-first"
like "$out" '^p +c +len +2\.5000 +1\.5000 +2$' "a metric written in Lua"
like "$out" '^p +c +right +0\.5000 ' "a Lua metric returning a boolean"
like "$out" '^p +c +regex_match +0\.5000 ' "regex_match: the first sample matches the pattern"
like "$(sed -n 3p "$SCRATCH/r9/samples.jsonl")" '"outputs":\["5 ok","5","4"\]' "the record keeps every sample"

bad chat.lua $'return { name = "x", tasks = { { name = "t", kind = "choice", chat = true,\n docs = {}, prompt = function(d) return "" end } } }\n' \
    "chat.lua: task 't': 'chat', 'timing' and 'samples' are for generate tasks, this one is a choice task" "chat on a choice task"
bad passk.lua $'return { name = "x", tasks = { { name = "t", kind = "generate", samples = 2,\n pass_at = { 3 }, docs = {}, prompt = function(d) return "" end } } }\n' \
    "passk.lua: task 't': a value of 'pass_at' must be an integer k from 1 to the task's samples, got number" "pass@k beyond the samples"
cat >"$SCRATCH/lm.lua" <<'L'
return { name = "x", tasks = { { name = "t", kind = "generate", docs = { { q = "2+3", a = "5" } },
    prompt = function(d) return d.q end, target = function(d) return d.a end,
    metrics = { bad = function(doc, out) return "yes" end } } } }
L
printf '{"doc_id": 0, "completion": "5"}\n' >"$SCRATCH/lm.jsonl"
printf 'l replay:lm.jsonl\n' >"$SCRATCH/lm.txt"
run "$hfeval" run "$SCRATCH/lm.lua" --models "$SCRATCH/lm.txt" --out "$SCRATCH/r10"
is "$rc" 5 "a Lua metric returning a string fails the task: exit 5"
like "$err" "lm.lua: task 't', document 0: metrics.bad must return a number or a boolean, got string" \
    "and says what it must return"

# fidelity.lua and speed.lua over a piece of the fixture lineage.
fx=$HFEVAL_FIXTURES
printf 'b %s/base.gguf\nq %s/q8_0.gguf base=b\nf %s/finetune.gguf base=b\n' "$fx" "$fx" "$fx" >"$SCRATCH/fid.txt"
run "$hfeval" run "$HFEVAL_SRC/suites/fidelity.lua" --models "$SCRATCH/fid.txt" --out "$SCRATCH/r11"
is "$rc" 0 "fidelity.lua runs over a base and two children"
like "$out" '^b +fidelity +ppl_token ' "the base: perplexity"
unlike "$out" '^b +fidelity +kld ' "the base: no KLD against itself"
like "$out" '^q +fidelity +kld +[0-9.e+-]+ +[0-9.e+-]+ +[0-9]+$' "a child: mean KLD with its standard error"
like "$out" '^q +fidelity +same_top +(1\.0000|0\.9[0-9]+) ' "q8_0 agrees with the base on most top tokens"
like "$out" '^f +fidelity +delta_p ' "the second child is compared with the same kept base"
run "$hfeval" run "$HFEVAL_SRC/suites/speed.lua" --models "$SCRATCH/roll2.txt" \
    --set lengths=8,32 --set gen=8 --set reps=2 --out "$SCRATCH/r12"
is "$rc" 0 "speed.lua runs"
like "$out" '^b +speed_p32 +prompt_tok_s +[0-9.]+ +[0-9.]+ +2$' "prompt tokens per second"
like "$out" '^b +speed_p32 +decode_tok_s +[0-9.]+ ' "decode tokens per second"
like "$out" '^b +speed_p8 +ttft_ms +[0-9.]+ ' "time to first token"
like "$out" '^b +speed_p8 +weights_mib +[0-9.]+ +- +1$' "the weights' size"

run "$hfeval" run "$suite"
is "$rc" 2 "no --models: exit 2"
done_testing
