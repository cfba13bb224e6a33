#!/usr/bin/env bash
# The checks of a portable cnclip on a many-core server (packed by ../shared/tools/pack-portable.sh): which OpenBLAS
# core runs (and cnclip's fix of Debian OpenBLAS's detection), ViT-B-16 batch 8 / RoBERTa-base batch 32 throughput at
# 2 and all threads for fp32, int8 and bf16, peak RSS, and the int8/bf16 feature quality against fp32.
# Usage: Scripts/bench/many-cores.sh PATH/TO/cnclip [THREADS...]   (default threads: 2 and every core)
set -uo pipefail
cnclip=$1; shift
threads=("$@"); [[ ${#threads[@]} -gt 0 ]] || threads=(2 "$(nproc)")
lscpu | grep -E 'Model name|^CPU\(s\)|Flags' | sed -E 's/(Flags:).*/\1 '"$(grep -oE 'avx512f|avx512_bf16|avx512_vnni|amx_bf16|amx_int8|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"'/'
echo "== OpenBLAS's own choice, then cnclip's (OPENBLAS_VERBOSE=2 prints each library start)"
OPENBLAS_VERBOSE=2 "$cnclip" bench gemm --threads 2 --repetitions 3 --warmup 1 2>&1 | grep -E 'Core|OpenBLAS core|vit mlp b8'
for t in "${threads[@]}"; do
    for p in fp32 int8 bf16; do
        echo "== $p, $t threads"
        timeout 150 "$cnclip" bench encode --threads "$t" --precision "$p" --repetitions 3 --warmup 1 2>&1 \
            | grep -E 'items/s|precision|resident|not available|Error'
    done
done
echo "== quality against fp32 (random full-size weights)"
timeout 200 "$cnclip" bench quality --count 32 --precisions int8,bf16 2>&1 | grep -vE '^precision'
