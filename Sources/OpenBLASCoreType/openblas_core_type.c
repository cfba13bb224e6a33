// Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not know processors newer than it and falls back to its SSE3
// "Prescott" kernels on them (6x slower sgemm on a Sapphire/Emerald Rapids Xeon). The core type is read once, in
// OpenBLAS's own constructor, which runs before any constructor of the executable; so this one compares the
// core OpenBLAS chose with the best one the CPU's features allow and, when OpenBLAS chose a lower vector level,
// restarts the program once with OPENBLAS_CORETYPE set. A value the user set is never overridden.
#include "openblas_core_type.h"
#include "cpu_features.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *openblas_get_corename(void);

static const char *const overriddenFromVariable = "CNCLIP_OPENBLAS_CORE_CHOSEN_BY_OPENBLAS";

const char *cnclip_openblas_core_overridden_from(void) { return getenv(overriddenFromVariable); }

__attribute__((constructor)) static void cnclip_fix_openblas_core(int argc, char **argv, char **envp) {
    (void)argc; (void)envp;
    if (getenv("OPENBLAS_CORETYPE")) return;
    const char *best = cnclip_best_openblas_core(cnclip_read_cpu_features());
    const char *chosen = openblas_get_corename();
    if (!best || !chosen || cnclip_openblas_core_level(chosen) >= cnclip_openblas_core_level(best)) return;
    setenv("OPENBLAS_CORETYPE", best, 1);
    setenv(overriddenFromVariable, chosen, 1);
    execv("/proc/self/exe", argv);
    // Still here: the restart failed; run on with OpenBLAS's choice and say so.
    fprintf(stderr, "cnclip: OpenBLAS chose its %s kernels on a CPU that runs %s; restarting with "
            "OPENBLAS_CORETYPE=%s failed, continuing slowly (set OPENBLAS_CORETYPE=%s yourself)\n",
            chosen, best, best, best);
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(overriddenFromVariable);
}
