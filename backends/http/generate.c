/*
 * generate.c - what a generation's streamed answer means: each event of
 * the stream (llama-server's native chunks or OpenAI's) adds to the text
 * and says how it ended; at the end, the result's text and timings.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http_int.h"

/* A non-negative number, or 0. */
static double nonneg(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15
               ? v->valuedouble
               : 0;
}

/* The server's timings of a generation, kept until it ends well (a
 * retried attempt's do not count). */
static void get_timings(double *tm, const cJSON *t)
{
    if (!cJSON_IsObject(t))
        return;
    tm[0] = nonneg(t, "prompt_n");
    tm[1] = nonneg(t, "prompt_ms");
    tm[2] = nonneg(t, "predicted_n");
    tm[3] = nonneg(t, "predicted_ms");
}

/* An OpenAI chunk, {"choices": [{"text"} or {"delta":{"content"}},
 * "finish_reason"], "usage"}: its end and counts go into r.  Returns its
 * piece of text. */
static const cJSON *openai_chunk(struct hfe_result *r, const cJSON *o,
                                 const cJSON *choices)
{
    const cJSON *ch = cJSON_GetArrayItem(choices, 0);
    const cJSON *piece = cJSON_GetObjectItemCaseSensitive(ch, "text");
    const cJSON *fin = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "usage");

    if (!piece)
        piece = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(ch, "delta"), "content");
    if (cJSON_IsString(fin))
        r->finish = strcmp(fin->valuestring, "length") == 0 ? HFE_FINISH_LENGTH
                                                            : HFE_FINISH_STOP;
    if (cJSON_IsObject(v)) {
        r->n_gen_tokens =
            (uint32_t)fmin(nonneg(v, "completion_tokens"), UINT32_MAX);
        r->n_prompt_tokens =
            (uint32_t)fmin(nonneg(v, "prompt_tokens"), UINT32_MAX);
    }
    return piece;
}

/* llama-server's native chunk, {"content", "stop", "stop_type"}: as
 * openai_chunk. */
static const cJSON *llama_chunk(struct hfe_result *r, const cJSON *o)
{
    const char *st;

    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stop")))
        return cJSON_GetObjectItemCaseSensitive(o, "content");
    st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "stop_type"));
    r->finish = !st                    ? HFE_FINISH_NONE
                : !strcmp(st, "eos")   ? HFE_FINISH_EOG
                : !strcmp(st, "word")  ? HFE_FINISH_STOP
                : !strcmp(st, "limit") ? HFE_FINISH_LENGTH
                                       : HFE_FINISH_NONE;
    r->n_gen_tokens = (uint32_t)fmin(nonneg(o, "tokens_predicted"), UINT32_MAX);
    r->n_prompt_tokens =
        (uint32_t)fmin(nonneg(o, "tokens_evaluated"), UINT32_MAX);
    return cJSON_GetObjectItemCaseSensitive(o, "content");
}

int http_on_event(void *ud, const char *data, size_t len)
{
    struct ex *x = ud;
    struct job *j = x->job;
    const cJSON *c, *piece;
    cJSON *o;

    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return 0;
    o = cJSON_ParseWithLength(data, len);
    if (!o)
        return 1; /* not JSON: the exchange fails (classify) */
    if (cJSON_GetObjectItemCaseSensitive(o, "error")) {
        x->resp.n = 0;
        http_buf_add(&x->resp, data, len); /* the message, for the error */
        cJSON_Delete(o);
        return EV_ERROR;
    }
    c = cJSON_GetObjectItemCaseSensitive(o, "choices");
    piece =
        cJSON_IsArray(c) ? openai_chunk(j->res, o, c) : llama_chunk(j->res, o);
    if (cJSON_IsString(piece) && piece->valuestring[0]) {
        if (!x->t_first)
            x->t_first = http_now_ms();
        j->n_chunks++;
        if (http_buf_add(&j->text, piece->valuestring,
                         strlen(piece->valuestring))) {
            cJSON_Delete(o);
            return -1;
        }
    }
    get_timings(x->tm, cJSON_GetObjectItemCaseSensitive(o, "timings"));
    cJSON_Delete(o);
    return 0;
}

void http_on_gen_end(struct pump *p, struct ex *x)
{
    struct job *j = x->job;
    struct hfe_result *r = j->res;
    double t1 = http_now_ms();

    if (!(r->text = http_host->strdup(j->text.s ? j->text.s : ""))) {
        http_job_fail(p, j, HFE_ENOMEM, "out of memory");
        return;
    }
    if (!r->n_gen_tokens)
        r->n_gen_tokens = j->n_chunks;
    p->m->st.prompt_n += (uint64_t)x->tm[0];
    p->m->st.prompt_ms += x->tm[1];
    p->m->st.predicted_n += (uint64_t)x->tm[2];
    p->m->st.predicted_ms += x->tm[3];
    r->t_first_token_ms = x->t_first ? x->t_first - x->t0 : 0;
    r->t_total_ms = t1 - x->t0;
}
