#!/usr/bin/env bash
# The sequential gate (run --gate BASELINE) on the demo lineage, over 200
# arithmetic questions: Q2_K, which the full-length compare fails, is
# failed after a fraction of them; Q8_0, the math fine-tune and the base
# itself pass early.  The gate's answers are the full run's; its wealth
# is recomputed here from its records by the formula in core/run/gate.h;
# a resumed gate asks nothing again; misuse is exit 2.  The error rates
# are simulated in test_units.c (units.t).
. "$(dirname "$0")/lib.sh"
hfeval=$HFEVAL_BIN
fx=$HFEVAL_FIXTURES
arith=$HFEVAL_SRC/suites/arith.lua
data=(--set data="$fx/arith-range.jsonl")
cd "$SCRATCH" || exit 1
for m in base q8_0 q2_k math; do
    echo "demo-$m $fx/demo-$m.gguf" >"$m.txt"
done
# field RUN KEY: the first model's gate field
field() {
    perl -MJSON::PP -e 'local $/; open my $f, "<", "$ARGV[0]/run.json" or die;
        my $g = decode_json(<$f>)->{models}[0]{gate}; print $g->{$ARGV[1]} // ""' "$1" "$2"
}

run "$hfeval" run "$arith" --models base.txt "${data[@]}" --out base
is "$rc" 0 "the baseline: the base on 200 questions"
run "$hfeval" run "$arith" --models q2_k.txt "${data[@]}" --out full
run "$hfeval" compare base full --max-drop exact_match=0 --alpha 0.05
is "$rc" 1 "the full-length compare fails Q2_K"
like "$out" '^not ok [0-9]+ - arith/arith_gen exact_match: .*200 paired' "on arith_gen's exact match, all 200 items"

# --- a regression, failed early ---------------------------------------------
gate=(--gate base --max-drop arith_gen:exact_match=0 --block 16)
run "$hfeval" run "$arith" --models q2_k.txt "${data[@]}" "${gate[@]}" --out g
is "$rc" 1 "the gate fails Q2_K: exit 1"
n=$(field g items)
like "$out" "^gate: demo-q2_k against demo-base on arith/arith_gen exact_match: FAIL after $n of 200 items" \
    "and says so, with the items it used"
[ "$n" -ge 16 ] && [ "$n" -le 100 ] && [ $((n % 16)) = 0 ]
ok $? "after $n of 200 items, whole blocks of 16: half the items or fewer"
is "$(field g verdict)" fail "run.json: verdict fail"
d=$(field g decided_at)
[ "$d" -gt $((n - 16)) ] && [ "$d" -le "$n" ]
ok $? "decided at item $d, within the last block"
is "$(wc -l <g/samples.jsonl)" "$n" "a record an item used, no more"
is "$(grep -vc '"task":"arith_gen"' g/samples.jsonl)" 0 "of the gated task only"
like "$(awk '$2 == "exact_match"' <<<"$(awk '{ print $2, $3, $NF }' <<<"$out")")" " $n\$" \
    "the table's exact_match over those $n items"
# the same answers as the full run, item by item; down/up/drop and both
# wealths recomputed from the records and the baseline's
why=$(perl -MJSON::PP -e '
    my (%base, %full, @seq);
    sub recs { my ($f, $cb) = @_; open my $h, "<", $f or die "$f"; while (<$h>) { $cb->(decode_json($_)) } }
    recs("base/samples.jsonl", sub { $base{$_[0]{doc_id}} = $_[0]{metrics}{exact_match} if $_[0]{task} eq "arith_gen" });
    recs("full/samples.jsonl", sub { $full{$_[0]{doc_id}} = $_[0]{metrics}{exact_match} if $_[0]{task} eq "arith_gen" });
    recs("g/samples.jsonl", sub { push @seq, $_[0] });
    local $/; open my $r, "<", "g/run.json" or die; my $g = decode_json(<$r>)->{models}[0]{gate};
    my ($tol, $det) = ($g->{max_drop}, $g->{detect}); my $hi = $tol + $det;
    my ($n, $s, $s2, $lf, $lp, $down, $up) = (0) x 7;
    for my $x (@seq) {
        my $c = $x->{metrics}{exact_match};
        die "doc $x->{doc_id}: $c in the gate, $full{$x->{doc_id}} in the full run\n" if $c != $full{$x->{doc_id}};
        my $d = $base{$x->{doc_id}} - $c;
        my $m = ($s + $tol + $det / 2) / ($n + 1);
        my $v = (($n ? $s2 - $s * $s / $n : 0) + 0.25) / ($n + 1);
        my $bet = sub { my ($gap, $cap) = @_; $gap <= 0 ? 0 : do { my $b = $gap / ($v + $gap * $gap); $b < $cap ? $b : $cap } };
        my $l = $bet->($m - $tol, 0.5 / (1 + $tol));
        my $u = $bet->($hi - $m, 0.5 / (1 - $hi));
        $lf += log(1 + $l * ($d - $tol)); $lp += log(1 + $u * ($hi - $d));
        $n++; $s += $d; $s2 += $d * $d; $down += $d > 0; $up += $d < 0;
    }
    die "down $down up $up, run.json $g->{down} $g->{up}\n" if $down != $g->{down} || $up != $g->{up};
    die "drop\n" if abs($s / $n - $g->{drop}) > 1e-9;
    die sprintf("wealth %.9g %.9g, run.json %.9g %.9g\n", exp($lf), exp($lp), $g->{wealth_fail}, $g->{wealth_pass})
        if abs(exp($lf) / $g->{wealth_fail} - 1) > 1e-6 || abs(exp($lp) / $g->{wealth_pass} - 1) > 1e-6;
    die "fail wealth below 1/alpha\n" if exp($lf) < 1 / $g->{alpha};
    print "ok";
' 2>&1)
is "$why" ok "its answers are the full run's; drop, flips and both wealths recomputed from the records"

run "$hfeval" run "$arith" --models q2_k.txt "${data[@]}" "${gate[@]}" --gate-seed 2 --out g2
is "$rc" 1 "another seed: fails too"
first() { head -c 300 "$1/samples.jsonl" | sed -n 's/.*"doc_id":\([0-9]*\).*/\1/p' | head -1; }
[ "$(first g)" != "$(first g2)" ]
ok $? "in another order (first item $(first g) against $(first g2))"

# --- no regression: passed early ----------------------------------------------
for m in q8_0 math base; do
    run "$hfeval" run "$arith" --models $m.txt "${data[@]}" "${gate[@]}" --out "p$m"
    is "$rc" 0 "demo-$m passes: exit 0"
    like "$out" "^gate: demo-$m against demo-base .*: PASS after [0-9]+ of 200 items" \
        "after $(field "p$m" items) of 200 items"
done
is "$(field pbase drop)" 0 "the base against itself: no drop"

# --- code run in the sandbox: each block's references with it --------------
coding=$HFEVAL_SRC/suites/coding.lua
run "$hfeval" run "$coding" --models base.txt --out cbase
run "$hfeval" run "$coding" --models math.txt --out cfull
run "$hfeval" run "$coding" --models math.txt --gate cbase --block 8 --out cgate
is "$rc" 1 "coding: the math fine-tune, 10 problems down and none up, fails the gate"
like "$out" "FAIL after [0-9]+ of 32 items: drop 0\.3125 \(10 down, 0 up\)" "$(grep -o 'FAIL after [0-9]* of 32' <<<"$out")"
pass1() { perl -MJSON::PP -ne '$d = decode_json($_); print "$d->{doc_id} $d->{metrics}{q(pass@1)}\n"' "$1/samples.jsonl" | sort -n; }
is "$(pass1 cgate)" "$(pass1 cfull)" "each problem's pass@1 as in the full run"

# --- resumed: nothing asked again ----------------------------------------------
rm g/run.json g/samples.jsonl
HFEVAL_LOG=4 run "$hfeval" run --resume g
is "$rc" 1 "a gate resumed from its journal: the same verdict"
is "$(grep -c 'generate: ' <<<"$err")" 0 "with no request asked again (each block's journal key its own)"
is "$(field g items)" "$n" "on the same $n items"

# --- misuse ------------------------------------------------------------------
run "$hfeval" run "$arith" --models q2_k.txt --max-drop exact_match=0
is "$rc" 2 "--max-drop without --gate: exit 2"
like "$err" "an option of the gate" "which says so"
run "$hfeval" run "$arith" --models q2_k.txt "${data[@]}" --gate base
is "$rc" 2 "two tasks and none named: exit 2"
like "$err" "name the one to gate with --max-drop TASK:METRIC=D" "asks for one"
run "$hfeval" run "$arith" --models q2_k.txt "${data[@]}" --gate base --max-drop arith_gen:nosuch=0
is "$rc" 2 "a metric the baseline lacks: exit 2"
like "$err" "no nosuch on task arith/arith_gen" "named"
run "$hfeval" run "$arith" --models q2_k.txt "${data[@]}" --gate nowhere --max-drop arith_gen:exact_match=0
is "$rc" 2 "a baseline that is not a run: exit 2"
run "$hfeval" run "$HFEVAL_SRC/suites/fidelity.lua" --models q2_k.txt --gate base
is "$rc" 2 "a rolling task: exit 2"
like "$err" "not one of answers right or wrong" "the gate takes right-or-wrong tasks"
for bad in "--detect 1.5" "--alpha 0" "--block 0" "--gate-seed -1" "--max-drop arith_gen:exact_match=0.99"; do
    # shellcheck disable=SC2086
    run "$hfeval" run "$arith" --models q2_k.txt "${data[@]}" --gate base --max-drop arith_gen:exact_match=0 $bad
    is "$rc" 2 "$bad: exit 2"
done
done_testing
