/*
 * card.c - model-card front matter (libyaml) and saved Hub info (cJSON).
 * See card.h.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "card.h"

/* A plain scalar as YAML 1.2's core schema reads it. */
static cJSON *scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    char *end;
    double d;

    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return cJSON_CreateString(v);
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
        return cJSON_CreateTrue();
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
        return cJSON_CreateFalse();
    if (!n || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
        !strcmp(v, "NULL"))
        return cJSON_CreateNull();
    d = strtod(v, &end);
    if (end == v + n && strspn(v, "+-.0123456789eE") == n)
        return cJSON_CreateNumber(d);
    return cJSON_CreateString(v);
}

struct parse {
    yaml_parser_t p;
    const char *path;
    const char *text; /* the YAML, for errors that give only an offset */
    int line0;        /* the file line of the YAML's first line, less one */
    struct hfe_err *err;
};

static int fail(struct parse *ps, const yaml_mark_t *m, const char *what)
{
    int line = (int)m->line;

    /* reader errors (bad UTF-8) give an offset, not a mark */
    if (!m->line && !m->column && ps->p.problem_offset) {
        size_t i;

        for (i = 0; i < ps->p.problem_offset && ps->text[i]; i++)
            line += ps->text[i] == '\n';
    }
    hfe_err_set(ps->err, "%s:%d: %s", ps->path, ps->line0 + line + 1,
                what ? what : "malformed YAML");
    return -1;
}

/* Reads one node, whose first event is ev (owned here), into *out. */
static int node(struct parse *ps, yaml_event_t *ev, cJSON **out, int depth)
{
    yaml_event_t e;
    cJSON *c;
    int rc = 0;

    *out = NULL;
    if (depth > 64) {
        rc = fail(ps, &ev->start_mark, "nested more than 64 deep");
        yaml_event_delete(ev);
        return rc;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        *out = scalar(ev);
        break;
    case YAML_ALIAS_EVENT: /* not followed: a card has no need of them */
        rc = fail(ps, &ev->start_mark,
                  "an alias (*name): write the value out, aliases are not "
                  "followed");
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int map = ev->type == YAML_MAPPING_START_EVENT;
        yaml_event_type_t close =
            map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;

        c = map ? cJSON_CreateObject() : cJSON_CreateArray();
        for (;;) {
            cJSON *k = NULL, *v = NULL;

            if (!yaml_parser_parse(&ps->p, &e)) {
                rc = fail(ps, &ps->p.problem_mark, ps->p.problem);
                break;
            }
            if (e.type == close) {
                yaml_event_delete(&e);
                break;
            }
            if (map) {
                if (e.type != YAML_SCALAR_EVENT) {
                    rc = fail(ps, &e.start_mark,
                              "expected a plain key, got a list or mapping");
                    yaml_event_delete(&e);
                    break;
                }
                k = cJSON_CreateString((const char *)e.data.scalar.value);
                yaml_event_delete(&e);
                if (!yaml_parser_parse(&ps->p, &e)) {
                    cJSON_Delete(k);
                    rc = fail(ps, &ps->p.problem_mark, ps->p.problem);
                    break;
                }
            }
            if ((rc = node(ps, &e, &v, depth + 1)) != 0) {
                cJSON_Delete(k);
                break;
            }
            if (map) {
                cJSON_DeleteItemFromObjectCaseSensitive(c, k->valuestring);
                cJSON_AddItemToObject(c, k->valuestring, v);
                cJSON_Delete(k);
            } else {
                cJSON_AddItemToArray(c, v);
            }
        }
        if (rc)
            cJSON_Delete(c);
        else
            *out = c;
        break;
    }
    default:
        rc = fail(ps, &ev->start_mark, "unexpected YAML event");
    }
    yaml_event_delete(ev);
    return rc;
}

/* The front matter's bounds [*a, *b): after a first line "---", up to a
 * line "---" or "...".  1, 0 when there is none, -1 when it never ends. */
static int front_matter(const char *t, size_t n, size_t *a, size_t *b)
{
    size_t i = n >= 3 && !memcmp(t, "\xef\xbb\xbf", 3) ? 3 : 0;

    if (n - i < 3 || memcmp(t + i, "---", 3))
        return 0;
    for (i += 3; i < n && (t[i] == ' ' || t[i] == '\r'); i++)
        ;
    if (i < n && t[i] != '\n')
        return 0;
    *a = ++i;
    while (i < n) { /* i: a line's start */
        size_t e = i, len;

        while (e < n && t[e] != '\n')
            e++;
        len = e - i;
        while (len && (t[i + len - 1] == '\r' || t[i + len - 1] == ' '))
            len--;
        if (len == 3 &&
            (!memcmp(t + i, "---", 3) || !memcmp(t + i, "...", 3))) {
            *b = i;
            return 1;
        }
        i = e + 1;
    }
    return -1;
}

int hfe_card_parse(const char *path, const char *text, size_t len, cJSON **out,
                   struct hfe_err *err)
{
    struct parse ps = {.path = path, .line0 = 1, .err = err};
    yaml_event_t ev;
    size_t a = 0, b = 0;
    int fm = front_matter(text, len, &a, &b), rc = 0;

    *out = NULL;
    if (fm == 0) { /* no metadata at all: nothing to read */
        *out = cJSON_CreateObject();
        return 0;
    }
    if (fm < 0) {
        hfe_err_set(err,
                    "%s:1: the front matter opened with '---' never closes "
                    "(expected a line '---')",
                    path);
        return HFE_EXIT_DATA;
    }
    yaml_parser_initialize(&ps.p);
    ps.text = text + a;
    yaml_parser_set_input_string(&ps.p, (const unsigned char *)text + a, b - a);
    /* stream start, document start (or stream end: empty front matter) */
    for (;;) {
        if (!yaml_parser_parse(&ps.p, &ev)) {
            rc = fail(&ps, &ps.p.problem_mark, ps.p.problem);
            break;
        }
        if (ev.type == YAML_STREAM_START_EVENT ||
            ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (ev.type == YAML_STREAM_END_EVENT ||
            ev.type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            *out = cJSON_CreateObject();
            break;
        }
        if (ev.type != YAML_MAPPING_START_EVENT) {
            rc = fail(&ps, &ev.start_mark,
                      "expected the front matter to be a mapping of keys");
            yaml_event_delete(&ev);
            break;
        }
        rc = node(&ps, &ev, out, 0);
        break;
    }
    yaml_parser_delete(&ps.p);
    if (rc) {
        cJSON_Delete(*out);
        *out = NULL;
        return HFE_EXIT_DATA;
    }
    return 0;
}

int hfe_card_load(const char *path, cJSON **out, struct hfe_err *err)
{
    char *text;
    size_t len;
    int rc;

    *out = NULL;
    if (hfe_read_file(path, &text, &len, err) != 0)
        return HFE_EXIT_DATA;
    rc = hfe_card_parse(path, text, len, out, err);
    free(text);
    return rc;
}

int hfe_hub_load(const char *path, cJSON **out, struct hfe_err *err)
{
    const char *end = NULL;
    char *text;
    size_t len;
    int rc = 0;

    *out = NULL;
    if (hfe_read_file(path, &text, &len, err) != 0)
        return HFE_EXIT_DATA;
    *out = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!*out || !cJSON_IsObject(*out)) {
        int line = 1;
        const char *p;

        for (p = text; end && p < end && p < text + len; p++)
            line += *p == '\n';
        hfe_err_set(err, "%s:%d: expected a Hub model-info JSON object", path,
                    line);
        cJSON_Delete(*out);
        *out = NULL;
        rc = HFE_EXIT_DATA;
    }
    free(text);
    return rc;
}
