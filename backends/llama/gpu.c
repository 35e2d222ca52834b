/*
 * gpu.c - the front of the llama-cuda and llama-rocm modules.
 *
 * Such a module is this small file, hfe-llama-<variant>.so, and an engine
 * beside it, engine/llama-<variant>.so: the llama backend (llama.c and
 * friends) linked against llama.cpp built for the GPU.  The engine needs
 * the GPU's runtime libraries (and, for CUDA, the driver's libcuda.so.1)
 * just to load, so this front asks the driver first, with dlopen, and
 * loads the engine only where the GPU can run it.  Where it cannot, the
 * module is listed as "not usable here" with the driver's own reason,
 * and `backend=auto` passes it by.
 *
 * Nothing here starts CUDA or HIP in the host's process: the host forks a
 * worker for each model (core/worker.c), and a GPU context does not
 * survive fork().  So the driver is asked in a child process of its own,
 * and the engine's probe, which would start llama.cpp's GPU backend, is
 * left out of the table handed to the host; the engine meets the GPU
 * first in the worker, when it opens a model.
 *
 * Built with HFE_GPU_CUDA or HFE_GPU_ROCM defined.  HFE_GPU_RUNTIME is
 * the toolkit's version as the driver reports it (CUDA 13.0 is 13000).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hfeval.h"
#include "hfeval-plugin.h"
#include "options.h"

#ifndef HFE_LLAMA_BUILD /* CMake says which llama.cpp */
#define HFE_LLAMA_BUILD "llama.cpp"
#endif
#ifndef HFE_GPU_RUNTIME
#define HFE_GPU_RUNTIME 0
#endif

#if defined(HFE_GPU_CUDA)
#define VARIANT "llama-cuda"
#define WHAT    "NVIDIA GPUs (CUDA)"
#elif defined(HFE_GPU_ROCM)
#define VARIANT "llama-rocm"
#define WHAT    "AMD GPUs (ROCm/HIP)"
#else
#error "define HFE_GPU_CUDA or HFE_GPU_ROCM"
#endif

typedef int (*fn_int)(int);
typedef int (*fn_pint)(int *);

static char why_not[512];

#if defined(HFE_GPU_CUDA)
/* The driver API needs no header: every call used here takes ints. */
static int driver_ok(char *why, size_t size)
{
    void *dl = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    fn_int init;
    fn_pint version, count;
    int rc, v = 0, n = 0;

    if (!dl) {
        snprintf(why, size, "no NVIDIA driver (%s)", dlerror());
        return 0;
    }
    init = (fn_int)dlsym(dl, "cuInit");
    version = (fn_pint)dlsym(dl, "cuDriverGetVersion");
    count = (fn_pint)dlsym(dl, "cuDeviceGetCount");
    if (!init || !version || !count) {
        snprintf(why, size, "libcuda.so.1 lacks the driver API");
        return 0;
    }
    if ((rc = version(&v)) == 34) { /* CUDA_ERROR_STUB_LIBRARY */
        snprintf(why, size,
                 "libcuda.so.1 is the CUDA toolkit's stub, not a driver");
        return 0;
    }
    if (rc != 0) {
        snprintf(why, size,
                 "the NVIDIA driver does not answer (cuDriverGetVersion: %d)",
                 rc);
        return 0;
    }
    if (v / 1000 < HFE_GPU_RUNTIME / 1000) {
        snprintf(why, size,
                 "the NVIDIA driver supports CUDA %d.%d; this module was "
                 "built with CUDA %d.%d (a newer driver is needed)",
                 v / 1000, v % 1000 / 10, HFE_GPU_RUNTIME / 1000,
                 HFE_GPU_RUNTIME % 1000 / 10);
        return 0;
    }
    rc = init(0);
    if (rc == 100) { /* CUDA_ERROR_NO_DEVICE */
        snprintf(why, size, "no CUDA device (driver %d.%d)", v / 1000,
                 v % 1000 / 10);
        return 0;
    }
    if (rc != 0) {
        snprintf(why, size, "the NVIDIA driver does not start (cuInit: %d)",
                 rc);
        return 0;
    }
    if ((rc = count(&n)) != 0 || n < 1) {
        snprintf(why, size, "no CUDA device (driver %d.%d)", v / 1000,
                 v % 1000 / 10);
        return 0;
    }
    return 1; /* the driver stays loaded: the engine uses it next */
}
#else
static int driver_ok(char *why, size_t size)
{
    static const char *const names[] = {"libamdhip64.so.7", "libamdhip64.so.6",
                                        "libamdhip64.so"};
    void *dl = NULL;
    fn_int init;
    fn_pint count;
    size_t i;
    int rc, n = 0;

    if (access("/dev/kfd", R_OK | W_OK) != 0) {
        snprintf(why, size, "no AMD GPU driver (/dev/kfd: %m)");
        return 0;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]) && !dl; i++)
        dl = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        snprintf(why, size, "no HIP runtime (libamdhip64.so: %s)", dlerror());
        return 0;
    }
    init = (fn_int)dlsym(dl, "hipInit");
    count = (fn_pint)dlsym(dl, "hipGetDeviceCount");
    if (!init || !count) {
        snprintf(why, size, "libamdhip64 lacks hipInit or hipGetDeviceCount");
        return 0;
    }
    if ((rc = init(0)) != 0 || (rc = count(&n)) != 0 || n < 1) {
        snprintf(why, size, "no AMD GPU device (HIP error %d)", rc);
        return 0;
    }
    return 1;
}
#endif

/* driver_ok() in a child process: the answer, without CUDA in this one */
static int driver_ok_apart(char *why, size_t size)
{
    size_t n = 0;
    ssize_t r;
    pid_t pid;
    int fd[2], st;

    why[0] = '\0';
    if (pipe(fd) != 0) {
        snprintf(why, size, "cannot ask the driver: pipe: %m");
        return 0;
    }
    if ((pid = fork()) < 0) {
        snprintf(why, size, "cannot ask the driver: fork: %m");
        close(fd[0]);
        close(fd[1]);
        return 0;
    }
    if (pid == 0) {
        char w[512];
        int ok = driver_ok(w, sizeof(w));

        if (!ok && write(fd[1], w, strlen(w)) < 0)
            _exit(2);
        _exit(ok ? 0 : 1); /* _exit: no atexit handler of the host's */
    }
    close(fd[1]);
    while (n + 1 < size && ((r = read(fd[0], why + n, size - 1 - n)) > 0 ||
                            (r < 0 && errno == EINTR)))
        n += r > 0 ? (size_t)r : 0;
    why[n] = '\0';
    close(fd[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 1;
    if (!why[0]) {
        if (WIFSIGNALED(st))
            snprintf(why, size, "asking the driver killed the process (%s)",
                     strsignal(WTERMSIG(st)));
        else
            snprintf(why, size, "asking the driver failed (status %d)",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    return 0;
}

/* ---- the table of a module that cannot run here ------------------------- */

static int idle_probe(char *why, size_t why_size)
{
    snprintf(why, why_size, "%s", why_not);
    return -1;
}

static int idle_open(const char *uri, const struct hfe_option *opts,
                     size_t n_opts, struct hfe_model **out, char *err,
                     size_t err_size)
{
    (void)uri;
    (void)opts;
    (void)n_opts;
    *out = NULL;
    snprintf(err, err_size, "%s is not usable here: %s", VARIANT, why_not);
    return HFE_EBACKEND;
}

static void idle_close(struct hfe_model *m)
{
    (void)m;
}

static int idle_info(struct hfe_model *m, struct hfe_model_info *info)
{
    (void)m;
    (void)info;
    return HFE_EBACKEND;
}

static int idle_submit(struct hfe_model *m, const struct hfe_batch *b)
{
    (void)m;
    (void)b;
    return HFE_EBACKEND;
}

static const char *const handles[] = {".gguf", NULL};
static const char *const option_keys[] = {HFE_LLAMA_OPTION_KEYS};

static const struct hfe_backend idle = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_backend),
    .name = VARIANT,
    .version = HFEVAL_VERSION "+" HFE_LLAMA_BUILD,
    .description = "llama.cpp engine, in-process, on " WHAT,
    .caps = HFE_LLAMA_CAPS | HFE_CAP_GPU,
    .handles = handles,
    .options = option_keys,
    .probe = idle_probe,
    .open = idle_open,
    .close = idle_close,
    .info = idle_info,
    .submit = idle_submit,
};

HFE_EXPORT const struct hfe_backend *hfe_plugin_entry(const struct hfe_host *h)
{
    static struct hfe_backend table; /* the engine's, less its probe */
    static const struct hfe_backend *engine;
    const struct hfe_backend *e;
    hfe_plugin_entry_fn entry;
    char path[4096], *slash;
    Dl_info self;
    void *dl, *p;

    if (engine)
        return engine;
    if (!driver_ok_apart(why_not, sizeof(why_not)))
        return &idle;
    if (!dladdr((void *)hfe_plugin_entry, &self) || !self.dli_fname) {
        snprintf(why_not, sizeof(why_not), "cannot tell where it lies");
        return &idle;
    }
    snprintf(path, sizeof(path), "%s", self.dli_fname);
    slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path,
             sizeof(path) - (size_t)(slash ? slash + 1 - path : 0),
             "engine/%s.so", VARIANT);
    /* RTLD_NODELETE: the engine leaves its logger in llama.cpp */
    if (!(dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE))) {
        snprintf(why_not, sizeof(why_not), "cannot load its engine: %s",
                 dlerror());
        return &idle;
    }
    if (!(p = dlsym(dl, HFE_PLUGIN_ENTRY))) {
        snprintf(why_not, sizeof(why_not), "its engine has no symbol %s",
                 HFE_PLUGIN_ENTRY);
        return &idle;
    }
    memcpy(&entry, &p, sizeof(entry));
    if (!(e = entry(h)) || e->abi_major != HFE_ABI_MAJOR)
        return e; /* the host says what is wrong with it */
    memcpy(&table, e,
           e->struct_size < sizeof(table) ? e->struct_size : sizeof(table));
    table.struct_size =
        (uint32_t)(e->struct_size < sizeof(table) ? e->struct_size
                                                  : sizeof(table));
    table.probe = NULL; /* it would start the GPU here: see the top */
    engine = &table;
    return engine;
}
