/*
 * gpumon.c - the GPU's own account of this process: its device memory
 * and the driver's version, from NVML (NVIDIA) or ROCm SMI (AMD).  Both
 * are opened with dlopen, so neither is needed to build or to run: where
 * one is missing, the figures are 0 and the records say "unknown".
 *
 * NVML lists a device's processes by PID; inside a PID namespace (a
 * container) it sees the host's PIDs, and this process is not found: the
 * device's used memory above what was used when the model opened is
 * taken instead, and eng_gpu_source() says so.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gpumon.h"

#if defined(HFE_GPU_CUDA)
typedef struct {
    unsigned int pid;
    unsigned long long used;
    unsigned int gpu_instance, compute_instance;
} nvml_proc;
typedef struct {
    unsigned long long total, free, used;
} nvml_mem;
typedef void *nvml_dev;

static struct {
    int (*by_pci)(const char *, nvml_dev *);
    int (*procs)(nvml_dev, unsigned int *, nvml_proc *);
    int (*mem)(nvml_dev, nvml_mem *);
} nv;
#elif defined(HFE_GPU_ROCM)
typedef struct {
    uint32_t process_id, pasid;
    uint64_t vram_usage, sdma_usage;
    uint32_t cu_occupancy;
} rsmi_proc;

static int (*rsmi_by_pid)(uint32_t, rsmi_proc *);
#endif

static int state; /* 0 not tried, 1 open, -1 unavailable */
static char driver[96] = "unknown";
static const char *source = "none";

static void *fn(void *dl, const char *name)
{
    return dl ? dlsym(dl, name) : NULL;
}

void eng_gpu_open(void)
{
    void *dl;

    if (state)
        return;
    state = -1;
#if defined(HFE_GPU_CUDA)
    {
        int (*init)(void), (*ver)(char *, unsigned int);

        dl = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
        *(void **)&init = fn(dl, "nvmlInit_v2");
        *(void **)&ver = fn(dl, "nvmlSystemGetDriverVersion");
        *(void **)&nv.by_pci = fn(dl, "nvmlDeviceGetHandleByPciBusId_v2");
        *(void **)&nv.procs = fn(dl, "nvmlDeviceGetComputeRunningProcesses_v3");
        *(void **)&nv.mem = fn(dl, "nvmlDeviceGetMemoryInfo");
        if (!init || !nv.by_pci || !nv.procs || !nv.mem || init() != 0)
            return;
        if (ver)
            ver(driver, sizeof(driver));
        source = "nvml";
    }
#elif defined(HFE_GPU_ROCM)
    {
        int (*init)(uint64_t), (*ver)(int, char *, uint32_t);

        dl = dlopen("librocm_smi64.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!dl)
            dl = dlopen("librocm_smi64.so", RTLD_NOW | RTLD_LOCAL);
        *(void **)&init = fn(dl, "rsmi_init");
        *(void **)&ver = fn(dl, "rsmi_version_str_get");
        *(void **)&rsmi_by_pid = fn(dl, "rsmi_compute_process_info_by_pid_get");
        if (!init || !rsmi_by_pid || init(0) != 0)
            return;
        if (ver) /* RSMI_SW_COMP_DRIVER */
            ver(0, driver, sizeof(driver));
        source = "rocm-smi";
    }
#else
    (void)dl;
    (void)fn;
    return;
#endif
    state = 1;
}

const char *eng_gpu_driver(void)
{
    return driver;
}

const char *eng_gpu_source(void)
{
    return source;
}

uint64_t eng_gpu_used(const char *pci, uint64_t *device_used)
{
    *device_used = 0;
    if (state != 1 || !pci)
        return 0;
#if defined(HFE_GPU_CUDA)
    {
        nvml_proc p[256];
        nvml_mem mem;
        unsigned int n = 256, i;
        nvml_dev d;

        if (nv.by_pci(pci, &d) != 0)
            return 0;
        if (nv.mem(d, &mem) == 0)
            *device_used = mem.used;
        if (nv.procs(d, &n, p) != 0)
            return 0;
        for (i = 0; i < n; i++)
            if (p[i].pid == (unsigned int)getpid())
                return p[i].used;
    }
#elif defined(HFE_GPU_ROCM)
    {
        rsmi_proc p;

        /* ROCm SMI counts a process's VRAM over all its devices */
        if (rsmi_by_pid((uint32_t)getpid(), &p) == 0)
            return p.vram_usage;
    }
#endif
    return 0;
}
