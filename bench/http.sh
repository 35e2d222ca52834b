#!/usr/bin/env bash
# The http backend's throughput against a plain load generator: one
# llama-server (-np 4, the fixture base, or MODEL.gguf) answers the same N
# generation requests (greedy, N_PREDICT tokens, streamed) twice: sent by
# `hfeval run` through the http backend, and by curl --parallel with 4 in
# flight.  Prints requests/s of each, their ratio (goal >= 0.9), and the
# harness's CPU time per request.
#
#   bench/http.sh [MODEL.gguf]      N=400 N_PREDICT=16 THREADS=2
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HFEVAL_BUILD:-$root/build}
. "$build/test-env.sh"
model=${1:-$HFEVAL_FIXTURES/base.gguf}
n=${N:-400}
np=${N_PREDICT:-16}
threads=${THREADS:-2}
tmp=$(mktemp -d)
port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
"$HFEVAL_LLAMA_BIN/llama-server" -m "$model" --host 127.0.0.1 --port "$port" -np 4 \
    -c 4096 -fa off -t "$threads" --no-webui >"$tmp/server.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.2
done

# N prompts, each its own (no two share a cache entry), and the same
# requests as the backend sends them: native /completion, streamed
T=$tmp perl -MJSON::PP -e 'my ($n, $np, $url) = @ARGV; my $j = JSON::PP->new->canonical;
    open my $d, ">", "$ENV{T}/prompts.jsonl" or die; open my $c, ">", "$ENV{T}/curl.cfg" or die;
    for my $i (0 .. $n - 1) {
        my $p = "Request $i: count the letters in the word number $i, then say why.";
        print $d $j->encode({id => "r$i", p => $p}), "\n";
        print $c "next\n" if $i;
        print $c "url = \"$url\"\nheader = \"Content-Type: application/json\"\noutput = /dev/null\n",
            "data = ", $j->encode($j->encode({prompt => $p, n_predict => $np + 0, temperature => 0,
            stream => JSON::PP::true, cache_prompt => JSON::PP::true})), "\n";
    }' "$n" "$np" "http://127.0.0.1:$port/completion"
cat >"$tmp/gen.lua" <<EOF
return { name = "bench", tasks = { { name = "gen", kind = "generate",
  docs = hfe.read_jsonl(hfe.set.data), id = function(d) return d.id end,
  prompt = function(d) return d.p end, target = function(d) return "" end,
  max_tokens = $np } } }
EOF
printf 'srv http://127.0.0.1:%s\n' "$port" >"$tmp/list.txt"

curl_run() {
    local t0 t1
    t0=$(date +%s.%N)
    curl -s --no-progress-meter --parallel --parallel-max 4 --config "$tmp/curl.cfg"
    t1=$(date +%s.%N)
    perl -e 'print $ARGV[1] - $ARGV[0]' "$t0" "$t1"
}
hfeval_run() { # prints wall and CPU seconds; hfeval's output in a log
    perl -MTime::HiRes=time -e '
        my $log = shift; open my $keep, ">&", \*STDOUT or die;
        open STDOUT, ">", $log or die; open STDERR, ">&", \*STDOUT or die;
        my $t0 = time; my $rc = system(@ARGV); my $t1 = time;
        die "hfeval failed: see $log\n" if $rc;
        my (undef, undef, $cu, $cs) = times; printf $keep "%.4f %.4f", $t1 - $t0, $cu + $cs' \
        "$tmp/hfeval.$1.log" "$HFEVAL_BIN" run "$tmp/gen.lua" --set data="$tmp/prompts.jsonl" \
        --models "$tmp/list.txt" --out "$tmp/out.$1"
}

T=$tmp curl_run >/dev/null # warm-up: the same prompts, so both runs find them cached
read -r hw hc <<<"$(hfeval_run 1)"
cw=$(curl_run)
read -r hw2 hc2 <<<"$(hfeval_run 2)"
cw2=$(curl_run)
perl -e 'my ($n, $hw, $hc, $cw, $hw2, $hc2, $cw2) = @ARGV;
    my $h = ($hw + $hw2) / 2; my $c = ($cw + $cw2) / 2; my $cpu = ($hc + $hc2) / 2;
    printf "requests: %d, %s tokens each, llama-server -np 4, 4 in flight\n", $n, $ARGV[7];
    printf "curl --parallel: %.1f requests/s (%.2f s, %.2f s)\n", $n / $c, $cw, $cw2;
    printf "hfeval http:     %.1f requests/s (%.2f s, %.2f s)\n", $n / $h, $hw, $hw2;
    printf "ratio: %.3f\n", $c / $h;
    printf "hfeval CPU time: %.3f ms a request (user+sys, whole run: %.2f s)\n", 1e3 * $cpu / $n, $cpu' \
    "$n" "$hw" "$hc" "$cw" "$hw2" "$hc2" "$cw2" "$np"
