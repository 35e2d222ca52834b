/*
 * models.h - model lists: one model a line, `NAME URI [key=value ...]`.
 *
 *     # comments run to the end of the line
 *     tiny-base   base.gguf                      ctx=512
 *     tiny-q8     q8_0.gguf        base=tiny-base
 *     served      http://127.0.0.1:8080/v1      api_key_env=MY_KEY
 *     saved       replay:outputs.jsonl          base=tiny-base
 *
 * Names are [A-Za-z0-9._-]+ and unique.  A URI is a .gguf path, an
 * http(s):// URL or replay:FILE; relative paths are taken from the list's
 * directory.  Values may be double-quoted ("a b", with \" and \\).  base=
 * names another model of the list (the lineage parent).  Every error names
 * FILE:LINE:COLUMN and what was expected.
 */
#ifndef HFEVAL_MODELS_H
#define HFEVAL_MODELS_H

#include <stddef.h>

#include "hfeval.h"

struct hfe_model_opt {
    char *key;
    char *value;
    int col;
};

struct hfe_model_ent {
    char *name;
    char *uri;      /* as written                                   */
    char *resolved; /* relative paths made relative to the cwd      */
    int line, col_uri;
    struct hfe_model_opt *opt;
    size_t n_opt;
    long base;         /* index of the lineage parent, or -1            */
    int base_inferred; /* read from the GGUF, not from base=        */
};

struct hfe_model_list {
    char *file;
    struct hfe_model_ent *v;
    size_t n;
};

/* The URI as it may be shown or recorded: a URL's user:password@ left
 * out.  Caller frees. */
char *hfe_uri_shown(const char *uri);

/* Keys the core itself reads; the rest belong to the backend. */
extern const char *const hfe_models_core_keys[];

/* Parses a list from a file.  Returns 0, or HFE_EXIT_MODELS with err set
 * ("list.txt:7:12: ...") and *out NULL. */
int hfe_models_load(const char *file, struct hfe_model_list **out,
                    struct hfe_err *err);
/* hfe_models_load also reads each GGUF model without base= and takes as
 * its parent the one other model of the list its general.base_model.*
 * names (by general.name, basename or repo_url); an inferred cycle is an
 * error.  hfe_models_parse, from text, reads no files. */

/* Same, from text; `file` names it in messages and anchors relative
 * paths. */
int hfe_models_parse(const char *file, const char *text, size_t len,
                     struct hfe_model_list **out, struct hfe_err *err);
void hfe_models_free(struct hfe_model_list *l);

/* Value of key on entry e, or NULL. */
const char *hfe_models_opt(const struct hfe_model_ent *e, const char *key);

/* Checks entry e's keys against the core's and the backend's (NULL-
 * terminated) list; an unknown key is an error with a "did you mean"
 * hint.  Returns 0 or HFE_EXIT_MODELS. */
int hfe_models_check_keys(const struct hfe_model_list *l,
                          const struct hfe_model_ent *e,
                          const char *backend_name,
                          const char *const *backend_keys, struct hfe_err *err);

/* Depth of e in its lineage (0 for a root). */
int hfe_models_depth(const struct hfe_model_list *l, size_t i);

/* A path given in the list (card=, hub=) as the list means it: relative
 * to the list's directory.  NULL for NULL; caller frees. */
char *hfe_models_path(const struct hfe_model_list *l, const char *path);

#endif /* HFEVAL_MODELS_H */
