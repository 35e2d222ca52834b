/*
 * json_get.h - reading JSON: the getters every reader of a record or an
 * answer uses on what cJSON parsed.  They answer NULL or NAN for a field
 * that is missing or of another type, never crash.  Inline, so that
 * nothing needs linking for them beyond cJSON itself.
 */
#ifndef HFEVAL_JSON_GET_H
#define HFEVAL_JSON_GET_H

#include <math.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* o[key] when it is a string, else NULL; borrowed from o. */
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

/* o[key] when it is a whole-numbered count that fits, else 0. */
static inline uint64_t hfe_json_get_u64(const cJSON *o, const char *key)
{
    double v = hfe_json_get_num(o, key);

    return v >= 0 && v < 18446744073709551616.0 ? (uint64_t)v : 0;
}

#endif /* HFEVAL_JSON_GET_H */
