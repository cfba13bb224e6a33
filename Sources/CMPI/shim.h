// Open MPI (Debian libopenmpi-dev; any MPI-3 implementation found through pkg-config `mpi-c`).
// MPI's handles are macros that Swift cannot import (Open MPI defines MPI_COMM_WORLD as the address of a global),
// so the few the communicator needs are returned by inline functions.
#include <mpi.h>

static inline MPI_Comm cnclip_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cnclip_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cnclip_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cnclip_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype cnclip_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op cnclip_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Errhandler cnclip_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int cnclip_mpi_success(void) { return MPI_SUCCESS; }
static inline int cnclip_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cnclip_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int cnclip_mpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
static inline void *cnclip_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int cnclip_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info cnclip_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Datatype cnclip_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Status *cnclip_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request cnclip_mpi_request_null(void) { return MPI_REQUEST_NULL; }
