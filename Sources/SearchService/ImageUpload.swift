import Foundation
import Hummingbird
import Imaging

/// An image a client sent, decoded, with any search fields that came with it.
struct ImageUpload {
    let image: DecodedImage
    var k: Int?
    var threshold: Float?
    var offset: Int?

    private struct JSONBody: Decodable {
        let image: String
        let k: Int?
        let threshold: Float?
        let offset: Int?
    }

    /// Reads the image from `multipart/form-data` (a file part named `image`, optional `k`, `threshold`, `offset`
    /// fields), from JSON `{"image": "<base64>", ...}`, or from a raw `image/*` / `application/octet-stream` body.
    static func read(_ request: Request, state: ServiceState) async throws -> ImageUpload {
        let input = state.input
        switch RequestInput.mediaType(of: request) {
        case "multipart/form-data":
            let parts = try await input.multipart(from: request)
            guard let part = parts.first(where: { $0.name == "image" }) else {
                throw APIError.badRequest("multipart body has no part named 'image'")
            }
            var upload = ImageUpload(image: try input.image(part.data, name: part.filename ?? "upload"))
            func field(_ name: String) -> String? { parts.first { $0.name == name }?.text }
            upload.k = try field("k").map { try SearchParameters.integer($0, name: "k") }
            upload.threshold = try field("threshold").map { try SearchParameters.number($0, name: "threshold") }
            upload.offset = try field("offset").map { try SearchParameters.integer($0, name: "offset") }
            return upload
        case "application/json":
            let body = try await input.json(JSONBody.self, from: request)
            let data = try RequestInput.base64(body.image, field: "image")
            return ImageUpload(image: try input.image(data, name: "upload"), k: body.k, threshold: body.threshold,
                               offset: body.offset)
        case let type where type.hasPrefix("image/") || type == "application/octet-stream":
            let data = Data(buffer: try await input.body(of: request))
            return ImageUpload(image: try input.image(data, name: "upload"))
        case let type:
            throw APIError(.unsupportedMediaType,
                           "send the image as multipart/form-data, application/json (base64) or image/*; got '\(type)'")
        }
    }
}
