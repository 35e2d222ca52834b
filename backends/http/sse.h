/*
 * sse.h - a parser for server-sent events (text/event-stream), as the
 * streamed answers of OpenAI-compatible servers use them.
 *
 * Bytes go in as they arrive, in pieces of any size; each complete event's
 * data (its `data:` lines joined with '\n') comes out through a callback.
 * Comments (`:`), `event:`, `id:` and `retry:` lines are read and dropped;
 * CR, LF and CRLF all end a line (WHATWG's rules).  Not thread-safe; one
 * parser per stream.
 */
#ifndef HFE_SSE_H
#define HFE_SSE_H

#include <stddef.h>

/* The largest event a parser holds, in bytes. */
#define HFE_SSE_MAX (8u << 20)

/* Called once per event with its data, NUL-terminated (the parser owns
 * it).  Returns 0 to go on, nonzero to stop: hfe_sse_feed then returns
 * that value. */
typedef int (*hfe_sse_fn)(void *ud, const char *data, size_t len);

struct hfe_sse {
    char *line; /* the line being read */
    size_t n_line, cap_line;
    char *data; /* the event being read */
    size_t n_data, cap_data;
    int has_data; /* a data: line was seen */
    int cr;       /* the last byte was CR (a following LF ends nothing) */
};

/* Feeds n bytes.  Returns 0; the callback's nonzero value; or -1 when an
 * event grows past HFE_SSE_MAX or memory runs out. */
int hfe_sse_feed(struct hfe_sse *p, const char *s, size_t n, hfe_sse_fn fn,
                 void *ud);
/* Dispatches an event left open at the end of the stream (a server that
 * closes without the blank line).  Returns as hfe_sse_feed does. */
int hfe_sse_end(struct hfe_sse *p, hfe_sse_fn fn, void *ud);
void hfe_sse_free(struct hfe_sse *p);

#endif
