#!/usr/bin/env bash
# suites/coding.lua: HumanEval's canonical solutions pass 164 of 164 in the
# sandbox and bare prompts none; MBPP's reference code passes in the
# sandbox exactly where it passes under plain python3; our own 32
# problems' solutions pass; hostile completions are contained and scored
# as failures; bad data names its line.
. "$(dirname "$0")/lib.sh"
need_data HumanEval.jsonl.gz
need_data mbpp.jsonl
hfeval=$HFEVAL_BIN
suite=$HFEVAL_SRC/suites/coding.lua

# replay files: every problem answered with a field of its own
answers() { # jsonl(.gz) field out
    { case $1 in *.gz) gzip -dc "$1" ;; *) cat "$1" ;; esac; } |
        F=$2 perl -MJSON::PP -ne 'my $d = decode_json($_);
            print encode_json({item_id => "$d->{task_id}",
                               completion => $d->{$ENV{F}} // ""}), "\n"' >"$3"
}
pass() { # model
    printf '%s\n' "$out" | awk -v m="$1" '$1 == m && $3 == "pass@1" { print $4 "/" $6 }'
}

he=$HFEVAL_DATA/HumanEval.jsonl.gz
answers "$he" canonical_solution "$SCRATCH/canon.jsonl"
answers "$he" none "$SCRATCH/empty.jsonl"
printf 'canon replay:canon.jsonl\nempty replay:empty.jsonl\n' >"$SCRATCH/he.txt"
run "$hfeval" run "$suite" --models "$SCRATCH/he.txt" --set data="$he" --out "$SCRATCH/he"
is "$rc" 0 "HumanEval through replay runs"
is "$(pass canon)" "1.0000/164" "the canonical solutions pass 164 of 164"
is "$(pass empty)" "0.0000/164" "the bare prompts pass none"
like "$(head -1 "$SCRATCH/he/samples.jsonl")" '"exec":\{"sandbox":"[a-z,]+","timeout_s":4\.000,"reference":"ok","runs":\[\{"status":"ok"' \
    "each record says how its program ran, in which sandbox"

# MBPP: the reference code, in the sandbox and under plain python3, both
# with a 30 s timeout (a few take seconds)
# (all 974; on a sanitizer build, whose C is the same, the first 200)
nmb=974
[ "${HFEVAL_SANITIZE:-OFF}" = ON ] && nmb=200
head -n "$nmb" "$HFEVAL_DATA/mbpp.jsonl" >"$SCRATCH/mbpp-data.jsonl"
mb=$SCRATCH/mbpp-data.jsonl
answers "$mb" code "$SCRATCH/mbpp.jsonl"
printf 'ref replay:mbpp.jsonl\n' >"$SCRATCH/mb.txt"
run "$hfeval" run "$suite" --models "$SCRATCH/mb.txt" --set data="$mb" --set references=0 --set timeout=30 \
    --out "$SCRATCH/mb"
is "$rc" 0 "MBPP through replay runs"
perl -MJSON::PP -ne 'my $r = decode_json($_); print "$r->{item_id} $r->{metrics}{q{pass@1}}\n"' \
    "$SCRATCH/mb/samples.jsonl" | sort >"$SCRATCH/inside"
mkdir -p "$SCRATCH/plain"
D=$SCRATCH/plain perl -MJSON::PP -ne 'my $d = decode_json($_);
    open my $f, ">:utf8", "$ENV{D}/$d->{task_id}.py" or die;
    print $f $d->{code}, "\n", $d->{test_setup_code} // "", "\n",
        join("\n", @{$d->{test_list}}), "\n"' "$mb"
py=$(PATH=/usr/bin:/bin command -v python3) # the sandbox's own
(cd "$SCRATCH/plain" && for f in *.py; do
    if timeout 30 "$py" -I "$f" >/dev/null 2>&1; then echo "${f%.py} 1"; else echo "${f%.py} 0"; fi
done) | sort >"$SCRATCH/outside"
is "$(wc -l <"$SCRATCH/inside")" "$nmb" "every MBPP problem ran in the sandbox ($nmb)"
diff "$SCRATCH/inside" "$SCRATCH/outside" >"$SCRATCH/diff"; rcd=$?; sed "s/^/# /" "$SCRATCH/diff" | head -20
ok $rcd "each passes in the sandbox exactly when it passes under plain python3 ($(grep -c ' 1$' "$SCRATCH/outside") of $nmb do)"

# our own problems: every solution right
own=$HFEVAL_SRC/suites/data/coding.jsonl
answers "$own" canonical_solution "$SCRATCH/own.jsonl"
printf 'own replay:own.jsonl\n' >"$SCRATCH/own.txt"
run "$hfeval" run "$suite" --models "$SCRATCH/own.txt" --out "$SCRATCH/own"
is "$(pass own)" "1.0000/32" "the 32 problems written for hfeval: their solutions pass"

# hostile completions, as a model would write them, on the first seven
{
    printf '{"item_id": "hfeval/0", "completion": "    import os\\n    while True:\\n        try:\\n            os.fork()\\n        except OSError:\\n            pass\\n"}\n'
    printf '{"item_id": "hfeval/1", "completion": "    while True:\\n        pass\\n"}\n'
    printf '{"item_id": "hfeval/2", "completion": "    x = bytearray(10 * 1024 ** 3)\\n"}\n'
    printf '{"item_id": "hfeval/3", "completion": "    open(\\"%s/escaped\\", \\"w\\").write(\\"x\\")\\n"}\n' "$SCRATCH"
    printf '{"item_id": "hfeval/4", "completion": "    import socket\\n    socket.create_connection((\\"1.1.1.1\\", 80), timeout=1)\\n"}\n'
    printf '{"item_id": "hfeval/5", "completion": "    import os, signal\\n    os.kill(os.getppid(), signal.SIGKILL)\\n    os.kill(%d, signal.SIGKILL)\\n"}\n' $$
    printf '{"item_id": "hfeval/6", "completion": "    import sys\\n    for _ in range(1024):\\n        sys.stdout.write(\\"x\\" * 1048576)\\n"}\n'
} >"$SCRATCH/hostile.jsonl"
printf 'hostile replay:hostile.jsonl\n' >"$SCRATCH/hostile.txt"
run "$hfeval" run "$suite" --models "$SCRATCH/hostile.txt" --limit 7 --set timeout=1 --out "$SCRATCH/ho"
is "$rc" 0 "seven hostile completions: the run ends normally"
is "$(pass hostile)" "0.0000/7" "each is scored a failure"
statuses=$(perl -MJSON::PP -ne 'print decode_json($_)->{exec}{runs}[0]{status}, " "' "$SCRATCH/ho/samples.jsonl")
is "$statuses" "timeout timeout memory exit exit exit output " \
    "fork bomb, loop: timeout; 10 GB: memory; write, connect, kill: exit; 1 GB out: output"
ok "$([ ! -e "$SCRATCH/escaped" ]; echo $?)" "nothing was written outside"

# bad data
printf '{"task_id": "x/0", "prompt": "def f():\\n", "test": "", "entry_point": "f"}\n{"task_id": "x/1", "question": "?"}\n' \
    >"$SCRATCH/bad.jsonl"
run "$hfeval" run "$suite" --models "$SCRATCH/own.txt" --set data="$SCRATCH/bad.jsonl"
is "$rc" 5 "a problem of neither format: exit 5"
like "$err" "bad.jsonl:2: expected HumanEval's fields .* or MBPP's" "names the file and line"
done_testing
