/*
 * yaml_doc.c - a YAML file as cJSON, the way lm-evaluation-harness's
 * loader (PyYAML's safe_load plus its !function constructor) reads a task
 * file: mappings, sequences, and scalars typed by YAML 1.1's rules (a
 * plain true/false/yes/no is a bool, a plain integer or float a number,
 * ~ or null a null; a quoted scalar is always a string); `!function
 * utils.name` becomes {"!function": "utils.name"}; `include:` files are
 * read relative to the including one and its keys merged under this
 * file's (later keys win), as lm-evaluation-harness does.  Each value's
 * line is kept in a parallel object "!lines" of every mapping, for
 * messages.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yaml_doc.h"

struct rd {
    yaml_parser_t p;
    const char *file;
    struct hfe_err *err;
    int failed;
    int depth; /* mappings and sequences open */
};

#define MAX_DEPTH 64

static cJSON *bad(struct rd *R, const yaml_event_t *ev, const char *what)
{
    if (!R->failed)
        hfe_err_set(R->err, "%s:%zu:%zu: %s", R->file,
                    ev ? ev->start_mark.line + 1 : R->p.problem_mark.line + 1,
                    ev ? ev->start_mark.column + 1
                       : R->p.problem_mark.column + 1,
                    what);
    R->failed = 1;
    return NULL;
}

/* A plain scalar typed as PyYAML's safe_load types it. */
static cJSON *plain(const char *s)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    size_t k;
    char *end;
    double v;

    for (k = 0; k < sizeof(yes) / sizeof(yes[0]); k++) {
        if (!strcmp(s, yes[k]))
            return cJSON_CreateTrue();
        if (!strcmp(s, no[k]))
            return cJSON_CreateFalse();
    }
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
        !strcmp(s, "NULL"))
        return cJSON_CreateNull();
    if ((isdigit((unsigned char)*s) || ((*s == '-' || *s == '+' || *s == '.') &&
                                        isdigit((unsigned char)s[1]))) &&
        (v = strtod(s, &end), *end == '\0')) {
        if (!strchr(s, '.')) /* PyYAML: 1e3 is a string, 10 an int */
            return strpbrk(s, "eE") ? cJSON_CreateString(s)
                                    : cJSON_CreateNumber(v);
        /* a float, kept as written so that 1.0 stays a float (Lua's
         * tostring, like Python's str, then gives "1.0") */
        return cJSON_CreateRaw(s);
    }
    return cJSON_CreateString(s);
}

static cJSON *value(struct rd *R, yaml_event_t *ev);

static cJSON *mapping(struct rd *R)
{
    cJSON *o = cJSON_CreateObject(), *lines = cJSON_CreateObject();

    for (;;) {
        yaml_event_t k;
        cJSON *v;
        size_t line;

        if (!yaml_parser_parse(&R->p, &k)) {
            bad(R, NULL, R->p.problem ? R->p.problem : "not YAML");
            break;
        }
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            break;
        }
        if (k.type != YAML_SCALAR_EVENT) {
            bad(R, &k, "a mapping's key must be a plain string");
            yaml_event_delete(&k);
            break;
        }
        line = k.start_mark.line + 1;
        {
            char *key = hfe_xstrdup((const char *)k.data.scalar.value);
            yaml_event_t e;

            yaml_event_delete(&k);
            if (!yaml_parser_parse(&R->p, &e)) {
                free(key);
                bad(R, NULL, R->p.problem ? R->p.problem : "not YAML");
                break;
            }
            v = value(R, &e);
            yaml_event_delete(&e);
            if (!v) {
                free(key);
                break;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(o, key);
            cJSON_AddItemToObject(o, key, v);
            cJSON_DeleteItemFromObjectCaseSensitive(lines, key);
            cJSON_AddNumberToObject(lines, key, (double)line);
            free(key);
        }
    }
    cJSON_AddItemToObject(o, "!lines", lines);
    if (R->failed) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *nested(struct rd *R, yaml_event_t *ev);

static cJSON *value(struct rd *R, yaml_event_t *ev)
{
    cJSON *v;

    if (ev->type != YAML_SEQUENCE_START_EVENT &&
        ev->type != YAML_MAPPING_START_EVENT)
        return nested(R, ev);
    if (++R->depth > MAX_DEPTH) {
        R->depth--;
        return bad(R, ev, "nested deeper than 64 levels");
    }
    v = nested(R, ev);
    R->depth--;
    return v;
}

static cJSON *nested(struct rd *R, yaml_event_t *ev)
{
    if (ev->type == YAML_SCALAR_EVENT) {
        const char *s = (const char *)ev->data.scalar.value,
                   *tag = (const char *)ev->data.scalar.tag;

        if (tag && !strcmp(tag, "!function")) {
            cJSON *f = cJSON_CreateObject();

            cJSON_AddStringToObject(f, "!function", s);
            return f;
        }
        if (tag && strcmp(tag, YAML_STR_TAG))
            return bad(R, ev,
                       "a YAML tag hfeval does not read (only "
                       "!function)");
        return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag
                   ? plain(s)
                   : cJSON_CreateString(s);
    }
    if (ev->type == YAML_SEQUENCE_START_EVENT) {
        cJSON *a = cJSON_CreateArray();

        for (;;) {
            yaml_event_t e;
            cJSON *v;

            if (!yaml_parser_parse(&R->p, &e)) {
                bad(R, NULL, R->p.problem ? R->p.problem : "not YAML");
                break;
            }
            if (e.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&e);
                return a;
            }
            v = value(R, &e);
            yaml_event_delete(&e);
            if (!v)
                break;
            cJSON_AddItemToArray(a, v);
        }
        cJSON_Delete(a);
        return NULL;
    }
    if (ev->type == YAML_MAPPING_START_EVENT)
        return mapping(R);
    if (ev->type == YAML_ALIAS_EVENT)
        return bad(R, ev, "YAML aliases (*name) are not read");
    return bad(R, ev, "a value expected");
}

/* The file's one document. */
static cJSON *read_one(const char *path, const struct hfe_yaml_files *fs,
                       struct hfe_err *err)
{
    FILE *f;
    struct rd R = {.file = path, .err = err};
    yaml_event_t ev;
    cJSON *doc = NULL;

    if (fs && fs->may && !fs->may(fs->ud, path)) {
        hfe_err_set(err,
                    "%s: outside the task file's directory and the "
                    "paths given with --set",
                    path);
        return NULL;
    }
    if (!(f = fopen(path, "rb"))) {
        hfe_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fs && fs->note)
        fs->note(fs->ud, path);
    yaml_parser_initialize(&R.p);
    yaml_parser_set_input_file(&R.p, f);
    while (!R.failed && yaml_parser_parse(&R.p, &ev)) {
        yaml_event_type_t t = ev.type;

        if (t == YAML_MAPPING_START_EVENT && !doc)
            doc = mapping(&R);
        else if (t == YAML_MAPPING_START_EVENT ||
                 t == YAML_SEQUENCE_START_EVENT || t == YAML_SCALAR_EVENT)
            bad(&R, &ev, "a task file is one mapping");
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
    }
    if (!R.failed && R.p.error != YAML_NO_ERROR)
        bad(&R, NULL, R.p.problem ? R.p.problem : "not YAML");
    yaml_parser_delete(&R.p);
    fclose(f);
    if (R.failed) {
        cJSON_Delete(doc);
        return NULL;
    }
    if (!doc)
        hfe_err_set(err,
                    "%s:1:1: a task file is one mapping, this one is "
                    "empty",
                    path);
    return doc;
}

static cJSON *task_depth(const char *path, int depth,
                         const struct hfe_yaml_files *fs, struct hfe_err *err)
{
    cJSON *doc = read_one(path, fs, err), *inc, *base, *e;
    char *dir, *ip;

    if (!doc)
        return NULL;
    inc = cJSON_GetObjectItemCaseSensitive(doc, "include");
    if (!inc)
        return doc;
    if (!cJSON_IsString(inc) || depth > 16) {
        hfe_err_set(err, "%s: include: %s", path,
                    depth > 16 ? "includes nested past 16 (a cycle?)"
                               : "must name one file");
        cJSON_Delete(doc);
        return NULL;
    }
    dir = hfe_xstrdup(path);
    if (strrchr(dir, '/'))
        strrchr(dir, '/')[1] = '\0';
    else
        dir[0] = '\0';
    ip = inc->valuestring[0] == '/'
             ? hfe_xstrdup(inc->valuestring)
             : hfe_xasprintf("%s%s", dir, inc->valuestring);
    free(dir);
    base = task_depth(ip, depth + 1, fs, err);
    free(ip);
    if (!base) {
        cJSON_Delete(doc);
        return NULL;
    }
    /* this file's keys over the included one's, !lines aside */
    cJSON_DeleteItemFromObjectCaseSensitive(base, "!lines");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "include");
    while ((e = doc->child)) {
        cJSON_DetachItemViaPointer(doc, e);
        cJSON_DeleteItemFromObjectCaseSensitive(base, e->string);
        cJSON_AddItemToObject(base, e->string, e);
    }
    cJSON_Delete(doc);
    return base;
}

cJSON *hfe_yaml_task(const char *path, const struct hfe_yaml_files *fs,
                     struct hfe_err *err)
{
    return task_depth(path, 0, fs, err);
}
