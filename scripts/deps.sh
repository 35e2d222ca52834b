#!/usr/bin/env bash
# Install the Debian packages hfeval builds and tests with (Chromium and a
# font for the HTML report's browser tests, Slurm and munge for the
# one-node cluster of tests/slurm.t among them).  As root it runs
# apt-get; otherwise it prints the exact command to run.
#   scripts/deps.sh [--print|--check]    (--check: exit 1 if any is missing)
set -euo pipefail

PKGS="build-essential cmake pkg-config git ca-certificates perl
liblua5.4-dev libcurl4-openssl-dev libcjson-dev libpcre2-dev libsqlite3-dev
zlib1g-dev libbz2-dev bzip2 libyaml-dev python3 python3-yaml python3-jsonschema python3-jinja2 curl
clang-format universal-ctags
chromium fonts-dejavu-core
slurmctld slurmd slurm-client munge"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# npm may come from Debian's npm or from a nodejs package that bundles it.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
[ "${1:-}" = --check ] && exit 1

cmd="apt-get install -y --no-install-recommends$missing"
if [ "${1:-}" = --print ] || [ "$(id -u)" != 0 ]; then
    echo "hfeval needs these Debian packages; run as root:" >&2
    echo "  apt-get update && $cmd" >&2
    [ "${1:-}" = --print ] && exit 0
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends$missing >/dev/null
