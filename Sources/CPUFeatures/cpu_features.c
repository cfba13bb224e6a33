#include "cpu_features.h"
#include <cpuid.h>
#include <stdint.h>
#include <strings.h>

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

cnclip_cpu_features cnclip_read_cpu_features(void) {
    cnclip_cpu_features f = {0};
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return f;
    unsigned int maxLeaf = eax;
    f.isAMD = ebx == 0x68747541; // "Auth" of "AuthenticAMD"
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
    bool osxsave = (ecx >> 27) & 1, fma = (ecx >> 12) & 1;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    bool osYMM = (xcr0 & 0x6) == 0x6, osZMM = (xcr0 & 0xe6) == 0xe6, osTiles = (xcr0 & 0x60000) == 0x60000;
    if (maxLeaf < 7) return f;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    unsigned int b7 = ebx, c7 = ecx, d7 = edx;
    f.fma = fma && osYMM;
    f.avx2 = ((b7 >> 5) & 1) && osYMM;
    bool avx512f = (b7 >> 16) & 1, dq = (b7 >> 17) & 1, cd = (b7 >> 28) & 1, bw = (b7 >> 30) & 1, vl = (b7 >> 31) & 1;
    f.avx512core = avx512f && dq && cd && bw && vl && osZMM;
    f.avx512vnni = f.avx512core && ((c7 >> 11) & 1);
    f.amxtile = ((d7 >> 24) & 1) && osTiles;
    f.amxint8 = f.amxtile && ((d7 >> 25) & 1);
    f.amxbf16 = f.amxtile && ((d7 >> 22) & 1);
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    f.avx512bf16 = f.avx512core && ((eax >> 5) & 1);
    f.avxvnni = f.avx2 && ((eax >> 4) & 1);
    return f;
}

const char *cnclip_best_openblas_core(cnclip_cpu_features f) {
    if (f.avx512core) return f.avx512bf16 ? "Cooperlake" : "SkylakeX";
    if (f.avx2 && f.fma) return f.isAMD ? "Zen" : "Haswell";
    return 0;
}

int cnclip_openblas_core_level(const char *core) {
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2[] = {"Haswell", "Zen", "Excavator", "Skylake"};
    static const char *const avx[] = {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller"};
    if (!core) return 0;
    for (unsigned i = 0; i < sizeof avx512 / sizeof *avx512; i++) if (!strcasecmp(core, avx512[i])) return 3;
    for (unsigned i = 0; i < sizeof avx2 / sizeof *avx2; i++) if (!strcasecmp(core, avx2[i])) return 2;
    for (unsigned i = 0; i < sizeof avx / sizeof *avx; i++) if (!strcasecmp(core, avx[i])) return 1;
    return 0;
}
