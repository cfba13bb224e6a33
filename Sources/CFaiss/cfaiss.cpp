// The C shim over faiss's C++ API declared in cfaiss.h.
#include "cfaiss.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>

#include <cstdio>
#include <cstring>
#include <cerrno>
#include <exception>
#include <stdexcept>
#include <string>
#include <unistd.h>

struct cfaiss_index {
    faiss::Index *index;
};

namespace {

void set_error(char *error, size_t size, const char *message) {
    if (error == nullptr || size == 0) return;
    std::snprintf(error, size, "%s", message);
}

template <typename Body> int guarded(char *error, size_t size, Body body) {
    try {
        body();
        return 0;
    } catch (const std::exception &exception) {
        set_error(error, size, exception.what());
    } catch (...) {
        set_error(error, size, "unknown faiss error");
    }
    return -1;
}

/// The index below an id map, if any.
faiss::Index *inner(faiss::Index *index) {
    if (auto *map = dynamic_cast<faiss::IndexIDMap *>(index)) return map->index;
    return index;
}

} // namespace

extern "C" {

cfaiss_index *cfaiss_new_hnsw(int dimension, int m, int ef_construction, char *error, size_t error_size) {
    cfaiss_index *result = nullptr;
    guarded(error, error_size, [&] {
        auto *hnsw = new faiss::IndexHNSWFlat(dimension, m, faiss::METRIC_INNER_PRODUCT);
        hnsw->hnsw.efConstruction = ef_construction;
        auto *map = new faiss::IndexIDMap(hnsw);
        map->own_fields = true;
        result = new cfaiss_index{map};
    });
    return result;
}

cfaiss_index *cfaiss_new_ivf_flat(int dimension, int lists, char *error, size_t error_size) {
    cfaiss_index *result = nullptr;
    guarded(error, error_size, [&] {
        auto *quantizer = new faiss::IndexFlatIP(dimension);
        auto *ivf = new faiss::IndexIVFFlat(quantizer, dimension, lists, faiss::METRIC_INNER_PRODUCT);
        ivf->own_fields = true;
        result = new cfaiss_index{ivf};
    });
    return result;
}

cfaiss_index *cfaiss_read(const char *path, char *error, size_t error_size) {
    cfaiss_index *result = nullptr;
    guarded(error, error_size, [&] { result = new cfaiss_index{faiss::read_index(path)}; });
    return result;
}

void cfaiss_free(cfaiss_index *index) {
    if (index == nullptr) return;
    delete index->index;
    delete index;
}

int cfaiss_is_trained(const cfaiss_index *index) { return index->index->is_trained ? 1 : 0; }

int cfaiss_train(cfaiss_index *index, int64_t count, const float *vectors, char *error, size_t error_size) {
    return guarded(error, error_size, [&] { index->index->train(count, vectors); });
}

int cfaiss_add(cfaiss_index *index, int64_t count, const float *vectors, const int64_t *ids, char *error,
               size_t error_size) {
    return guarded(error, error_size, [&] { index->index->add_with_ids(count, vectors, ids); });
}

int64_t cfaiss_count(const cfaiss_index *index) { return index->index->ntotal; }

int cfaiss_dimension(const cfaiss_index *index) { return index->index->d; }

void cfaiss_set_search_breadth(cfaiss_index *index, int breadth) {
    faiss::Index *base = inner(index->index);
    if (auto *hnsw = dynamic_cast<faiss::IndexHNSW *>(base)) hnsw->hnsw.efSearch = breadth;
    if (auto *ivf = dynamic_cast<faiss::IndexIVF *>(base)) ivf->nprobe = breadth;
}

int cfaiss_search(const cfaiss_index *index, int64_t count, const float *queries, int64_t k, float *scores,
                  int64_t *ids, char *error, size_t error_size) {
    return guarded(error, error_size, [&] { index->index->search(count, queries, k, scores, ids); });
}

int cfaiss_write(const cfaiss_index *index, const char *path, char *error, size_t error_size) {
    return guarded(error, error_size, [&] {
        std::FILE *file = std::fopen(path, "wb");
        if (file == nullptr) throw std::runtime_error(std::string("cannot create ") + path + ": " + std::strerror(errno));
        try {
            faiss::write_index(index->index, file);
        } catch (...) {
            std::fclose(file);
            throw;
        }
        bool ok = std::fflush(file) == 0 && fsync(fileno(file)) == 0;
        ok = (std::fclose(file) == 0) && ok;
        if (!ok) throw std::runtime_error(std::string("cannot write ") + path + ": " + std::strerror(errno));
    });
}

} // extern "C"
