/*
 * lmeval.h - lm-evaluation-harness task files (.yaml) run as suites:
 * the Lua runtime opened on an adapter that builds the task from the
 * file (lmeval.c).
 */
#ifndef HFEVAL_LMEVAL_H
#define HFEVAL_LMEVAL_H

#include "hfeval.h"
#include "lua_rt.h"

/* Is path a task file (.yaml, .yml)? */
int hfe_lmeval_is_task_file(const char *path);

/* Whether hfe_suite_load runs path as lm-evaluation-harness's: a task or
 * group file (.yaml, .yml), a directory holding task files, or DIR/NAME
 * naming a task, tag or group defined in such a directory. */
int hfe_lmeval_is_task(const char *path);

/* The runtime for the task file at path, its suite table built (as
 * hfe_lua_open does for a Lua suite). */
int hfe_lmeval_open(const char *path, const struct hfe_lua_opts *o,
                    struct hfe_lua **out, struct hfe_err *err);

/* Pushes the hfe.lmeval table (load, template). */
struct lua_State;
void hfe_lmeval_open_lib(struct lua_State *L);

#endif /* HFEVAL_LMEVAL_H */
