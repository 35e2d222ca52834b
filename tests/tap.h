/*
 * tap.h - the least TAP a C test needs: numbered results, diagnostics
 * with expected and actual values, an exit status that counts failures.
 * Header-only; each test program includes it once.
 */
#ifndef HFEVAL_TAP_H
#define HFEVAL_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok_((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

static void tap_ok_(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>

static void tap_ok_(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
}

/* Integers: prints both on failure. */
#define is_int(got, want, ...)                                                 \
    do {                                                                       \
        long long g_ = (long long)(got), w_ = (long long)(want);               \
        ok(g_ == w_, __VA_ARGS__);                                             \
        if (g_ != w_)                                                          \
            printf("#   expected %lld\n#        got %lld\n", w_, g_);          \
    } while (0)

/* Strings: equal. */
#define is_str(got, want, ...)                                                 \
    do {                                                                       \
        const char *g_ = (got), *w_ = (want);                                  \
        int p_ = g_ && w_ && strcmp(g_, w_) == 0;                              \
        ok(p_, __VA_ARGS__);                                                   \
        if (!p_)                                                               \
            printf("#   expected '%s'\n#        got '%s'\n",                   \
                   w_ ? w_ : "(null)", g_ ? g_ : "(null)");                    \
    } while (0)

/* Strings: got contains want. */
#define like(got, want, ...)                                                   \
    do {                                                                       \
        const char *g_ = (got), *w_ = (want);                                  \
        int p_ = g_ && w_ && strstr(g_, w_) != NULL;                           \
        ok(p_, __VA_ARGS__);                                                   \
        if (!p_)                                                               \
            printf(                                                            \
                "#   expected to contain '%s'\n#                 got '%s'\n",  \
                w_ ? w_ : "(null)", g_ ? g_ : "(null)");                       \
    } while (0)

static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif /* HFEVAL_TAP_H */
