// A small C interface over faiss's C++ API (Debian's libfaiss-dev ships the C API's headers but not its library).
// Every call that can fail returns 0 on success and -1 on failure, writing the reason into `error` (NUL-terminated,
// at most `error_size` bytes). Indexes use inner product over float vectors and carry caller-chosen 64-bit ids.
#ifndef CFAISS_H
#define CFAISS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An index owned by the caller; free it with `cfaiss_free`.
typedef struct cfaiss_index cfaiss_index;

/// HNSW over flat vectors (`m` links per node), wrapped so that it carries ids.
cfaiss_index *cfaiss_new_hnsw(int dimension, int m, int ef_construction, char *error, size_t error_size);
/// IVF-Flat with `lists` inverted lists (must be trained before adding).
cfaiss_index *cfaiss_new_ivf_flat(int dimension, int lists, char *error, size_t error_size);
/// Reads an index written by `cfaiss_write`.
cfaiss_index *cfaiss_read(const char *path, char *error, size_t error_size);
void cfaiss_free(cfaiss_index *index);

/// Whether the index needs no (more) training.
int cfaiss_is_trained(const cfaiss_index *index);
/// Trains on `count` row-major vectors.
int cfaiss_train(cfaiss_index *index, int64_t count, const float *vectors, char *error, size_t error_size);
/// Adds `count` vectors with the given ids.
int cfaiss_add(cfaiss_index *index, int64_t count, const float *vectors, const int64_t *ids, char *error,
               size_t error_size);
/// Vectors in the index.
int64_t cfaiss_count(const cfaiss_index *index);
/// The vectors' dimension.
int cfaiss_dimension(const cfaiss_index *index);
/// Sets the search breadth: HNSW's efSearch, or IVF's nprobe.
void cfaiss_set_search_breadth(cfaiss_index *index, int breadth);
/// The k best (score, id) of each of `count` queries; missing results have id -1.
int cfaiss_search(const cfaiss_index *index, int64_t count, const float *queries, int64_t k, float *scores,
                  int64_t *ids, char *error, size_t error_size);
/// Writes the index to `path` and fsyncs it (the caller renames it into place).
int cfaiss_write(const cfaiss_index *index, const char *path, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
