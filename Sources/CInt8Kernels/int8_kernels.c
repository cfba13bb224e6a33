#include "int8_kernels.h"
#include <immintrin.h>

__attribute__((target("avx2"))) static inline int32_t horizontal_sum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// 32 u8·s8 products of a and b added in groups of 4 (exact for a ≤ 127), added to acc.
__attribute__((target("avx2"))) static inline __m256i dot_add(__m256i acc, __m256i a, __m256i b, __m256i ones) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
}

static inline int32_t tail_dot(const uint8_t *a, const int8_t *b, long from, long to) {
    int32_t sum = 0;
    for (long p = from; p < to; p++) sum += (int32_t)a[p] * (int32_t)b[p];
    return sum;
}

#define LOAD(pointer) _mm256_loadu_si256((const __m256i *)(pointer))

/// Four weight rows against two activation rows: eight accumulators, each weight vector used twice from registers.
__attribute__((target("avx2"))) static void block_2x4(const uint8_t *x0, const uint8_t *x1, const int8_t *w, long k,
                                                      int32_t *c0, int32_t *c1) {
    const __m256i ones = _mm256_set1_epi16(1);
    const long vectorEnd = k / 32 * 32;
    const int8_t *w0 = w, *w1 = w + k, *w2 = w + 2 * k, *w3 = w + 3 * k;
    __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;
    __m256i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    for (long p = 0; p < vectorEnd; p += 32) {
        const __m256i u = LOAD(x0 + p), v = LOAD(x1 + p);
        __m256i b = LOAD(w0 + p);
        a00 = dot_add(a00, u, b, ones); a10 = dot_add(a10, v, b, ones);
        b = LOAD(w1 + p);
        a01 = dot_add(a01, u, b, ones); a11 = dot_add(a11, v, b, ones);
        b = LOAD(w2 + p);
        a02 = dot_add(a02, u, b, ones); a12 = dot_add(a12, v, b, ones);
        b = LOAD(w3 + p);
        a03 = dot_add(a03, u, b, ones); a13 = dot_add(a13, v, b, ones);
    }
    c0[0] = horizontal_sum(a00) + tail_dot(x0, w0, vectorEnd, k);
    c0[1] = horizontal_sum(a01) + tail_dot(x0, w1, vectorEnd, k);
    c0[2] = horizontal_sum(a02) + tail_dot(x0, w2, vectorEnd, k);
    c0[3] = horizontal_sum(a03) + tail_dot(x0, w3, vectorEnd, k);
    c1[0] = horizontal_sum(a10) + tail_dot(x1, w0, vectorEnd, k);
    c1[1] = horizontal_sum(a11) + tail_dot(x1, w1, vectorEnd, k);
    c1[2] = horizontal_sum(a12) + tail_dot(x1, w2, vectorEnd, k);
    c1[3] = horizontal_sum(a13) + tail_dot(x1, w3, vectorEnd, k);
}

/// One activation row against one weight row.
__attribute__((target("avx2"))) static int32_t dot_1x1(const uint8_t *x, const int8_t *w, long k) {
    const __m256i ones = _mm256_set1_epi16(1);
    const long vectorEnd = k / 32 * 32;
    __m256i acc = _mm256_setzero_si256();
    for (long p = 0; p < vectorEnd; p += 32) acc = dot_add(acc, LOAD(x + p), LOAD(w + p), ones);
    return horizontal_sum(acc) + tail_dot(x, w, vectorEnd, k);
}

__attribute__((target("avx2"))) void cnclip_u8s8_products(const uint8_t *codes, long m, long k, const int8_t *weights,
                                                         long n0, long n1, int32_t *sums, long ldc) {
    long j = n0;
    for (; j + 4 <= n1; j += 4) {
        const int8_t *w = weights + j * k;
        long i = 0;
        for (; i + 2 <= m; i += 2) {
            block_2x4(codes + i * k, codes + (i + 1) * k, w, k, sums + i * ldc + j, sums + (i + 1) * ldc + j);
        }
        for (; i < m; i++) {
            for (long q = 0; q < 4; q++) sums[i * ldc + j + q] = dot_1x1(codes + i * k, w + q * k, k);
        }
    }
    for (; j < n1; j++) {
        for (long i = 0; i < m; i++) sums[i * ldc + j] = dot_1x1(codes + i * k, weights + j * k, k);
    }
}
