/*
 * gpumon.h - device memory and driver version from the GPU's management
 * library (NVML, ROCm SMI), loaded at run time.  See gpumon.c.
 */
#ifndef HFEVAL_LLAMA_GPUMON_H
#define HFEVAL_LLAMA_GPUMON_H

#include <stdint.h>

/* Opens the library once; harmless to call again, and where it is missing. */
void eng_gpu_open(void);
/* The driver's version ("580.95.05"), or "unknown". */
const char *eng_gpu_driver(void);
/* "nvml", "rocm-smi" or "none". */
const char *eng_gpu_source(void);
/* This process's memory on the device with that PCI bus id, 0 when it is
 * not known; *device_used gets the device's used memory (all processes),
 * 0 when not known. */
uint64_t eng_gpu_used(const char *pci, uint64_t *device_used);

#endif
