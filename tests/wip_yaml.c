/* wip_yaml.c - prints an lm-evaluation-harness task file as yaml_doc.c
 * reads it (#19, WIP): cc -std=c11 -D_GNU_SOURCE -Icore/suite -Icommon
 * -Iplugins tests/wip_yaml.c core/suite/yaml_doc.c common/util.c -lcjson
 * -lyaml -lm */
#include <stdio.h>
#include <stdlib.h>
#include "yaml_doc.h"
int main(int argc, char **argv)
{
    struct hfe_err err;
    for (int i = 1; i < argc; i++) {
        cJSON *d = hfe_yaml_task(argv[i], &err);
        if (!d) {
            printf("ERR %s\n", err.msg);
            continue;
        }
        char *s = cJSON_Print(d);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(d);
    }
    return 0;
}
