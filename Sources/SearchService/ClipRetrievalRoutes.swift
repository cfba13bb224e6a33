import Foundation
import Hummingbird

/// clip-retrieval's back-end surface, so its front-end and `ClipClient` can query this service unchanged.
///
/// Followed from rom1504/clip-retrieval, `clip_retrieval/clip_back.py` (release 2.45.0): `KnnService.post` reads
/// `text`, `image` (base64), `image_url`, `embedding_input`, `modality`, `num_images`, `num_result_ids`,
/// `indice_name`, `deduplicate` (and safety/aesthetic fields this service ignores) and answers a list of
/// `{"id", "similarity", <metadata columns>}`; `compute_query` takes text first, then image, then embedding;
/// `get_non_uniques` drops results whose features exceed 0.94 cosine with a better one (connected components);
/// `IndicesList.get` lists index names; `MetadataService.post` maps `{"ids", "indice_name"}` to
/// `[{"id", "metadata"}]`. The metadata columns here are `url` (the original image on this server), `caption`
/// (the file name), `path`, `width`, `height`. Over-long texts are cut as its tokenizer cuts them.
struct ClipRetrievalRoutes {
    let state: ServiceState

    struct KnnRequest: Decodable {
        let text: String?
        let image: String?
        let image_url: String?
        let embedding_input: [Float]?
        let modality: String?
        let num_images: Int?
        let num_result_ids: Int?
        let indice_name: String?
        let deduplicate: Bool?
    }

    struct KnnResult: Encodable {
        let id: Int64
        let similarity: Float
        let url: String
        let caption: String
        let path: String
        let width: Int
        let height: Int
    }

    struct MetadataRequest: Decodable {
        let ids: [Int64]
        let indice_name: String?
    }

    struct Metadata: Encodable {
        let url: String?
        let caption: String?
        let path: String?
        let width: Int?
        let height: Int?
    }

    struct MetadataItem: Encodable {
        let id: Int64
        let metadata: Metadata
    }

    /// clip_back.py's duplicate threshold (`get_non_uniques(..., threshold=0.94)`).
    static let duplicateThreshold: Float = 0.94

    func register(_ routes: RouteTable) {
        routes.add(.get, "/indices-list") { _, _ in
            try JSONResponse.make([state.configuration.indexName])
        }
        routes.add(.post, "/knn-service") { request, _ in
            let body = try await state.input.json(KnnRequest.self, from: request)
            try checkIndexName(body.indice_name)
            let modality = body.modality ?? "image"
            guard modality == "image" else {
                throw APIError.badRequest("modality '\(modality)' is not served: this index holds images only (use \"image\")")
            }
            let count = body.num_images ?? 100
            let candidates = max(count, body.num_result_ids ?? count)
            guard (1...state.configuration.maxK).contains(count), candidates <= state.configuration.maxK else {
                throw APIError.badRequest("num_images and num_result_ids must be within 1...\(state.configuration.maxK)")
            }
            let query = try await queryFeature(body)
            var page = SearchParameters()
            page.k = candidates
            var hits = try await state.searches.search(query, page)
            if body.deduplicate ?? false { hits = try deduplicated(hits) }
            let base = Self.baseURL(of: request)
            let results = hits.prefix(count).map { hit in
                KnnResult(id: hit.image.id, similarity: hit.score, url: "\(base)/api/images/\(hit.image.id)",
                          caption: Self.caption(hit.image.path), path: hit.image.path, width: hit.image.width,
                          height: hit.image.height)
            }
            return try JSONResponse.make(Array(results))
        }
        routes.add(.post, "/metadata") { request, _ in
            let body = try await state.input.json(MetadataRequest.self, from: request)
            try checkIndexName(body.indice_name)
            guard body.ids.count <= 10_000 else { throw APIError.badRequest("at most 10000 ids per request") }
            let base = Self.baseURL(of: request)
            let items = try body.ids.map { id -> MetadataItem in
                guard let image = try state.backend.image(id: id) else {
                    return MetadataItem(id: id, metadata: Metadata(url: nil, caption: nil, path: nil, width: nil, height: nil))
                }
                return MetadataItem(id: id, metadata: Metadata(url: "\(base)/api/images/\(id)", caption: Self.caption(image.path),
                                                               path: image.path, width: image.width, height: image.height))
            }
            return try JSONResponse.make(items)
        }
    }

    private func checkIndexName(_ name: String?) throws {
        if let name, name != state.configuration.indexName {
            throw APIError.badRequest("unknown indice_name '\(name)'; this service serves [\"\(state.configuration.indexName)\"]")
        }
    }

    /// The query as `compute_query` picks it: non-empty text, else image, else embedding.
    private func queryFeature(_ body: KnnRequest) async throws -> [Float] {
        if let text = body.text, !text.isEmpty {
            return try await state.embedTexts([text], truncate: true)[0]
        }
        if let image = body.image {
            let data = try RequestInput.base64(image, field: "image")
            return try await state.engine.embedImage(try state.input.image(data, name: "image"))
        }
        if body.image_url != nil {
            throw APIError.badRequest("image_url is not fetched by this service (it works offline); send the image base64 in 'image'")
        }
        if let embedding = body.embedding_input {
            return try state.unitQuery(embedding, field: "embedding_input")
        }
        throw APIError.badRequest("must fill one of text, image and embedding_input")
    }

    /// Keeps the best-ranked result of each group of near-duplicates (features above 0.94 cosine, transitively).
    private func deduplicated(_ hits: [ScoredImage]) throws -> [ScoredImage] {
        let features = try hits.map { try state.backend.feature(id: $0.image.id) ?? [] }
        var parent = Array(hits.indices)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
            return i
        }
        for i in hits.indices {
            for j in (i + 1)..<hits.count where features[i].count == features[j].count && !features[i].isEmpty {
                var dot: Float = 0
                for d in features[i].indices { dot += features[i][d] * features[j][d] }
                if dot > Self.duplicateThreshold {
                    let (a, b) = (root(i), root(j))
                    parent[max(a, b)] = min(a, b)
                }
            }
        }
        return hits.indices.filter { root($0) == $0 }.map { hits[$0] }
    }

    static func caption(_ path: String) -> String { URL(fileURLWithPath: path).lastPathComponent }

    /// `http://<Host>` of the request, so result URLs work from the client's side.
    static func baseURL(of request: Request) -> String {
        let host = request.head.authority ?? "127.0.0.1"
        return "http://\(host)"
    }
}
