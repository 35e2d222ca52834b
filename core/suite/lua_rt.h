/*
 * lua_rt.h - the Lua 5.4 runtime suites run in.
 *
 * One state per suite.  The suite file is loaded as text only (never
 * bytecode), inside a sandbox: the base, string, table, math and utf8
 * libraries without dofile, loadfile, load, require and string.dump; no
 * io, os, package or debug (naming one raises "the sandbox forbids ...").
 * A memory cap and a time limit per call (an instruction-count hook
 * checks the clock) bound what a suite can take; a suite cannot catch the
 * time limit (pcall, xpcall and coroutine.resume pass it on), and gets no
 * __gc metamethods (finalizers run where no hook reaches them).  Every
 * call into Lua is protected and reports the suite's file and line with a
 * traceback: the harness reads what a suite gives (its tables, what its
 * functions return) only inside hfe_lua_run(), where a metamethod that
 * throws, loops or eats memory is the suite's error (HFE_EXIT_SUITE).
 *
 * The suite gets the `hfe` library (core/lua_hfe.c): data readers confined
 * to the suite's directory and the paths given with --set, JSON, PCRE2
 * regular expressions with match and depth limits, and logging.
 *
 * Not thread-safe: one state, one thread.
 */
#ifndef HFEVAL_LUA_RT_H
#define HFEVAL_LUA_RT_H

#include <stddef.h>

#include <lua.h>

#include "hfeval.h"

struct hfe_lua_opts {
    /* bytes; 0: $HFEVAL_LUA_MEM_LIMIT MiB, else 1 GiB */
    size_t mem_limit;
    /* seconds a call may run; 0: $HFEVAL_LUA_TIME_LIMIT, else 60 */
    double time_limit;
    /* --set key=value pairs, readable as hfe.set.key; a value that names
     * an existing file or directory also opens it to the readers. */
    const char *const *set_keys;
    const char *const *set_values;
    size_t n_set;
    /* a JSONL line that does not parse is skipped and counted, not an
     * error (--skip-bad-lines) */
    int skip_bad_lines;
};

struct hfe_lua;
struct lua_State;

/* For the readers: a data line does not parse.  Returns 1 when it is to
 * be skipped (and counts it), 0 when it is an error (exit status 6). */
int hfe_lua_bad_line(struct lua_State *L);
/* on: an error raised from now on is the data's (exit status 6); off:
 * it is not.  Returns 1. */
int hfe_lua_data_error(struct lua_State *L, int on);
/* Data lines skipped so far. */
size_t hfe_lua_bad_lines(const struct hfe_lua *s);

/* Loads and runs the suite file; it must return a table, which is left in
 * the registry (hfe_lua_push_suite).  Returns 0, or HFE_EXIT_SUITE with
 * "suite.lua:LINE: ..." in err and *out NULL. */
int hfe_lua_open(const char *path, const struct hfe_lua_opts *o,
                 struct hfe_lua **out, struct hfe_err *err);
/* The same, running text as if it were the file at path (its directory
 * the suite's, its name in messages): the adapter for task files that
 * are not Lua (lmeval.c). */
int hfe_lua_open_text(const char *path, const char *text, size_t len,
                      const struct hfe_lua_opts *o, struct hfe_lua **out,
                      struct hfe_err *err);
void hfe_lua_close(struct hfe_lua *s);

lua_State *hfe_lua_state(struct hfe_lua *s);
/* The runtime a state belongs to (the readers' and lmeval.c's). */
struct hfe_lua *hfe_lua_runtime(lua_State *L);
/* Pushes the suite's table. */
void hfe_lua_push_suite(struct hfe_lua *s);

/* Calls the function below its nargs arguments, protected, with the time
 * limit; leaves nres results.  Returns 0, or HFE_EXIT_SUITE with the
 * message and traceback in err (and nothing pushed); the message names
 * the suite's file, and its line where Lua gives one.  Inside
 * hfe_lua_run() a call has a limit of its own, and the enclosing one's
 * starts again when it returns. */
int hfe_lua_call(struct hfe_lua *s, int nargs, int nres, struct hfe_err *err);

/* The door to the state: runs fn(L) with ud as its one argument (a light
 * userdata), as hfe_lua_call() runs a suite function, so that every
 * lua_* call fn makes is protected, under the time limit and the memory
 * cap.  fn returns 0 and reports through ud; an error it raises, or a
 * suite function or metamethod raises under it, is HFE_EXIT_SUITE with
 * the message in err.  An error leaves fn by longjmp: it must not hold
 * memory of its own across a lua_* call that may raise. */
int hfe_lua_run(struct hfe_lua *s, lua_CFunction fn, void *ud,
                struct hfe_err *err);

/* A data path as the suite means it: relative to the suite's directory.
 * Caller frees. */
char *hfe_lua_resolve(struct hfe_lua *s, const char *path);
/* Is path (resolved) inside a directory the suite may read? */
int hfe_lua_may_read(struct hfe_lua *s, const char *path);

/* The readers note each file they open (resolved path); the run record
 * lists them with their digests.  The pointers live as long as s. */
void hfe_lua_note_read(struct hfe_lua *s, const char *path);
size_t hfe_lua_reads(const struct hfe_lua *s, const char *const **paths);

/* Opens the hfe library into the state (core/lua_hfe.c). */
int hfe_lua_open_hfe(lua_State *L);

/* Pushes a cJSON value as Lua, as hfe.json.decode does (lua_hfe.c). */
struct cJSON;
void hfe_lua_push_json(lua_State *L, const struct cJSON *v);

#endif /* HFEVAL_LUA_RT_H */
