// Linked into the cnclip executable only: see openblas_core_type.c.
#ifndef CNCLIP_OPENBLAS_CORE_TYPE_H
#define CNCLIP_OPENBLAS_CORE_TYPE_H
/// The core OpenBLAS picked by itself before cnclip restarted with OPENBLAS_CORETYPE set, or NULL when cnclip
/// did not override it.
const char *cnclip_openblas_core_overridden_from(void);
#endif
