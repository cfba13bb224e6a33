// oneDNN's C API (Debian libdnnl-dev 2.6, OpenMP runtime), plus helpers that keep its fixed-size dimension arrays
// (int64_t[12]) out of Swift.
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>

/// OpenMP's thread count for the parallel regions oneDNN opens (libgomp, which libdnnl links).
void omp_set_num_threads(int count);

/// A 2-D memory descriptor [rows, columns] with explicit strides; rows may be DNNL_RUNTIME_DIM_VAL.
static inline dnnl_status_t cnclip_dnnl_matrix(dnnl_memory_desc_t *descriptor, int64_t rows, int64_t columns,
                                               dnnl_data_type_t type, int64_t rowStride, int64_t columnStride) {
    dnnl_dims_t dims = {rows, columns};
    dnnl_dims_t strides = {rowStride, columnStride};
    return dnnl_memory_desc_init_by_strides(descriptor, 2, dims, type, strides);
}

/// DNNL_RUNTIME_DIM_VAL: a dimension given only at execution.
static inline int64_t cnclip_dnnl_runtime_dim(void) { return DNNL_RUNTIME_DIM_VAL; }

/// The implementation a primitive descriptor chose ("brg:avx512_core_amx", "gemm:jit", ...).
static inline const char *cnclip_dnnl_implementation(const_dnnl_primitive_desc_t descriptor) {
    const char *name = 0;
    dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name);
    return name;
}

/// A 2-D memory descriptor [rows, columns] whose layout the primitive chooses (dnnl_format_tag_any).
static inline dnnl_status_t cnclip_dnnl_matrix_any(dnnl_memory_desc_t *descriptor, int64_t rows, int64_t columns,
                                                   dnnl_data_type_t type) {
    dnnl_dims_t dims = {rows, columns};
    return dnnl_memory_desc_init_by_tag(descriptor, 2, dims, type, dnnl_format_tag_any);
}

/// Whether a layout is plain strided (no inner blocks, no extra data such as int8 compensation): any such layout
/// reads the weights as well as another, so repacking into it only costs a second copy.
static inline int cnclip_dnnl_is_plain(const dnnl_memory_desc_t *descriptor) {
    return descriptor->format_kind == dnnl_blocked && descriptor->format_desc.blocking.inner_nblks == 0
        && descriptor->extra.flags == 0;
}
