#!/usr/bin/env bash
# The code sandbox's throughput: HumanEval's 164 canonical solutions as
# programs (prompt + solution + test + check), run by `hfeval run
# suites/coding.lua` through replay, against plain `python3 -I` run one
# after another.  The suite's reference pass is switched off, so each
# program runs once.  Prints programs per second and the ratio.
#
#   bench/sandbox.sh            (from a built tree; needs ../shared/data)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hfeval=${HFEVAL_BIN:-$root/build/bin/hfeval}
export HFEVAL_PLUGIN_DIR=${HFEVAL_PLUGIN_DIR:-$root/build/lib/hfeval}
data=${HFEVAL_DATA:-$root/../shared/data}/HumanEval.jsonl.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gzip -dc "$data" | perl -MJSON::PP -ne 'my $d = decode_json($_);
    print encode_json({item_id => $d->{task_id}, completion => $d->{canonical_solution}}), "\n"' \
    >"$tmp/canon.jsonl"
mkdir "$tmp/plain"
gzip -dc "$data" | D=$tmp/plain perl -MJSON::PP -ne 'my $d = decode_json($_);
    (my $n = $d->{task_id}) =~ s{/}{_};
    open my $f, ">:utf8", "$ENV{D}/$n.py" or die;
    print $f $d->{prompt}, $d->{canonical_solution}, "\n", $d->{test}, "\n", "check($d->{entry_point})\n"'
printf 'canon replay:%s/canon.jsonl\n' "$tmp" >"$tmp/list.txt"

# the interpreter the sandbox runs (its PATH is /usr/bin:/bin)
py=$(PATH=/usr/bin:/bin command -v python3)
t0=$(date +%s.%N)
(cd "$tmp/plain" && for f in *.py; do "$py" -I "$f" >/dev/null 2>&1 || echo "fails: $f"; done)
t1=$(date +%s.%N)
"$hfeval" run "$root/suites/coding.lua" --models "$tmp/list.txt" --set data="$data" \
    --set references=0 --out "$tmp/out" >"$tmp/table"
t2=$(date +%s.%N)
grep pass@1 "$tmp/table"
perl -e 'printf "plain python3, one after another: %.1f programs/s (%.2f s)\n", 164 / ($ARGV[1] - $ARGV[0]), $ARGV[1] - $ARGV[0];
         printf "hfeval sandbox, %d at a time:      %.1f programs/s (%.2f s, the whole run)\n", $ARGV[3], 164 / ($ARGV[2] - $ARGV[1]), $ARGV[2] - $ARGV[1];
         printf "ratio: %.2f\n", ($ARGV[1] - $ARGV[0]) / ($ARGV[2] - $ARGV[1])' "$t0" "$t1" "$t2" "$(nproc)"
