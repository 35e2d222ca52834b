/*
 * json.h - writing JSON, for every part of hfeval: the one string
 * escaper, into a struct hfe_buf (hfeval.h).  Reading is json_get.h's,
 * apart, so that what writes JSON and reads none (GGUF metadata, compiled
 * into the GPU engines) needs no cJSON header.
 */
#ifndef HFEVAL_JSON_H
#define HFEVAL_JSON_H

#include <stddef.h>

#include "hfeval.h"

/* JSON string literal of s (n bytes) appended to b; a byte that is not
 * part of well-formed UTF-8 becomes U+FFFD, so the output is valid JSON. */
void hfe_json_str(struct hfe_buf *b, const char *s, size_t n);

/* The literal of a NUL-terminated s, or null for NULL. */
void hfe_json_strz(struct hfe_buf *b, const char *s);

/* %.9g, or null for a value JSON cannot hold (NaN, infinities). */
void hfe_json_num(struct hfe_buf *b, double v);

#endif /* HFEVAL_JSON_H */
