/*
 * plugin.h - finding, loading and checking backend modules.
 *
 * Modules are shared objects named hfe-<name>.so, loaded only from the
 * plugin directory beside the binary (<exe>/../lib/hfeval) and from the
 * directories in HFEVAL_PLUGIN_PATH (colon-separated).  Each is opened with
 * RTLD_NOW|RTLD_LOCAL, asked for its method table through hfe_plugin_entry,
 * and checked: ABI major, struct size, required slots, then its probe.
 * A module that fails any step is kept in the list with the reason, so
 * `hfeval plugins` can show it; it is never used.
 *
 * Not thread-safe: load and unload from the main thread.
 */
#ifndef HFEVAL_PLUGIN_LOADER_H
#define HFEVAL_PLUGIN_LOADER_H

#include <signal.h>

#include "hfeval-plugin.h"
#include "hfeval.h"

enum hfe_plug_state {
    HFE_PLUG_USABLE = 0,   /* loaded, checked, probe passed               */
    HFE_PLUG_UNUSABLE = 1, /* loaded and valid; its probe said no         */
    HFE_PLUG_BROKEN = 2    /* not loadable or not a valid hfeval plugin   */
};

struct hfe_plugin {
    char *path;
    void *dl;                     /* NULL when broken                    */
    const struct hfe_backend *be; /* NULL when broken                    */
    enum hfe_plug_state state;
    char why[512]; /* reason when not usable              */
};

struct hfe_plug_set {
    struct hfe_plugin *v;
    size_t n;
};

/* The services every plugin receives. */
extern const struct hfe_host hfe_plug_host;

/* Loads one module file.  Always fills *p (state and why say how it went);
 * returns 0 when usable, -1 otherwise. */
int hfe_plug_load(const char *path, struct hfe_plugin *p);
void hfe_plug_unload(struct hfe_plugin *p);

/* Scans the plugin directory and HFEVAL_PLUGIN_PATH; modules with the same
 * name: the first found wins and later ones are marked broken with that
 * reason.  The set owns everything; free with hfe_plug_set_free(). */
void hfe_plug_scan(struct hfe_plug_set *set);
void hfe_plug_set_free(struct hfe_plug_set *set);

/* The plugin directory beside the binary. */
const char *hfe_plug_default_dir(void);

/* The usable plugin called name, or NULL. */
struct hfe_plugin *hfe_plug_find(struct hfe_plug_set *set, const char *name);

/* The usable plugin that handles uri (a scheme prefix or a file suffix in
 * its `handles` list), or NULL with the reason in err. */
struct hfe_plugin *hfe_plug_for_uri(struct hfe_plug_set *set, const char *uri,
                                    struct hfe_err *err);

/* backend=auto: the usable plugin with HFE_CAP_GPU that handles uri,
 * else hfe_plug_for_uri's choice. */
struct hfe_plugin *hfe_plug_best_for_uri(struct hfe_plug_set *set,
                                         const char *uri, struct hfe_err *err);

struct hfe_model_list;

/* Chooses the backend of every model of a list (backend=NAME, backend=auto
 * (hfe_plug_best_for_uri), else by URI) and checks each model's keys against
 * it.  Writes the choices into out[i] when out is not NULL.  Returns 0,
 * HFE_EXIT_PLUGIN (no usable backend) or HFE_EXIT_MODELS (an unknown key), err
 * naming the line. */
int hfe_models_bind(const struct hfe_model_list *l, struct hfe_plug_set *set,
                    struct hfe_plugin **out, struct hfe_err *err);

/* Capability bits as "loglik,rolling,..." into buf. */
const char *hfe_plug_caps_str(uint64_t caps, char *buf, size_t size);

/* Stop taking work: set by the run's Ctrl-C handler and when its journal
 * cannot be written; plugins read it through host->cancelled. */
extern volatile sig_atomic_t hfe_plug_cancel;

#endif /* HFEVAL_PLUGIN_LOADER_H */
