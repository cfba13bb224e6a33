import Foundation
import Hummingbird
import Imaging

/// A request the service refuses, with the HTTP status it answers and a message naming what was wrong.
/// Rendered as `{"error": {"status": 400, "message": "..."}}`.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    /// Extra response headers (Retry-After on 503).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(ErrorBody(error: .init(status: status.code, message: message)), status: status)
        for field in headers { response.headers.append(field) }
        return response
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }

    /// The status and message for an image that failed to decode: 415 when the bytes are no image format the
    /// decoders know, 413 when it announces more pixels than the limit, 400 for damaged or truncated data.
    static func image(_ error: ImagingError) -> APIError {
        switch error {
        case .unknownFormat, .unsupported: return APIError(.unsupportedMediaType, error.description)
        case .decompressionBomb: return APIError(.contentTooLarge, error.description)
        default: return APIError(.badRequest, error.description)
        }
    }
}

/// The JSON body of every error response.
private struct ErrorBody: Encodable {
    struct Detail: Encodable {
        let status: Int
        let message: String
    }
    let error: Detail
}

/// JSON responses written the same way everywhere (sorted keys keep them diffable).
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return raw(data, status: status)
    }

    /// Already-serialised JSON bytes.
    static func raw(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
