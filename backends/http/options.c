/*
 * options.c - the http backend's options: one table that is both the key
 * list the module table publishes and the parser's, with each option's
 * kind, range or words, default and place in struct http_opts.  What the
 * options mean is documented at the top of http.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

enum kind {
    O_STR,  /* any text                                                */
    O_WORD, /* one of words; the first is the default                  */
    O_UINT  /* a whole number from min to max; def when not given      */
};

static const char *const api_words[] = {"auto", "llama", "openai", NULL};
static const char *const loglik_words[] = {"auto", "logit_bias", "echo", NULL};

#define AT(field) offsetof(struct http_opts, field)

/* In the order the module table lists them. */
static const struct opt {
    const char *key;
    enum kind kind;
    unsigned min, max, def;
    const char *const *words;
    size_t at;
} table[] = {
    {"model", O_STR, 0, 0, 0, NULL, AT(model)},
    {"api", O_WORD, 0, 0, 0, api_words, AT(api)},
    {"loglik", O_WORD, 0, 0, 0, loglik_words, AT(loglik)},
    /* 0: llama-server's slots, else 4 */
    {"concurrency", O_UINT, 1, 1024, 0, NULL, AT(concurrency)},
    {"timeout", O_UINT, 1, 86400, 600, NULL, AT(timeout)},
    {"connect_timeout", O_UINT, 1, 86400, 10, NULL, AT(connect_timeout)},
    {"idle_timeout", O_UINT, 1, 86400, 60, NULL, AT(idle_timeout)},
    {"retries", O_UINT, 0, 100, 8, NULL, AT(retries)},
    {"retry_budget", O_UINT, 0, 1000000000, 1000, NULL, AT(retry_budget)},
    {"backoff", O_UINT, 1, 600000, 250, NULL, AT(backoff)},
    {"backoff_max", O_UINT, 1, 600000, 8000, NULL, AT(backoff_max)},
    {"api_key_env", O_STR, 0, 0, 0, NULL, AT(api_key_env)},
};

#define N_OPTS (sizeof(table) / sizeof(*table))

const char *http_option_keys[N_OPTS + 1];

void http_options_init(void)
{
    size_t i;

    for (i = 0; i < N_OPTS; i++)
        http_option_keys[i] = table[i].key;
    http_option_keys[N_OPTS] = NULL;
}

static const char **str_at(struct http_opts *o, const struct opt *t)
{
    return (const char **)((char *)o + t->at);
}

static unsigned *uint_at(struct http_opts *o, const struct opt *t)
{
    return (unsigned *)((char *)o + t->at);
}

static int opt_uint(const char *key, const char *v, unsigned lo, unsigned hi,
                    unsigned *out, char *err, size_t err_size)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);

    if (!*v || *end || n < lo || n > hi || *v == '-') {
        snprintf(err, err_size, "%s=%s: expected a whole number from %u to %u",
                 key, v, lo, hi);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

/* "api=x: expected auto, llama or openai", unless v is one of the words. */
static int opt_word(const struct opt *t, const char *v, char *err,
                    size_t err_size)
{
    char list[256] = "";
    size_t i, n = 0;

    for (i = 0; t->words[i]; i++)
        if (!strcmp(v, t->words[i]))
            return 0;
    for (i = 0; t->words[i] && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
                              i == 0            ? ""
                              : t->words[i + 1] ? ", "
                                                : " or ",
                              t->words[i]);
    snprintf(err, err_size, "%s=%s: expected %s", t->key, v, list);
    return -1;
}

static const struct opt *find(const char *key)
{
    size_t i;

    for (i = 0; i < N_OPTS; i++)
        if (!strcmp(table[i].key, key))
            return &table[i];
    return NULL;
}

int http_parse_options(const struct hfe_option *opts, size_t n,
                       struct http_opts *o, char *err, size_t err_size)
{
    const struct opt *t;
    size_t i;

    memset(o, 0, sizeof(*o));
    for (t = table; t < table + N_OPTS; t++)
        if (t->kind == O_WORD)
            *str_at(o, t) = t->words[0];
        else if (t->kind == O_UINT)
            *uint_at(o, t) = t->def;
    for (i = 0; i < n; i++) {
        t = find(opts[i].key);
        if (!t) {
            snprintf(err, err_size, "unknown option '%s'", opts[i].key);
            return HFE_EINVAL;
        }
        if (t->kind != O_UINT)
            *str_at(o, t) = opts[i].value;
        else if (opt_uint(t->key, opts[i].value, t->min, t->max, uint_at(o, t),
                          err, err_size))
            return HFE_EINVAL;
    }
    /* words last, so that an unknown key or a bad number is said first */
    for (t = table; t < table + N_OPTS; t++)
        if (t->kind == O_WORD && opt_word(t, *str_at(o, t), err, err_size))
            return HFE_EINVAL;
    return HFE_OK;
}
