#!/usr/bin/env bash
# The run's cache (core/run/cache.h, reuse.h) on the demo lineage: a CI
# sequence (a baseline with fidelity, a gate on a new derivative, the
# derivative's full row) opens the base once in all, as llama.cpp's own
# loader says; every number equals a one-process run without the cache;
# a changed option, model file or engine build is a miss; a truncated,
# corrupt or foreign entry is said, removed and recomputed; the bound
# evicts the least recently used; --no-cache and HFEVAL_NO_CACHE=1 write
# nothing.
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES
src=$HFEVAL_SRC
suites=("$src/suites/arith.lua" "$src/suites/fidelity.lua")
cd "$SCRATCH" || exit 1
list() { # FILE NAME PATH [NAME PATH [OPTS]]...
    local f=$1
    shift
    : >"$f"
    while [ $# -ge 2 ]; do
        echo "$1 $2${3:+ $3}" >>"$f"
        shift 3 2>/dev/null || shift $#
    done
}
list lineage.txt demo-base "$fx/demo-base.gguf" "" demo-q8 "$fx/demo-q8_0.gguf" base=demo-base
list cand.txt demo-base "$fx/demo-base.gguf" "" demo-q2k "$fx/demo-q2_k.gguf" base=demo-base
# cache RUN MODEL KEY: a model's models[].cache field ("" when absent)
cache() {
    perl -MJSON::PP -e 'local $/; open my $f, "<", "$ARGV[0]/run.json" or die;
        for my $m (@{decode_json(<$f>)->{models}}) {
            next unless $m->{name} eq $ARGV[1]; my $c = $m->{cache} or exit;
            my $v = $c->{$ARGV[2]}; print ref $v ? ($v ? "true" : "false") : $v // "" }' "$@"
}
# results RUN: every result, exactly, a line each
results() {
    perl -MJSON::PP -e 'local $/; open my $f, "<", "$ARGV[0]/run.json" or die;
        my @r = map { sprintf "%s %s %s %.17g", @$_{qw(model task metric)}, $_->{value} // "nan" }
            @{decode_json(<$f>)->{results}}; print join("\n", sort @r), "\n"' "$1"
}
# opens ERR PATH: llama.cpp's loader lines for that file
opens() { grep -c "llama_model_loader: loaded meta data .* from .*/$2" "$1"; }
gate=(--gate base --baseline-model demo-base --max-drop arith_gen:exact_match=0.02 --block 8)

# --- the CI sequence -----------------------------------------------------------
HFEVAL_LOG=4 run "$hfeval" run "${suites[@]}" --models lineage.txt --cache C --out base
is "$rc" 0 "the baseline: base and Q8_0, arithmetic and fidelity"
echo "$err" >base.err
is "$(cache base demo-base opened):$(cache base demo-base distributions)" true:computed \
    "run.json: the base opened, its distributions computed"
HFEVAL_LOG=4 run "$hfeval" run "$src/suites/arith.lua" "$src/suites/fidelity.lua" \
    --models cand.txt --cache C --out g "${gate[@]}"
is "$rc" 0 "the gate on the new derivative, Q2_K"
echo "$err" >g.err
like "$out" "^gate: demo-q2k against demo-base" "its verdict line"
is "$(cache g demo-base opened):$(cache g demo-base answers_asked)" false:0 \
    "the gate: the base not opened, no answer of it asked"
is "$(cache g demo-base answers_cached)" 24 "its 24 answers from the cache"
HFEVAL_LOG=4 run "$hfeval" run "${suites[@]}" --models cand.txt --cache C --out row
is "$rc" 0 "the derivative's full row"
echo "$err" >row.err
is "$(cache row demo-base opened):$(cache row demo-base distributions)" false:cache \
    "the base not opened: its distributions from the cache"
is "$(cat base.err g.err row.err | opens /dev/stdin demo-base.gguf)" 1 \
    "llama.cpp loaded demo-base.gguf once across the three commands"
is "$(opens row.err demo-q2_k.gguf)" 1 "and the derivative, which has no answers kept for fidelity, once"
run "$hfeval" run "${suites[@]}" --models cand.txt --no-cache --out ref
is "$rc" 0 "the same row in one process, without the cache"
is "$(cache ref demo-base key)" "" "run.json: no cache field without the cache"
is "$(results row)" "$(results ref)" "every result equal, to the last digit (Q2_K's KLD among them)"
like "$(results row)" "demo-q2k fidelity kld 0\.[0-9]" "Q2_K's KLD is there"
# a kept answer keeps its timings: those of the run that asked it
plain() { sed 's/,"cached":true//; s/,"ttft_ms":[0-9.e+-]*//; s/,"latency_ms":[0-9.e+-]*//' "$1"; }
is "$(plain row/samples.jsonl)" "$(plain ref/samples.jsonl)" \
    "every record equal, but for the cached marks and the timings"
is "$(grep -c '"model":"demo-base".*"cached":true' row/samples.jsonl)" \
    "$(grep -c '"model":"demo-base"' row/samples.jsonl)" "the base's records all say cached"
is "$(grep '"model":"demo-q2k"' row/samples.jsonl | grep -c '"cached":true')" 24 \
    "Q2_K's: the 24 the gate asked"
run "$hfeval" run "${suites[@]}" --models cand.txt --cache C --out row2
is "$(cache row2 demo-q2k answers_asked)" 1 "a second run asks Q2_K only its fidelity text"

# --- a changed option, file or engine build is a miss ---------------------------
list opt.txt demo-base "$fx/demo-base.gguf" parallel=8
run "$hfeval" run "$src/suites/arith.lua" --models opt.txt --cache C --out opt
is "$(cache opt demo-base opened):$(cache opt demo-base answers_asked)" true:120 \
    "parallel=8: another key, every answer asked"
cp "$fx/demo-base.gguf" m.gguf
list file.txt m m.gguf
run "$hfeval" run "$src/suites/arith.lua" --models file.txt --cache C --out f1
touch -d '2001-01-01' m.gguf
run "$hfeval" run "$src/suites/arith.lua" --models file.txt --cache C --out f2
is "$(cache f2 m opened):$(cache f2 m answers_cached)" false:120 \
    "the same file with another time: hashed again, the same key"
is "$(cache f1 m key)" "$(cache base demo-base key)" "and the base's key: a file is known by its content"
cp "$fx/demo-math.gguf" m.gguf
run "$hfeval" run "$src/suites/arith.lua" --models file.txt --cache C --out f3
is "$(cache f3 m opened):$(cache f3 m answers_asked)" true:120 "another file at that path: every answer asked"
run "$hfeval" run "$src/suites/arith.lua" --models file.txt --no-cache --out f4
is "$(results f3)" "$(results f4)" "and they are the fine-tune's, not the base's"
mkdir plug
cp "$HFEVAL_PLUGIN_DIR/hfe-llama.so" plug/
printf 'x' >>plug/hfe-llama.so # still loads: another engine build
HFEVAL_PLUGIN_PATH=$SCRATCH/plug run "$hfeval" run "$src/suites/arith.lua" --models file.txt \
    --cache C --out f5
is "$rc" 0 "a changed module runs"
is "$(cache f5 m opened):$(cache f5 m answers_asked)" true:120 "another engine build: every answer asked"

# --- a bad entry is said, removed and computed again ---------------------------
entry() { find C/"$1" -type f -name '[0-9a-f]*' | head -1; }
fid=$(entry fid)
truncate -s 100 "$fid"
HFEVAL_LOG=4 run "$hfeval" run "${suites[@]}" --models cand.txt --cache C --out t1
is "$rc" 0 "a truncated distributions entry: the run goes on"
like "$err" "cache entry $fid: truncated .*computed again" "and says which entry and why"
is "$(cache t1 demo-base opened):$(cache t1 demo-base distributions)" true:computed \
    "the base opened, its distributions computed again"
is "$(results t1)" "$(results ref)" "every result equal all the same"
run "$hfeval" run "${suites[@]}" --models cand.txt --cache C --out t2
is "$(cache t2 demo-base distributions)" cache "the entry written anew, and used"
run "$hfeval" run "${suites[@]}" --models lineage.txt --cache K --out k1
flip() { perl -e 'for (@ARGV) { open my $f, "+<", $_ or die; seek $f, 40, 0; read $f, my $c, 1;
    seek $f, 40, 0; print $f chr(ord($c) ^ 1) }' "$@"; }
flip $(find K/answers -type f)
run "$hfeval" run "${suites[@]}" --models lineage.txt --cache K --out t3
like "$err" "cache entry K/answers/[0-9a-f/]+: corrupt \(its CRC-32 does not match\)" \
    "a flipped bit in each answers entry: the CRC-32 finds it"
is "$(grep -c 'corrupt (its CRC-32' <<<"$err")" "$(find K/answers -type f | wc -l)" "in each of them"
run "$hfeval" run "${suites[@]}" --models lineage.txt --no-cache --out t4
is "$(results t3)" "$(results t4)" "the answers computed again equal"
for f in $(find K/answers -type f); do echo 'not an entry' >"$f"; done
run "$hfeval" run "${suites[@]}" --models lineage.txt --cache K --out t5
like "$err" "cache entry K/answers/[0-9a-f/]+: not a cache entry" "a foreign file: said"
is "$(results t5)" "$(results t4)" "and not used"
run "$hfeval" run "${suites[@]}" --models lineage.txt --cache K --out t6
is "$(cache t6 demo-q8 answers_asked):$(cache t6 demo-q8 opened)" 1:true \
    "the entries written anew: only the fidelity text asked again"

# --- the bound: least recently used first ---------------------------------------
list q8.txt demo-q8 "$fx/demo-q8_0.gguf"
list b.txt demo-base "$fx/demo-base.gguf"
size() { find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
run "$hfeval" run "$src/suites/arith.lua" --models q8.txt --cache Q --out q
s8=$(size Q/answers Q/fid Q/info Q/digest)
run "$hfeval" run "$src/suites/arith.lua" --models b.txt --cache L --out l1
# the bound: Q8_0's own entries (their timings' digits may differ a little),
# less than those and the base's newest
max=$((s8 + 64))
run "$hfeval" run "$src/suites/arith.lua" --models q8.txt --cache L --cache-max "$max" --out l2
is "$rc" 0 "a run with a bound of $max bytes"
[ "$(size L/answers L/fid L/info L/digest)" -le "$max" ]
ok $? "the cache within it after the run"
run "$hfeval" run "$src/suites/arith.lua" --models q8.txt --cache L --out l3
is "$(cache l3 demo-q8 answers_asked)" 0 "what the last run used is kept"
run "$hfeval" run "$src/suites/arith.lua" --models b.txt --cache L --out l4
is "$(cache l4 demo-base answers_asked)" 120 "what it did not use is gone first"
run "$hfeval" run "${suites[@]}" --models lineage.txt --cache S --cache-max 1M --out s
is "$(find S/fid -type f | wc -l)" 0 "an entry larger than the bound is not kept"

# --- what is never taken from it -----------------------------------------------
run "$hfeval" run "$src/suites/speed.lua" --models b.txt --cache C --out sp1
run "$hfeval" run "$src/suites/speed.lua" --models b.txt --cache C --out sp2
is "$(cache sp2 demo-base opened):$(cache sp2 demo-base answers_cached)" true:0 \
    "a timing task measures the machine now: nothing from the cache"
[ "$(cache sp2 demo-base answers_asked)" -gt 0 ]
ok $? "every request of it asked again"
touch ro
run "$hfeval" run "$src/suites/arith.lua" --models b.txt --cache ro/c --out ro1
is "$rc" 0 "a cache that cannot be made (a file in its way): the run goes on"
like "$err" "cache directory ro/c: .*running without the cache" "and says so"

# --- off ------------------------------------------------------------------------
run "$hfeval" run "$src/suites/arith.lua" --models b.txt --cache N --no-cache --out n1
is "$rc" 2 "--cache and --no-cache together: exit 2"
mkdir home
HOME=$SCRATCH/home XDG_CACHE_HOME= HFEVAL_CACHE= HFEVAL_NO_CACHE= run "$hfeval" run "$src/suites/arith.lua" \
    --models b.txt --out n2
is "$(find home/.cache/hfeval/answers -type f | wc -l)" 2 "by default: ~/.cache/hfeval, a task's answers an entry"
HOME=$SCRATCH/home XDG_CACHE_HOME= HFEVAL_CACHE= HFEVAL_NO_CACHE=1 run "$hfeval" run "$src/suites/arith.lua" \
    --models b.txt --out n3
is "$(cache n3 demo-base key)" "" "HFEVAL_NO_CACHE=1: none"
HOME=$SCRATCH/home HFEVAL_CACHE=$SCRATCH/root HFEVAL_NO_CACHE= run "$hfeval" run "$src/suites/arith.lua" \
    --models b.txt --out n5
is "$(find root/answers -type f | wc -l)" 2 "HFEVAL_CACHE=DIR: there, beside llama.sh's builds"
run "$hfeval" run "$src/suites/arith.lua" --models b.txt --cache-max 12Q --out n4
is "$rc" 2 "--cache-max 12Q: exit 2"
like "$err" "--cache-max needs a size" "and says what it needs"
done_testing
