import Foundation
import Hummingbird

/// One result as the native API returns it.
struct SearchResultItem: Encodable {
    let id: Int64
    let path: String
    let score: Float
    let width: Int
    let height: Int
    /// The original image.
    let url: String
    /// A JPEG thumbnail.
    let thumbnail: String

    init(_ result: ScoredImage) {
        id = result.image.id
        path = result.image.path
        score = result.score
        width = result.image.width
        height = result.image.height
        url = "/api/images/\(result.image.id)"
        thumbnail = "/api/images/\(result.image.id)/thumbnail"
    }
}

/// A page of results.
struct SearchResponse: Encodable {
    /// What was searched for: `text`, `image`, `similar`, `embedding`.
    let query: String
    let k: Int
    let offset: Int
    let threshold: Float?
    /// The offset of the next page, or null when this page is the last.
    let nextOffset: Int?
    /// Images in the index.
    let indexRows: Int
    let results: [SearchResultItem]
}

/// Search by text, uploaded image, indexed image and raw embedding.
struct SearchRoutes {
    let state: ServiceState

    struct TextQuery: Decodable {
        let text: String
        let k: Int?
        let threshold: Float?
        let offset: Int?
    }

    struct EmbeddingQuery: Decodable {
        let embedding: [Float]
        let k: Int?
        let threshold: Float?
        let offset: Int?
    }

    func register(_ routes: RouteTable) {
        routes.add(.get, "/api/search") { request, _ in
            guard let text = request.uri.queryParameters["q"].map(String.init) else {
                throw APIError.badRequest("missing query parameter 'q' (the text to search for)")
            }
            let parameters = try SearchParameters(query: request, maxK: state.configuration.maxK)
            return try await searchText(text, parameters)
        }
        routes.add(.post, "/api/search/text") { request, _ in
            let body = try await state.input.json(TextQuery.self, from: request)
            var parameters = try SearchParameters(query: request, maxK: state.configuration.maxK)
            try parameters.apply(k: body.k, threshold: body.threshold, offset: body.offset, maxK: state.configuration.maxK)
            return try await searchText(body.text, parameters)
        }
        routes.add(.post, "/api/search/image") { request, _ in
            var parameters = try SearchParameters(query: request, maxK: state.configuration.maxK)
            let upload = try await ImageUpload.read(request, state: state)
            try parameters.apply(k: upload.k, threshold: upload.threshold, offset: upload.offset,
                                 maxK: state.configuration.maxK)
            let feature = try await state.engine.embedImage(upload.image)
            return try await page(query: "image", feature, parameters)
        }
        routes.add(.get, "/api/search/similar/{id}") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            let parameters = try SearchParameters(query: request, maxK: state.configuration.maxK)
            guard let feature = try state.backend.feature(id: id) else {
                throw APIError.notFound("no image with id \(id) in the index")
            }
            return try await page(query: "similar", feature, parameters)
        }
        routes.add(.post, "/api/search/embedding") { request, _ in
            let body = try await state.input.json(EmbeddingQuery.self, from: request)
            var parameters = try SearchParameters(query: request, maxK: state.configuration.maxK)
            try parameters.apply(k: body.k, threshold: body.threshold, offset: body.offset, maxK: state.configuration.maxK)
            return try await page(query: "embedding", try state.unitQuery(body.embedding), parameters)
        }
    }

    private func searchText(_ text: String, _ parameters: SearchParameters) async throws -> Response {
        let feature = try await state.embedTexts([text])[0]
        return try await page(query: "text", feature, parameters)
    }

    private func page(query: String, _ feature: [Float], _ parameters: SearchParameters) async throws -> Response {
        let results = try await state.searches.search(feature, parameters)
        let rows = try state.backend.summary().rows
        let next = results.count == parameters.k && parameters.offset + parameters.k < rows ? parameters.offset + parameters.k : nil
        return try JSONResponse.make(SearchResponse(query: query, k: parameters.k, offset: parameters.offset,
                                                    threshold: parameters.threshold, nextOffset: next, indexRows: rows,
                                                    results: results.map(SearchResultItem.init)))
    }
}
