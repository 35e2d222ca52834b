# lib.sh - TAP for the shell tests, and where the build is.
#
# Source it from a test:   . "$(dirname "$0")/lib.sh"
# It reads $HFEVAL_BUILD/test-env.sh (written by CMake; HFEVAL_BUILD
# defaults to ./build beside tests/) and gives:
#   ok COND_STATUS DESC        (ok $? "desc" after a command)
#   is GOT WANT DESC           like GOT WANT DESC  (WANT: a grep -E pattern)
#   unlike GOT PATTERN DESC    run CMD...  (sets $out, $err, $rc)
#   skip N REASON
#   done_testing               (checks the run records under $SCRATCH first)
HFEVAL_BUILD=${HFEVAL_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
if [ ! -f "$HFEVAL_BUILD/test-env.sh" ]; then
    echo "Bail out! no build in $HFEVAL_BUILD (run scripts/setup.sh first)"
    exit 1
fi
. "$HFEVAL_BUILD/test-env.sh"

_n=0
_failed=0
_scratch=$(mktemp -d "${TMPDIR:-/tmp}/hfeval-test.XXXXXX")
_pids=
trap 'kill -9 $_pids 2>/dev/null; rm -rf "$_scratch"' EXIT
SCRATCH=$_scratch
# runs record their history here, not in the checkout's results/
export HFEVAL_DB=$SCRATCH/history.db
# and reuse no answers between runs unless a test names a cache (--cache)
export HFEVAL_NO_CACHE=1

_result() { # pass desc
    _n=$((_n + 1))
    if [ "$1" = 1 ]; then
        echo "ok $_n - $2"
    else
        echo "not ok $_n - $2"
        _failed=$((_failed + 1))
        # prove shows a test's stderr, not its comments: what went wrong
        # reaches the CI log too
        if [ -s "$_scratch/err" ]; then
            echo "# not ok $_n: the last run's stderr ends:"
            tail -n 15 "$_scratch/err" | sed 's/^/#   /'
        fi >&2
    fi
}

ok() {
    if [ "$1" = 0 ]; then _result 1 "$2"; else _result 0 "$2"; fi
}

is() {
    if [ "$1" = "$2" ]; then
        _result 1 "$3"
    else
        _result 0 "$3"
        printf '#   expected: %s\n#        got: %s\n' "$2" "$1" >&2
    fi
}

like() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        _result 1 "$3"
    else
        _result 0 "$3"
        printf '#   expected to match: %s\n#                 got: %s\n' "$2" \
            "$(printf '%s' "$1" | head -c 2000)" >&2
    fi
}

unlike() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        _result 0 "$3"
        printf '#   expected not to match: %s\n' "$2" >&2
    else
        _result 1 "$3"
    fi
}

# skip N REASON: N tests that cannot run here, as TAP's "# SKIP".
skip() {
    local i
    for i in $(seq "$1"); do
        _n=$((_n + 1))
        echo "ok $_n # SKIP $2"
    done
}

# run CMD ARGS...: stdout in $out, stderr in $err, status in $rc.
run() {
    "$@" >"$_scratch/out" 2>"$_scratch/err"
    rc=$?
    out=$(cat "$_scratch/out")
    err=$(cat "$_scratch/err")
}

# Valid JSON (one document, or one per line with --lines)?
json_ok() {
    perl -MJSON::PP -e '
        local $/; my $t = <STDIN>; my $j = JSON::PP->new;
        if ($ARGV[0]) { $j->decode($_) for grep { length } split /\n/, $t }
        else { $j->decode($t) }' -- "${2:-}" <<<"$1" 2>/dev/null
}

# Every run record a test wrote under $SCRATCH is checked against the
# schemas in results/ before the plan: a test cannot write a record the
# schema does not describe.
done_testing() {
    local f kind schema why
    while IFS= read -r f; do
        case $f in
        */run.json) kind=run schema=run.schema.json ;;
        */items.jsonl) kind=item schema=item.schema.json ;;
        *) kind=sample schema=sample.schema.json ;;
        esac
        why=$(perl "$HFEVAL_SRC/tests/schema.pl" "$HFEVAL_SRC/results/$schema" "$f" \
            $([ $kind != run ] && echo --lines) 2>&1)
        ok $? "${f#"$SCRATCH"/}: matches results/$schema"
        [ -n "$why" ] && printf '# %s\n' "$why"
    done < <(find "$SCRATCH" \( -name run.json -o -name samples.jsonl -o -name items.jsonl \) \
        -size +0 | sort)
    echo "1..$_n"
    [ "$_failed" = 0 ]
}

# The public data sets beside the checkout (../shared/data), or
# $HFEVAL_DATA.  Missing data skips the test, except in CI, where it fails.
need_data() {
    HFEVAL_DATA=${HFEVAL_DATA:-$HFEVAL_SRC/../shared/data}
    [ -f "$HFEVAL_DATA/$1" ] && return 0
    if [ "${CI:-}" = true ]; then
        echo "Bail out! $HFEVAL_DATA/$1 is missing"
        exit 1
    fi
    echo "1..0 # SKIP $HFEVAL_DATA/$1 not found (set HFEVAL_DATA)"
    exit 0
}

# llama.cpp's own tools, the peers of the agreement tests.
need_peer() {
    [ -x "$HFEVAL_LLAMA_BIN/$1" ] && return 0
    if [ "${CI:-}" = true ]; then
        echo "Bail out! $HFEVAL_LLAMA_BIN/$1 is missing"
        exit 1
    fi
    echo "1..0 # SKIP no $1 beside the llama.cpp this build uses"
    exit 0
}

# A TCP port nobody listens on now.
free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport, "\n"'
}

# wait_http URL [SECONDS]: until URL answers 200 (30 s by default).
wait_http() {
    perl -MHTTP::Tiny -e '
        my ($url, $t) = @ARGV; my $h = HTTP::Tiny->new(timeout => 2);
        for (1 .. $t * 10) { exit 0 if $h->get($url)->{status} == 200;
                             select(undef, undef, undef, 0.1) }
        exit 1' "$1" "${2:-30}"
}

# start_server NAME PORT MODEL [ARGS...]: llama-server on loopback, its
# log in $SCRATCH/NAME.log, its pid in $server_pid; killed at exit.
start_server() {
    local name=$1 port=$2 model=$3
    shift 3
    "$HFEVAL_LLAMA_BIN/llama-server" -m "$model" --host 127.0.0.1 --port "$port" \
        --no-webui "$@" >"$SCRATCH/$name.log" 2>&1 &
    server_pid=$!
    disown "$server_pid" # killed at will, without a word from bash
    _pids="$_pids $server_pid"
    wait_http "http://127.0.0.1:$port/health" || {
        echo "# llama-server $name did not start:"
        sed 's/^/#   /' "$SCRATCH/$name.log" | tail -20
        return 1
    }
}
