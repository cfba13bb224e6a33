import Foundation
import Hummingbird
import MultipartKit

/// immich's machine-learning surface for smart search, so an immich server can use Chinese-CLIP unchanged.
///
/// Followed from immich-app/immich, `machine-learning/immich_ml/main.py`: `GET /ping` answers `pong`;
/// `POST /predict` takes a multipart form with `entries` (JSON `{"clip": {"textual" | "visual": {"modelName": ...,
/// "options": {...}}}}`) and an `image` file or a `text` field, 422 for entries that do not parse, 400 when neither
/// input is given. The response maps the task to its output, plus `imageHeight`/`imageWidth` for an image; the CLIP
/// output is `serialize_np_array` from `immich_ml/models/transforms.py`: the embedding as a JSON array *inside a
/// string* (`orjson.dumps(arr).decode()`). `clean_text` collapses whitespace; the textual model truncates.
/// The model name in `entries` is not used: this service has the one model it loaded.
struct ImmichRoutes {
    let state: ServiceState

    struct Entry: Decodable {
        let modelName: String
    }

    func register(_ routes: RouteTable) {
        routes.add(.get, "/ping") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: "pong")))
        }
        routes.add(.post, "/predict") { request, _ in
            guard RequestInput.mediaType(of: request) == "multipart/form-data" else {
                throw APIError(.unsupportedMediaType, "/predict takes multipart/form-data with 'entries' and 'image' or 'text'")
            }
            let parts = try await state.input.multipart(from: request)
            guard let entriesText = parts.first(where: { $0.name == "entries" })?.text else {
                throw APIError(.unprocessableContent, "Invalid request format: missing form field 'entries'")
            }
            let entries: [String: [String: Entry]]
            do {
                entries = try JSONDecoder().decode([String: [String: Entry]].self, from: Data(entriesText.utf8))
            } catch {
                throw APIError(.unprocessableContent, "Invalid request format: 'entries' is not {task: {type: {modelName}}}")
            }
            let unsupported = entries.keys.filter { $0 != "clip" }.sorted()
            guard unsupported.isEmpty else {
                throw APIError(.unprocessableContent, "tasks \(unsupported) are not served; only 'clip' is")
            }
            guard let types = entries["clip"], !types.isEmpty else {
                throw APIError(.unprocessableContent, "Invalid request format: no 'clip' entry")
            }
            if let part = parts.first(where: { $0.name == "image" }) {
                guard types.keys.contains("visual") else { throw APIError.badRequest("an image needs a clip 'visual' entry") }
                let image = try state.input.image(part.data, name: part.filename ?? "image")
                let embedding = try await state.engine.embedImage(image)
                return try Self.response(["clip": Self.serialize(embedding)], height: image.height, width: image.width)
            }
            if let text = parts.first(where: { $0.name == "text" })?.text {
                guard types.keys.contains("textual") else { throw APIError.badRequest("a text needs a clip 'textual' entry") }
                let cleaned = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                let embedding = try await state.embedTexts([cleaned], truncate: true)[0]
                return try Self.response(["clip": Self.serialize(embedding)], height: nil, width: nil)
            }
            throw APIError.badRequest("Either image or text must be provided")
        }
    }

    /// The embedding as orjson writes a float32 array: `[a,b,...]` with the shortest round-trip digits.
    static func serialize(_ embedding: [Float]) -> String {
        "[" + embedding.map { $0.description }.joined(separator: ",") + "]"
    }

    private static func response(_ outputs: [String: String], height: Int?, width: Int?) throws -> Response {
        struct Body: Encodable {
            let clip: String
            let imageHeight: Int?
            let imageWidth: Int?
        }
        return try JSONResponse.make(Body(clip: outputs["clip"] ?? "", imageHeight: height, imageWidth: width))
    }
}
