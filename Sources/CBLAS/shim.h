// OpenBLAS's CBLAS interface (Debian libopenblas-dev, pthread flavour), which also declares
// openblas_set_num_threads / openblas_get_num_threads.
#include <x86_64-linux-gnu/openblas-pthread/cblas.h>
