// Integer products for few activation rows (a text query's tokens), where oneDNN's int8 GEMM on AVX2 spends its
// time packing the weights again on every call: here each weight byte is read once per call, straight from the
// PyTorch [out, in] layout.
#ifndef CNCLIP_INT8_KERNELS_H
#define CNCLIP_INT8_KERNELS_H
#include <stdint.h>

/// sums[i * ldc + j] = Σ_p codes[i * k + p] · weights[j * k + p] for rows i in [0, m) and output columns j in
/// [n0, n1): u8 activation codes, which must be ≤ 127 (pairs of products are added in 16 bits, exact below that),
/// times s8 weights stored [n, k] row-major, summed exactly in 32 bits. Call only on CPUs with AVX2
/// (`cnclip_read_cpu_features().avx2`).
void cnclip_u8s8_products(const uint8_t *codes, long m, long k, const int8_t *weights, long n0, long n1,
                          int32_t *sums, long ldc);
#endif
