#!/usr/bin/env bash
# The house style and the layering, kept by the machine (../shared's
# STYLE.md, README "Layout"): every C file as clang-format leaves it,
# section fences on one line within 79 columns, no function outside
# tests/ over 150 lines (Universal Ctags' end: field), no file under
# backends/http/ over 800 lines, no backend built from a core/ file or
# including a core header, the command line apart from the library.
. "$(dirname "$0")/lib.sh"
src=$HFEVAL_SRC
cd "$src" || exit 1
mapfile -t cfiles < <(find cli common core backends plugins tests \
    -name '*.[ch]' -not -path '*/corpus/*' | sort)

if command -v clang-format >/dev/null; then
    bad=$(for f in "${cfiles[@]}"; do
        clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
    done)
    is "$bad" "" "every C file is as clang-format leaves it (${#cfiles[@]} files)"
else
    skip 1 "no clang-format (scripts/deps.sh installs it)"
fi

bad=$(awk '/^\/\* (---|===)/ && (length > 79 || !/\*\/$/) { print FILENAME ":" FNR }' \
    "${cfiles[@]}")
is "$bad" "" "section fences are one line of at most 79 columns"

if command -v ctags >/dev/null && ctags --version 2>/dev/null | grep -q Universal; then
    long=$(ctags --fields=+ne --c-kinds=f -o - -R cli common core backends plugins |
        awk -F'\t' '{ l = e = 0
            for (i = 4; i <= NF; i++) {
                if ($i ~ /^line:/) l = substr($i, 6)
                if ($i ~ /^end:/) e = substr($i, 5)
            }
            if (e - l + 1 > 150) print $2 ":" $1 " " e - l + 1 }')
    is "$long" "" "no function outside tests/ is longer than 150 lines"
    n=$(ctags --fields=+ne --c-kinds=f -o - -R cli common core backends plugins | wc -l)
    [ "$n" -gt 100 ]
    ok $? "ctags sees the functions ($n)"
else
    skip 2 "no Universal Ctags (scripts/deps.sh installs universal-ctags)"
fi

big=$(wc -l backends/http/*.[ch] | awk '$2 != "total" && $1 > 800 { print $2 " " $1 }')
is "$big" "" "no file under backends/http/ is longer than 800 lines"

# a backend includes the plugin header and common/, never core/
incl=$(grep -ho '#include "[^"]*"' backends/*/*.[ch] plugins/*/*.c | sort -u |
    sed 's/#include "\(.*\)"/\1/' | while read -r h; do
        [ -e "backends/http/$h" ] || [ -e "backends/llama/$h" ] ||
            [ -e "plugins/$h" ] || [ -e "common/$h" ] || echo "$h"
    done)
is "$incl" "" "backends include only their own headers, the plugin header and common/"
# ... and is built from no core/ file: the sources CMake lists for each
# module target (hfe-*, engine/llama-*)
deps=$(ls "$HFEVAL_BUILD"/CMakeFiles/hfe-*.dir/DependInfo.cmake \
    "$HFEVAL_BUILD"/CMakeFiles/llama-*-engine.dir/DependInfo.cmake 2>/dev/null)
srcs=$(cat $deps /dev/null | grep -o '"[^"]*\.c"' | sort -u)
[ "$(printf '%s\n' "$srcs" | grep -c 'backends/')" -gt 10 ]
ok $? "CMake's source lists of the modules are there ($(printf '%s\n' "$srcs" | wc -l) files)"
is "$(printf '%s\n' "$srcs" | grep "$src/core/")" "" "no backend module compiles a core/ file"

# each folder includes only the folders below it (docs/ARCHITECTURE.md)
declare -A may=(
    [plugins]="plugins"
    [common]="common plugins"
    [backends/llama]="backends/llama common plugins"
    [backends/http]="backends/http common plugins"
    [core/input]="core/input common plugins"
    [core/checks]="core/checks core/input common plugins"
    [core/backend]="core/backend core/input common plugins"
    [core/suite]="core/suite common plugins"
    [core/score]="core/score core/suite core/checks core/input common plugins"
    [core/results]="core/results core/score core/suite core/checks core/input common plugins"
    [core/run]="core/run core/results core/score core/suite core/backend core/checks core/input common plugins"
    [cli]="cli core/run core/results core/score core/suite core/backend core/checks core/input common plugins"
)
owner() { # the folder that holds header $1
    local d
    for d in plugins common backends/llama backends/http core/input core/checks \
        core/backend core/suite core/score core/results core/run cli; do
        [ -e "$d/$1" ] && echo "$d" && return
        # NAME_lua.h: generated from the folder's NAME.lua (cmake/embed.cmake)
        case $1 in *_lua.h) [ -e "$d/${1%_lua.h}.lua" ] && echo "$d" && return ;; esac
    done
}
for d in "${!may[@]}"; do
    for f in "$d"/*.[ch]; do
        [ -e "$f" ] || continue
        grep -o '^#include "[^"]*"' "$f" | sed 's/#include "\(.*\)"/\1/' |
            while read -r h; do
                o=$(owner "$h")
                case " ${may[$d]} " in *" $o "*) ;; *) echo "$f includes $h ($o)" ;; esac
            done
    done
done >"$SCRATCH/layers"
is "$(cat "$SCRATCH/layers")" "" "each folder includes only the folders below it"

# the library makes no command: every entry point of a command is in cli/
cmds=$(grep -l 'int main(\|int hfe_cmd_' core/*/*.c common/*.c 2>/dev/null)
is "$cmds" "" "core/ and common/ hold no command"
for c in run merge compare report history inspect plugins; do
    [ -f "cli/cmd_$c.c" ] || echo "$c"
done >"$SCRATCH/missing"
is "$(cat "$SCRATCH/missing")" "" "cli/ holds a file for each command"
done_testing
