/*
 * fuzz_models.c - libFuzzer target for the model-list parser.
 *
 *   tests/fuzz/run.sh models [SECONDS]
 *
 * Every input must end in a list or an error message that names the
 * file: no crash, no leak, no message without a place.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hfe_model_list *l = NULL;
    struct hfe_err err;
    int rc;

    err.msg[0] = '\0';
    rc = hfe_models_parse("fuzz.txt", (const char *)data, size, &l, &err);
    if (rc == 0) {
        size_t i;

        if (!l || l->n == 0)
            abort();
        for (i = 0; i < l->n; i++) /* every base resolves to a model */
            if (l->v[i].base >= (long)l->n || !l->v[i].name[0])
                abort();
        hfe_models_free(l);
    } else if (l || strncmp(err.msg, "fuzz.txt", 8) != 0) {
        abort(); /* an error must name the file */
    }
    return 0;
}
