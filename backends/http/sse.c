/*
 * sse.c - server-sent events, see sse.h.
 */
#include <stdlib.h>
#include <string.h>

#include "sse.h"

static int grow(char **buf, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 256;
    char *p;

    if (need > HFE_SSE_MAX + 2)
        return -1;
    while (c < need)
        c *= 2;
    if (c == *cap)
        return 0;
    if (!(p = realloc(*buf, c)))
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

static int dispatch(struct hfe_sse *p, hfe_sse_fn fn, void *ud)
{
    int rc = 0;

    if (p->has_data && p->n_data) { /* an empty event is not dispatched */
        if (grow(&p->data, &p->cap_data, p->n_data + 1))
            return -1;
        p->data[p->n_data] = '\0';
        rc = fn(ud, p->data, p->n_data);
    }
    p->n_data = 0;
    p->has_data = 0;
    return rc;
}

/* One whole line, without its end. */
static int line(struct hfe_sse *p, hfe_sse_fn fn, void *ud)
{
    const char *v;
    size_t n = p->n_line, k;

    if (n == 0)
        return dispatch(p, fn, ud);
    if (n < 4 || memcmp(p->line, "data", 4) != 0)
        return 0; /* a comment or a field we do not use */
    if (n > 4 && p->line[4] != ':')
        return 0; /* "dataX:" is another field */
    v = p->line + (n > 4 ? 5 : 4);
    k = n - (size_t)(v - p->line);
    if (k && *v == ' ') {
        v++;
        k--;
    }
    if (grow(&p->data, &p->cap_data, p->n_data + k + 2))
        return -1;
    if (p->has_data)
        p->data[p->n_data++] = '\n';
    memcpy(p->data + p->n_data, v, k);
    p->n_data += k;
    p->has_data = 1;
    return 0;
}

int hfe_sse_feed(struct hfe_sse *p, const char *s, size_t n, hfe_sse_fn fn,
                 void *ud)
{
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '\n' && p->cr) { /* the LF of a CRLF */
            p->cr = 0;
            continue;
        }
        p->cr = c == '\r';
        if (c == '\r' || c == '\n') {
            rc = line(p, fn, ud);
            p->n_line = 0;
            if (rc)
                return rc;
            continue;
        }
        if (p->n_line + 1 >= p->cap_line &&
            grow(&p->line, &p->cap_line, p->n_line + 2))
            return -1;
        p->line[p->n_line++] = c;
    }
    return 0;
}

int hfe_sse_end(struct hfe_sse *p, hfe_sse_fn fn, void *ud)
{
    int rc = 0;

    if (p->n_line)
        rc = line(p, fn, ud);
    p->n_line = 0;
    return rc ? rc : dispatch(p, fn, ud);
}

void hfe_sse_free(struct hfe_sse *p)
{
    free(p->line);
    free(p->data);
    memset(p, 0, sizeof(*p));
}
