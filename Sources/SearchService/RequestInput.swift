import Foundation
import Hummingbird
import Imaging
import MultipartKit

/// Reading request bodies: fully, within the size limit and the timeout, before any model work is queued, so a
/// slow or stalled client never holds a model slot.
struct RequestInput: Sendable {
    let maxBytes: Int
    let timeout: Double
    let maxPixels: Int

    /// The whole body; 413 past `maxBytes`, 408 when the client has not sent it all within `timeout` seconds.
    func body(of request: Request) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes {
            throw tooLarge
        }
        let body = request.body
        let limit = maxBytes, timeout = self.timeout
        do {
            return try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                group.addTask { try await body.collect(upTo: limit) }
                group.addTask {
                    try await Task.sleep(for: .seconds(timeout))
                    throw APIError(.requestTimeout, "the request body did not arrive within \(timeout) s")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge   // NIOTooManyBytesError from `collect(upTo:)`, with our message
        }
    }

    private var tooLarge: APIError {
        APIError(.contentTooLarge, "request body is larger than the limit of \(maxBytes) bytes (--max-upload-bytes)")
    }

    /// The body decoded as JSON into `T`; 400 naming the parse position, the missing key or the mistyped field.
    func json<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        try Self.decodeJSON(type, from: Data(buffer: try await body(of: request)))
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard !data.isEmpty else { throw APIError.badRequest("the request body is empty; a JSON object was expected") }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw APIError.badRequest(Self.describe(error, data: data))
        } catch {
            throw APIError.badRequest("malformed JSON: \(error)")
        }
    }

    /// A message for a decoding error: the syntax error with its line and column, or the key path at fault.
    static func describe(_ error: DecodingError, data: Data) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "the top level"
                : "'" + codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error {
        case let .dataCorrupted(context) where context.codingPath.isEmpty:
            return "malformed JSON: " + JSONSyntax.firstError(in: data)
        case let .dataCorrupted(context):
            return "invalid value at \(path(context.codingPath)): \(context.debugDescription)"
        case let .keyNotFound(key, context):
            return "missing key '\(key.stringValue)' in \(path(context.codingPath))"
        case let .typeMismatch(type, context):
            return "wrong type at \(path(context.codingPath)): expected \(JSONSyntax.name(of: type))"
        case let .valueNotFound(type, context):
            return "null at \(path(context.codingPath)): expected \(JSONSyntax.name(of: type))"
        @unknown default:
            return "malformed JSON"
        }
    }

    /// The parts of a `multipart/form-data` body (413/408 as `body`, 400 when it does not parse).
    func multipart(from request: Request) async throws -> [MultipartPart] {
        guard let boundary = Self.boundary(of: request) else {
            throw APIError.badRequest("multipart/form-data without a boundary parameter")
        }
        let buffer = try await body(of: request)
        var parts: [MultipartPart] = []
        var current = MultipartPart(body: ByteBuffer())
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in current.headers.add(name: name, value: value) }
        parser.onBody = { chunk in current.body.writeBuffer(&chunk) }
        parser.onPartComplete = {
            parts.append(current)
            current = MultipartPart(body: ByteBuffer())
        }
        do {
            try parser.execute(buffer)
        } catch {
            throw APIError.badRequest("malformed multipart body: \(error)")
        }
        return parts
    }

    /// The media type of the request without parameters, lower-cased.
    static func mediaType(of request: Request) -> String {
        (request.headers[.contentType] ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
    }

    static func boundary(of request: Request) -> String? {
        guard let header = request.headers[.contentType] else { return nil }
        for parameter in header.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            return value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"")
                ? String(value.dropFirst().dropLast()) : value
        }
        return nil
    }

    /// Decodes uploaded image bytes with the pixel limit; 415 for no known format, 413 over the limit, 400 otherwise.
    func image(_ data: Data, name: String) throws -> DecodedImage {
        do {
            return try ImageDecoder.decode(data, name: name, maxPixels: maxPixels)
        } catch let error as ImagingError {
            throw APIError.image(error)
        }
    }

    /// Bytes from a base64 string (standard or URL-safe alphabet, padding optional, a `data:` URL prefix allowed).
    static func base64(_ text: String, field: String) throws -> Data {
        var body = Substring(text)
        if body.hasPrefix("data:"), let comma = body.firstIndex(of: ",") { body = body[body.index(after: comma)...] }
        var cleaned = String(body.filter { !$0.isWhitespace })
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while cleaned.count % 4 != 0 { cleaned.append("=") }
        guard let data = Data(base64Encoded: cleaned) else { throw APIError.badRequest("'\(field)' is not valid base64") }
        return data
    }
}

extension MultipartPart {
    /// The `filename` of the part's Content-Disposition, if any.
    var filename: String? {
        guard let disposition = headers.first(name: "Content-Disposition") else { return nil }
        for parameter in disposition.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "filename" else { continue }
            return pair[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }
    /// The part's bytes.
    var data: Data { Data(buffer: body) }
    /// The part's text (UTF-8).
    var text: String { String(buffer: body) }
}
