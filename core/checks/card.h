/*
 * card.h - a Hugging Face model card's metadata: the YAML front matter of
 * its README.md, read with libyaml into cJSON (mappings become objects,
 * sequences arrays; plain scalars true/false/null and numbers become
 * those, everything else a string), and a saved Hub model-info JSON.
 *
 * Not thread-safe only in that cJSON's hooks are global; each call owns
 * what it returns.
 */
#ifndef HFEVAL_CARD_H
#define HFEVAL_CARD_H

#include <cjson/cJSON.h>

#include "hfeval.h"

/* The front matter of the card at path as an object (empty when the card
 * has none).  Returns 0, or HFE_EXIT_DATA with "card.md:LINE: ..." in
 * err and *out NULL.  Caller frees with cJSON_Delete. */
int hfe_card_load(const char *path, cJSON **out, struct hfe_err *err);

/* Same, from text; `path` names it in messages. */
int hfe_card_parse(const char *path, const char *text, size_t len, cJSON **out,
                   struct hfe_err *err);

/* A saved Hub model-info JSON document (an object).  Returns 0 or
 * HFE_EXIT_DATA. */
int hfe_hub_load(const char *path, cJSON **out, struct hfe_err *err);

#endif /* HFEVAL_CARD_H */
