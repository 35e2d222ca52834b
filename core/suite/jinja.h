/*
 * jinja.h - the subset of Jinja2 that lm-evaluation-harness task files
 * write their doc_to_text, doc_to_target and doc_to_choice in, rendered
 * against a document (a cJSON object), as Jinja2 with StrictUndefined
 * renders it:
 *
 *   {{ expr }}   names (the document's fields, {% set %} and {% for %}
 *                variables), "strings", numbers, [lists], .attr, [i],
 *                [a:b] slices (negative from the end), calls .strip()
 *                .lstrip() .rstrip() .lower() .upper() .split([sep])
 *                .index(x) .replace(a, b) .startswith(s) .endswith(s),
 *                + - * / // %, == != < > <= >=, in, not in, and, or,
 *                not, a if c else b, filters |join(sep) |length |lower
 *                |upper |trim |string |int |float |first |last
 *                |regex_replace(pattern, repl)
 *   {% if %} {% elif %} {% else %} {% endif %}, {% for x in e %}
 *   {% endfor %} (loop.index, loop.index0, loop.first, loop.last),
 *   {% set x = e %}, {# comments #}, and - to trim whitespace.
 *
 * A value renders as Python's str() does: a list as its repr
 * (['a', 'b']), True, False, None, 1 for an integral number.  Anything
 * outside the subset is an error naming FILE:LINE and the construct.
 */
#ifndef HFEVAL_JINJA_H
#define HFEVAL_JINJA_H

#include <cjson/cJSON.h>

#include "hfeval.h"

struct hfe_jinja;

/* Compiles src; file and line (of the template's first character) name
 * it in errors.  Returns 0, or HFE_EXIT_SUITE with err set. */
int hfe_jinja_compile(const char *src, const char *file, int line,
                      struct hfe_jinja **out, struct hfe_err *err);

/* Renders t against doc into out.  Returns 0, or HFE_EXIT_SUITE with err
 * set (an undefined name, a bad operand). */
int hfe_jinja_render(const struct hfe_jinja *t, const cJSON *doc,
                     struct hfe_buf *out, struct hfe_err *err);

/* When t is one {{ expr }} and nothing else: its value (a new cJSON the
 * caller deletes), as doc_to_choice and doc_to_target want a list or an
 * index.  NULL with err set otherwise, or on an error. */
cJSON *hfe_jinja_value(const struct hfe_jinja *t, const cJSON *doc,
                       struct hfe_err *err);

void hfe_jinja_free(struct hfe_jinja *t);

#endif /* HFEVAL_JINJA_H */
