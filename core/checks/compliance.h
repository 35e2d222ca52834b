/*
 * compliance.h - metadata compliance: provenance, license and
 * transparency checks for a model, against its lineage parent where the
 * model list names one.  Presence and consistency checks only; no legal
 * verdicts.  The fields and their traps: ../shared/compliance.md.
 *
 * Inputs per model: its GGUF metadata (every key; long arrays reduced to
 * their length, the tokenizer to a fingerprint), and optionally a model
 * card's front matter and a saved Hub model-info JSON (card.h).
 *
 * Each check has an id, a severity, a result and its evidence (the keys
 * and values it read).  Profiles group checks into a score (passed over
 * applicable); open-source-ai also gives a class, never better than the
 * parent's ("a derivative inherits its parent's gaps", OSI OSAID 1.0).
 *
 * Not thread-safe (cJSON).
 */
#ifndef HFEVAL_COMPLIANCE_H
#define HFEVAL_COMPLIANCE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "gguf_meta.h"
#include "hfeval.h"

enum hfe_cc_sev { HFE_CC_ERROR, HFE_CC_WARNING, HFE_CC_INFO };
enum hfe_cc_result { HFE_CC_PASS, HFE_CC_FAIL, HFE_CC_NA };
/* Ranked: a class is never above its parent's. */
enum hfe_cc_class {
    HFE_CC_RESTRICTED,
    HFE_CC_OPEN_WEIGHTS,
    HFE_CC_OPEN_SOURCE
};

extern const char *const hfe_cc_sev_names[3];
extern const char *const hfe_cc_result_names[3];
extern const char *const hfe_cc_class_names[3]; /* "restricted", ... */

/* What is known of one model. */
struct hfe_cc_model {
    const char *name;   /* as the model list names it */
    cJSON *meta;        /* GGUF keys -> values (owned)                  */
    cJSON *card;        /* card front matter, or NULL (owned)           */
    cJSON *hub;         /* Hub model info, or NULL (owned)              */
    char tokenizer[17]; /* FNV-1a 64 of tokens and special ids, or "" */
    uint64_t n_params;
    char quant[32];
};

/* Reads a model's GGUF metadata (and card / hub when given).  Returns 0
 * or an exit status with err. */
int hfe_cc_model_load(struct hfe_cc_model *m, const char *name,
                      const char *gguf, const char *card, const char *hub,
                      struct hfe_err *err);
void hfe_cc_model_free(struct hfe_cc_model *m);

#define HFE_CC_MAX 48 /* the built-in checks and 32 of a suite's */

struct hfe_cc_check {
    const char *id;
    enum hfe_cc_sev sev;
    enum hfe_cc_result result;
    char evidence[400];
};

struct hfe_cc_profile {
    const char *name;
    unsigned passed, applicable;
};

struct hfe_cc_report {
    struct hfe_cc_check v[HFE_CC_MAX];
    size_t n;
    struct hfe_cc_profile prof[3]; /* provenance, transparency,
                                      open-source-ai */
    enum hfe_cc_class class_;
};

/* Runs every check on m, with its parent (NULL for a root).  The parent's
 * report, when given, has been run and caps m's class.  Returns 0, or
 * HFE_EXIT_INTERNAL with err on a broken invariant (a bug). */
int hfe_cc_run(const struct hfe_cc_model *m, const struct hfe_cc_model *base,
               const struct hfe_cc_report *base_report,
               struct hfe_cc_report *out, struct hfe_err *err);

/* Profile names, and whether built-in check id belongs to profile p
 * (0..2); a suite's own checks belong to none. */
extern const char *const hfe_cc_profiles[3];
int hfe_cc_in_profile(const char *id, int p);

/* The report as text (checks of profile p, or all with p < 0) or JSON. */
void hfe_cc_text(const struct hfe_cc_model *m, const char *base,
                 const struct hfe_cc_report *r, int p, struct hfe_buf *b);
void hfe_cc_json(const struct hfe_cc_model *m, const char *base,
                 const struct hfe_cc_report *r, struct hfe_buf *b);

#endif /* HFEVAL_COMPLIANCE_H */
