/*
 * yaml_doc.h - an lm-evaluation-harness task file as cJSON (yaml_doc.c):
 * PyYAML's safe_load typing, !function as {"!function": NAME}, include:
 * merged (this file's keys win), each mapping's key lines in "!lines".
 */
#ifndef HFEVAL_YAML_DOC_H
#define HFEVAL_YAML_DOC_H

#include <cjson/cJSON.h>

#include "hfeval.h"

/* The task file at path with its includes; NULL with err set
 * ("FILE:LINE:COL: what") when it does not read. */
struct hfe_yaml_files {
    /* before a file is opened: 0 to refuse it (outside what the suite may
     * read); after: it was read.  Either NULL: no check, no note. */
    int (*may)(void *ud, const char *path);
    void (*note)(void *ud, const char *path);
    void *ud;
};
cJSON *hfe_yaml_task(const char *path, const struct hfe_yaml_files *fs,
                     struct hfe_err *err);

#endif /* HFEVAL_YAML_DOC_H */
