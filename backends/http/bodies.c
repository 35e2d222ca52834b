/*
 * bodies.c - the JSON bodies of the http backend's requests: a streamed
 * generation (native or OpenAI, chat or not), /tokenize, a forced token
 * (logit_bias) and an echo of prompt log-probabilities.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http_int.h"

static char *print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;

    cJSON_Delete(o);
    return s;
}

static cJSON *stops(const struct hfe_request *r)
{
    cJSON *a = cJSON_CreateArray();

    for (uint32_t i = 0; a && i < r->n_stop; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(r->stop[i]));
    return a;
}

char *http_body_gen(struct hfe_model *m, const struct hfe_request *r,
                    const char **path)
{
    cJSON *o = cJSON_CreateObject();
    uint32_t max = r->max_tokens ? r->max_tokens : DEFAULT_MAX_TOKENS;
    bool chat = (r->flags & HFE_REQF_CHAT) != 0;

    if (!o)
        return NULL;
    if (chat) {
        cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
        cJSON *u = cJSON_CreateObject();

        cJSON_AddStringToObject(u, "role", "user");
        cJSON_AddStringToObject(u, "content", r->context ? r->context : "");
        cJSON_AddItemToArray(msgs, u);
        *path = "/v1/chat/completions";
    } else {
        cJSON_AddStringToObject(o, "prompt", r->context ? r->context : "");
        *path = m->flavor == FL_LLAMA ? "/completion" : "/v1/completions";
    }
    if (m->served)
        cJSON_AddStringToObject(o, "model", m->served);
    cJSON_AddNumberToObject(
        o, m->flavor == FL_LLAMA && !chat ? "n_predict" : "max_tokens", max);
    cJSON_AddNumberToObject(o, "temperature", r->temperature);
    if (r->top_p > 0 && r->top_p < 1)
        cJSON_AddNumberToObject(o, "top_p", r->top_p);
    if (r->temperature > 0)
        cJSON_AddNumberToObject(o, "seed", (double)(r->seed & 0xffffffffu));
    if (r->n_stop)
        cJSON_AddItemToObject(o, "stop", stops(r));
    cJSON_AddBoolToObject(o, "stream", 1);
    if (m->flavor == FL_LLAMA)
        cJSON_AddBoolToObject(o, "cache_prompt", 1);
    if (strncmp(*path, "/v1/", 4) == 0) {
        cJSON *so = cJSON_AddObjectToObject(o, "stream_options");

        cJSON_AddBoolToObject(so, "include_usage", 1);
    }
    return print_free(o);
}

char *http_body_tokenize(const char *text, bool pieces)
{
    cJSON *o = cJSON_CreateObject();

    if (pieces)
        cJSON_AddBoolToObject(o, "with_pieces", 1);
    cJSON_AddStringToObject(o, "content", text);
    cJSON_AddBoolToObject(o, "add_special", 1);
    cJSON_AddBoolToObject(o, "parse_special", 0); /* as the llama backend */
    return print_free(o);
}

/* The prompt full[0..at) with full[at] forced; written by hand, as this
 * is the one body sent once per scored token. */
char *http_body_force(const int32_t *full, int at)
{
    struct buf b = {0};
    char num[32];
    int i, rc = http_buf_puts(&b, "{\"prompt\":[");

    for (i = 0; i < at && !rc; i++) {
        int n = snprintf(num, sizeof(num), i ? ",%d" : "%d", (int)full[i]);

        rc = http_buf_add(&b, num, (size_t)n);
    }
    snprintf(num, sizeof(num), "%d", (int)full[at]);
    rc = rc ||
         http_buf_puts(&b, "],\"n_predict\":1,\"temperature\":0,\"n_probs\":1,"
                           "\"post_sampling_probs\":false,"
                           "\"cache_prompt\":true,\"logit_bias\":[[");
    rc = rc || http_buf_puts(&b, num);
    rc = rc || http_buf_puts(&b, ",1000]],\"response_fields\":"
                                 "[\"completion_probabilities\"]}");
    if (rc) {
        http_buf_free(&b);
        return NULL;
    }
    return b.s;
}

char *http_body_echo(struct hfe_model *m, const char *text)
{
    cJSON *o = cJSON_CreateObject();

    if (m->served)
        cJSON_AddStringToObject(o, "model", m->served);
    cJSON_AddStringToObject(o, "prompt", text);
    cJSON_AddNumberToObject(o, "max_tokens", 1);
    cJSON_AddNumberToObject(o, "temperature", 0);
    cJSON_AddNumberToObject(o, "logprobs", 1);
    cJSON_AddBoolToObject(o, "echo", 1);
    return print_free(o);
}
