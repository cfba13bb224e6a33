// The processor's instruction-set features, read with CPUID and XGETBV (the OS must also save the registers).
#ifndef CNCLIP_CPU_FEATURES_H
#define CNCLIP_CPU_FEATURES_H
#include <stdbool.h>

/// What this CPU and OS let a program use.
typedef struct {
    bool avx2, fma;
    /// AVX-512 Foundation + CD + BW + DQ + VL (Skylake-SP and later), with ZMM state enabled by the OS.
    bool avx512core;
    bool avx512vnni, avx512bf16, avxvnni;
    /// AMX tiles with int8 / bf16 multiplication (Sapphire Rapids and later), with tile state enabled by the OS.
    bool amxtile, amxint8, amxbf16;
    bool isAMD;
} cnclip_cpu_features;

/// Reads the features of the processor running the caller.
cnclip_cpu_features cnclip_read_cpu_features(void);

/// The OpenBLAS 0.3.21 core type (`OPENBLAS_CORETYPE` value) whose kernels this CPU runs best among those a
/// DYNAMIC_ARCH build ships ("Cooperlake", "SkylakeX", "Zen", "Haswell"), or NULL when no AVX2 core fits.
const char *cnclip_best_openblas_core(cnclip_cpu_features features);

/// The vector level (0: SSE, 1: AVX, 2: AVX2, 3: AVX-512) of an OpenBLAS core name such as "Prescott" or
/// "SkylakeX", compared case-insensitively; unknown names are level 0.
int cnclip_openblas_core_level(const char *core);
#endif
