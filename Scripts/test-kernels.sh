#!/usr/bin/env bash
# Reruns the numeric test suites once per OpenBLAS kernel this CPU can execute, so that a test whose expected
# output depends on one kernel's rounding fails on the machine it was written on, not on the next one.
#
# The core types come from /proc/cpuinfo's flags: SSE3 ("pni", Prescott), SSE4.2 (Nehalem), AVX (Sandybridge),
# AVX2 + FMA (Haswell, Zen), AVX-512 F/BW/DQ/VL (SkylakeX) and AVX512-BF16 (Cooperlake). The plain `make test`
# pass already ran the default kernel. Needs the tests built (`swift build -c release --build-tests`).
#
# Usage: Scripts/test-kernels.sh [--list]   (--list prints the passes and exits)
set -euo pipefail
cd "$(dirname "$0")/.."

# Test targets (`Target.`) or classes (`Target.Class/`) whose results go through BLAS: a regular expression for
# `swift test --filter`, which matches it against `Target.Class/testMethod`.
NUMERIC_SUITES=${NUMERIC_SUITES:-'^(TensorTests|ModelsTests|RetrievalTests|TrainingTests)\.|^SearchIndexTests\.(ExactSearchTests|IndexerTests)/'}

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for flag in "$@"; do [[ "$flags" == *" $flag "* ]] || return 1; done; }

# Kernels in rising order of the instructions they need.
kernels=()
has pni && kernels+=(Prescott)
has sse4_2 && kernels+=(Nehalem)
has avx && kernels+=(Sandybridge)
has avx2 fma && kernels+=(Haswell Zen)
has avx512f avx512bw avx512dq avx512vl && kernels+=(SkylakeX)
has avx512f avx512bw avx512dq avx512vl avx512_bf16 && kernels+=(Cooperlake)

# Where the machine's environment already names a kernel (some hosts set OPENBLAS_CORETYPE, and OPENBLAS_L2_SIZE
# with it, because a newer kernel misbehaves there), no pass goes beyond that kernel and OPENBLAS_L2_SIZE is kept.
passes=()
for kernel in "${kernels[@]}"; do
    passes+=("OPENBLAS_CORETYPE=$kernel")
    [[ "${OPENBLAS_CORETYPE:-}" == "$kernel" ]] && break
done

if [[ "${1:-}" == "--list" ]]; then
    printf '%s\n' "${passes[@]}"
    exit 0
fi

failed=()
for pass in "${passes[@]}"; do
    echo "== numeric suites with $pass" >&2
    start=$SECONDS
    if env "$pass" swift test -c release --skip-build --filter "$NUMERIC_SUITES" >"${TMPDIR:-/tmp}/test-kernels.log" 2>&1; then
        echo "   passed in $((SECONDS - start)) s" >&2
    else
        grep -E 'error:|failed|Fatal' "${TMPDIR:-/tmp}/test-kernels.log" | head -15 >&2 || true
        failed+=("$pass")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "numeric suites failed under: ${failed[*]}" >&2
    exit 1
fi
echo "numeric suites passed under all ${#passes[@]} kernels: ${passes[*]#OPENBLAS_CORETYPE=}" >&2
