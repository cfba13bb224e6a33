import Foundation
import Hummingbird

/// Features without a search: `POST /api/embed/text` and `POST /api/embed/image`.
struct EmbedRoutes {
    let state: ServiceState

    struct TextsBody: Decodable {
        let text: String?
        let texts: [String]?
    }

    struct TextEmbeddings: Encodable {
        let dimension: Int
        let embeddings: [[Float]]
    }

    struct ImageEmbedding: Encodable {
        let dimension: Int
        let embedding: [Float]
        let width: Int
        let height: Int
    }

    /// The most texts one embed request may carry.
    static let maxTexts = 256

    func register(_ routes: RouteTable) {
        routes.add(.post, "/api/embed/text") { request, _ in
            let body = try await state.input.json(TextsBody.self, from: request)
            let texts: [String]
            switch (body.text, body.texts) {
            case let (text?, nil): texts = [text]
            case let (nil, list?): texts = list
            default: throw APIError.badRequest("give exactly one of 'text' (a string) or 'texts' (an array of strings)")
            }
            guard !texts.isEmpty, texts.count <= Self.maxTexts else {
                throw APIError.badRequest("'texts' must hold 1...\(Self.maxTexts) strings, got \(texts.count)")
            }
            let embeddings = try await state.embedTexts(texts)
            return try JSONResponse.make(TextEmbeddings(dimension: state.engine.dimension, embeddings: embeddings))
        }
        routes.add(.post, "/api/embed/image") { request, _ in
            let upload = try await ImageUpload.read(request, state: state)
            let embedding = try await state.engine.embedImage(upload.image)
            return try JSONResponse.make(ImageEmbedding(dimension: embedding.count, embedding: embedding,
                                                        width: upload.image.width, height: upload.image.height))
        }
    }
}
