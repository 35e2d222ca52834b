/*
 * wire.h - the wire between hfeval and a worker (worker.c): a socketpair
 * carrying messages [u32 type][u32 length][payload].  Numbers are
 * host-endian (both ends are one binary); a string is a u32 length
 * (0xffffffff: NULL) and its bytes.  The message types are in worker.c.
 *
 * Writing appends to a growable struct hfe_wb.  Reading is bounds-checked
 * (struct hfe_rb): a message too short for what is read sets `bad` and
 * reads as zeros and NULLs, so a torn or hostile message is an error the
 * caller sees, never a read past its end.
 */
#ifndef HFEVAL_WIRE_H
#define HFEVAL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "hfeval-plugin.h"
#include "hfeval.h"

/* The largest message either side accepts. */
#define MAX_MSG (1u << 31)

struct hfe_wb { /* a message being written */
    char *s;
    size_t n, cap;
};

struct hfe_rb { /* reading, bounds-checked: a short message sets bad */
    const char *p;
    size_t n;
    int bad;
};

void hfe_wb_u32(struct hfe_wb *b, uint32_t v);
void hfe_wb_str(struct hfe_wb *b, const char *s);
uint32_t hfe_rb_u32(struct hfe_rb *r);
uint64_t hfe_rb_u64(struct hfe_rb *r);
double hfe_rb_f64(struct hfe_rb *r);
/* A string in new memory (malloc), or NULL. */
char *hfe_rb_str(struct hfe_rb *r);

/* Sends the message; 0, or -1 when the other end is gone. */
int hfe_wire_send(int fd, uint32_t type, const struct hfe_wb *b);
/* Reads one whole message, blocking.  Returns 0, or -1 at EOF or error. */
int hfe_wire_recv(int fd, uint32_t *type, struct hfe_wb *b);

/* A request; read back into q, whose strings are new memory that
 * hfe_wire_free_req frees. */
void hfe_wire_put_req(struct hfe_wb *b, const struct hfe_request *q);
void hfe_wire_get_req(struct hfe_rb *r, struct hfe_request *q);
void hfe_wire_free_req(struct hfe_request *q);
/* A result; read back into s in host memory, as a backend fills it. */
void hfe_wire_put_res(struct hfe_wb *b, const struct hfe_result *s);
void hfe_wire_get_res(struct hfe_rb *r, struct hfe_result *s);
void hfe_wire_put_info(struct hfe_wb *b, const struct hfe_model_info *in);
void hfe_wire_put_measure(struct hfe_wb *b, const struct hfe_measure *ms);

#endif /* HFEVAL_WIRE_H */
