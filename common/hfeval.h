/*
 * hfeval.h - what every part of the core shares: version, exit statuses,
 * error messages, small allocation and string helpers.
 *
 * Naming: the public plugin ABI is hfe_ / HFE_ (plugins/hfeval-plugin.h);
 * each core module has its own prefix (hfe_plug_, hfe_gguf_, hfe_models_);
 * file-local functions are static and carry none.
 */
#ifndef HFEVAL_CORE_H
#define HFEVAL_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define HFEVAL_VERSION "0.1.0"

/*
 * Exit statuses of the hfeval command.  Each kind of bad input has its own,
 * so a CI job can tell a broken model list from a regression.
 */
enum hfe_exit {
    HFE_EXIT_OK = 0,
    HFE_EXIT_FAIL = 1,     /* the check failed: a regression, a failed model */
    HFE_EXIT_USAGE = 2,    /* bad command line                              */
    HFE_EXIT_MODELS = 3,   /* bad model list                                */
    HFE_EXIT_MODEL = 4,    /* a model file missing, truncated or corrupt    */
    HFE_EXIT_SUITE = 5,    /* a suite failed to load or threw               */
    HFE_EXIT_DATA = 6,     /* a data line did not parse                     */
    HFE_EXIT_PLUGIN = 7,   /* no usable backend, or a broken plugin         */
    HFE_EXIT_IO = 8,       /* cannot write results                          */
    HFE_EXIT_INTERNAL = 9, /* a bug: out of memory, an assertion            */
    HFE_EXIT_INTERRUPTED = 130, /* Ctrl-C: the journal holds what was done */
};

/*
 * An error message being built: a fixed buffer, so reporting an error never
 * needs memory.  hfe_err_set() formats into it; callers prefix context
 * ("list.txt:7: ") and return a status.
 */
struct hfe_err {
    char msg[1024];
};

void hfe_err_set(struct hfe_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Puts "prefix" in front of the message already there. */
void hfe_err_prefix(struct hfe_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocation that aborts with a message on failure (the core's policy:
 * out of memory is not a recoverable input error). */
void *hfe_xmalloc(size_t n);
void *hfe_xcalloc(size_t n, size_t size);
void *hfe_xrealloc(void *p, size_t n);
char *hfe_xstrdup(const char *s);
char *hfe_xstrndup(const char *s, size_t n);
char *hfe_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable string. */
struct hfe_buf {
    char *s;
    size_t len, cap;
};
void hfe_buf_add(struct hfe_buf *b, const char *s, size_t n);
void hfe_buf_puts(struct hfe_buf *b, const char *s);
void hfe_buf_printf(struct hfe_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void hfe_buf_free(struct hfe_buf *b);
/* s as HTML or XML text or attribute value: & < > " ' as references,
 * control characters but tab, newline and return as "?" (XML 1.0 has no
 * others).  s NULL: nothing. */
void hfe_buf_markup(struct hfe_buf *b, const char *s);

/* The whole file, NUL-terminated, in *out (caller frees), its length in
 * *len.  Returns 0, or -1 with "path: reason" in err. */
int hfe_read_file(const char *path, char **out, size_t *len,
                  struct hfe_err *err);

/* Writes len bytes to path, replacing it; the file is closed on every
 * path.  Returns 0, or -1 with errno set. */
int hfe_write_file(const char *path, const void *data, size_t len);

/* mkdir -p: path and its missing parents.  Returns 0, or -1 with errno
 * set. */
int hfe_mkdirs(const char *path);

/* Edit distance, for "did you mean" hints; stops counting at `cap`. */
size_t hfe_edit_distance(const char *a, const char *b, size_t cap);

/* splitmix64 (Steele, Lea and Flood, 2014): the next of a seeded
 * stream, the same on every machine; *x is the state. */
uint64_t hfe_splitmix64(uint64_t *x);

/* Directory of the running executable (no trailing slash); owned by the
 * callee, valid for the life of the process. */
const char *hfe_exe_dir(void);

/* Human-readable byte count ("12.3 MiB") into buf. */
const char *hfe_fmt_bytes(uint64_t n, char *buf, size_t size);

/* Logging to stderr, filtered by hfe_log_level (HFEVAL_LOG=0..3). */
extern int hfe_log_level;
void hfe_log(int level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* HFEVAL_CORE_H */
