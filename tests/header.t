#!/usr/bin/env bash
# The plugin header is the ABI: it must compile alone as C99 and as C++,
# warning-free, and a struct must be able to grow (HFE_HAS_FIELD).
. "$(dirname "$0")/lib.sh"

src=$SCRATCH/use.c
cat >"$src" <<'C'
#include <string.h>
#include "hfeval-plugin.h"
int main(void)
{
    struct hfe_request r;
    memset(&r, 0, sizeof(r));
    HFE_INIT(&r);
    /* a reader built against a newer minor sees an older, smaller struct */
    r.struct_size = (unsigned)offsetof(struct hfe_request, top_k);
    return HFE_HAS_FIELD(&r, struct hfe_request, context) &&
                   !HFE_HAS_FIELD(&r, struct hfe_request, top_k)
               ? 0
               : 1;
}
C
run "$HFEVAL_CC" -std=c99 -pedantic -Wall -Wextra -Werror \
    -I"$HFEVAL_SRC/plugins" "$src" -o "$SCRATCH/c99"
is "$rc" 0 "compiles as C99 with -pedantic -Werror"
[ -n "$err" ] && echo "$err" | sed 's/^/# /'
run "$SCRATCH/c99"
is "$rc" 0 "HFE_HAS_FIELD tells old fields from new ones"

cp "$src" "$SCRATCH/use.cpp"
run "$HFEVAL_CXX" -std=c++11 -Wall -Wextra -Werror \
    -I"$HFEVAL_SRC/plugins" "$SCRATCH/use.cpp" -o "$SCRATCH/cxx"
is "$rc" 0 "compiles as C++11 with -Werror"
[ -n "$err" ] && echo "$err" | sed 's/^/# /'

run grep -E '^#include' "$HFEVAL_SRC/plugins/hfeval-plugin.h"
is "$out" "$(printf '#include <stddef.h>\n#include <stdint.h>')" \
    "it includes only the C library"
done_testing
