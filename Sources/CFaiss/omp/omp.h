// faiss/impl/HNSW.h includes <omp.h> for `omp_lock_t`, which only appears in signatures of functions this shim never
// calls. Clang (Swift's toolchain) has no omp.h of its own and GCC's sits in GCC's private include folder, so this
// stand-in declares the one type, laid out as libgomp's. faiss itself was compiled against the real header.
#ifndef CFAISS_OMP_STANDIN_H
#define CFAISS_OMP_STANDIN_H
typedef struct {
    unsigned char _x[4] __attribute__((__aligned__(4)));
} omp_lock_t;
#endif
