/*
 * sha256.h - SHA-256 (FIPS 180-4) of files and buffers, for run records:
 * which model file, suite and data produced a number.
 *
 * Thread-safe: no shared state.
 */
#ifndef HFEVAL_SHA256_H
#define HFEVAL_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct hfe_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t n;
};

void hfe_sha256_init(struct hfe_sha256 *c);
void hfe_sha256_add(struct hfe_sha256 *c, const void *p, size_t n);
/* 64 hex digits and a NUL into hex. */
void hfe_sha256_hex(struct hfe_sha256 *c, char hex[65]);

/* A file's digest; 0, or -1 with errno. */
int hfe_sha256_file(const char *path, char hex[65]);

#endif /* HFEVAL_SHA256_H */
