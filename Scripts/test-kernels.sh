#!/usr/bin/env bash
# Reruns the numeric test suites once per OpenBLAS kernel this CPU can execute, so that a test whose expected
# output depends on one kernel's rounding fails on the machine it was written on, not on the next one.
#
# The core types come from /proc/cpuinfo's flags: SSE3 ("pni", Prescott), SSE4.2 (Nehalem), AVX (Sandybridge),
# AVX2 + FMA (Haswell, Zen), AVX-512 F/BW/DQ/VL (SkylakeX) and AVX512-BF16 (Cooperlake). The plain `make test`
# pass already ran the default kernel. Needs the tests built (`swift build -c release --build-tests`).
#
# Then the oneDNN suites once per ONEDNN_MAX_CPU_ISA cap the CPU reaches (SSE41, AVX, AVX2, AVX512_CORE,
# AVX512_CORE_VNNI, AVX512_CORE_BF16, AVX512_CORE_AMX), so int8/bf16 kernels of every ISA are checked too.
#
# Usage: Scripts/test-kernels.sh [--list]   (--list prints the passes and exits)
set -euo pipefail
cd "$(dirname "$0")/.."

# Test targets (`Target.`) or classes (`Target.Class/`) whose results go through BLAS: a regular expression for
# `swift test --filter`, which matches it against `Target.Class/testMethod`.
NUMERIC_SUITES=${NUMERIC_SUITES:-'^(TensorTests|ModelsTests|RetrievalTests|TrainingTests|HuggingFaceTests|ONNXExportTests)\.|^DistributedTests\.(ReferenceDDPTests|ReferenceMainTests)/|^SearchIndexTests\.(ExactSearchTests|IndexerTests)/'}

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

# Test classes whose results go through oneDNN.
ONEDNN_SUITES=${ONEDNN_SUITES:-'^QuantizedTests\.'}
caps=()
has sse4_1 && caps+=(SSE41)
has avx && caps+=(AVX)
has avx2 fma && caps+=(AVX2)
has avx512f avx512bw avx512dq avx512vl && caps+=(AVX512_CORE)
has avx512f avx512bw avx512dq avx512vl avx512_vnni && caps+=(AVX512_CORE_VNNI)
has avx512f avx512bw avx512dq avx512vl avx512_vnni avx512_bf16 && caps+=(AVX512_CORE_BF16)
has avx512f avx512bw avx512dq avx512vl avx512_vnni avx512_bf16 amx_tile amx_int8 amx_bf16 && caps+=(AVX512_CORE_AMX)
for cap in "${caps[@]}"; do passes+=("ONEDNN_MAX_CPU_ISA=$cap"); done

if [[ "${1:-}" == "--list" ]]; then
    printf '%s\n' "${passes[@]}"
    exit 0
fi

failed=()
for pass in "${passes[@]}"; do
    echo "== numeric suites with $pass" >&2
    start=$SECONDS
    suites=$NUMERIC_SUITES
    [[ "$pass" == ONEDNN_MAX_CPU_ISA=* ]] && suites=$ONEDNN_SUITES
    if env "$pass" swift test -c release --skip-build --filter "$suites" >"${TMPDIR:-/tmp}/test-kernels.log" 2>&1; then
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
echo "numeric suites passed under all ${#passes[@]} kernel settings: ${passes[*]}" >&2
