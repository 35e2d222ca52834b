/*
 * json.h - JSON for every part of hfeval: the one string escaper, and
 * the getters every reader of a record or an answer uses.
 *
 * Writers build JSON text in a struct hfe_buf (hfeval.h); readers parse
 * with cJSON and read fields through these getters, which answer NULL or
 * NAN for a field that is missing or of another type, never crash.
 */
#ifndef HFEVAL_JSON_H
#define HFEVAL_JSON_H

#include <math.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "hfeval.h"

/* JSON string literal of s (n bytes) appended to b; a byte that is not
 * part of well-formed UTF-8 becomes U+FFFD, so the output is valid JSON. */
void hfe_json_str(struct hfe_buf *b, const char *s, size_t n);

/* The literal of a NUL-terminated s, or null for NULL. */
void hfe_json_strz(struct hfe_buf *b, const char *s);

/* %.9g, or null for a value JSON cannot hold (NaN, infinities). */
void hfe_json_num(struct hfe_buf *b, double v);

/* o[key] when it is a string, else NULL; borrowed from o.  Inline, so
 * that what links common/ but reads no JSON (a backend) needs no cJSON. */
static inline const char *hfe_json_get_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* o[key] when it is a number, else NAN. */
static inline double hfe_json_get_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

#endif /* HFEVAL_JSON_H */
