import Foundation
import Hummingbird
import Imaging

/// The indexed images themselves: `GET /api/images/{id}` (the original bytes) and
/// `GET /api/images/{id}/thumbnail?size=N` (JPEG, longer side N, default 256).
struct ImageRoutes {
    let state: ServiceState
    let cache = ThumbnailCache(capacity: 1024)

    static let defaultThumbnailSide = 256
    static let thumbnailSides = 16...1024

    func register(_ routes: RouteTable) {
        routes.add(.get, "/api/images/{id}") { _, context in
            let image = try state.image(id: try context.parameters.require("id", as: Int64.self))
            let data = try Self.read(image)
            let type = ImageDecoder.format(of: data).map { "image/\($0.rawValue.lowercased())" } ?? "application/octet-stream"
            return Response(status: .ok, headers: [.contentType: type, .cacheControl: "private, max-age=3600"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        routes.add(.get, "/api/images/{id}/thumbnail") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            let side = try request.uri.queryParameters["size"].map {
                try SearchParameters.integer(String($0), name: "size")
            } ?? Self.defaultThumbnailSide
            guard Self.thumbnailSides.contains(side) else {
                throw APIError.badRequest("'size' must be within \(Self.thumbnailSides), got \(side)")
            }
            let image = try state.image(id: id)
            let jpeg: Data
            if let cached = cache.get(id: id, side: side) {
                jpeg = cached
            } else {
                let data = try Self.read(image)
                let decoded: DecodedImage
                do {
                    decoded = try ImageDecoder.decode(data, name: image.path, maxPixels: state.configuration.maxPixels)
                } catch let error as ImagingError {
                    throw APIError(.unprocessableContent, "indexed image \(id) can no longer be decoded: \(error)")
                }
                jpeg = try JPEGEncoder.encode(try decoded.thumbnail(maxSide: side))
                cache.put(id: id, side: side, jpeg)
            }
            return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "private, max-age=3600"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: jpeg)))
        }
    }

    /// The file's bytes; 404 when it has gone since it was indexed.
    static func read(_ image: IndexedImage) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: image.path))
        } catch {
            throw APIError.notFound("image \(image.id) was indexed from \(image.path), which can no longer be read")
        }
    }
}

/// Recently made thumbnails, oldest dropped first past `capacity`.
final class ThumbnailCache: @unchecked Sendable {
    private struct Key: Hashable { let id: Int64; let side: Int }
    private let lock = NSLock()
    private let capacity: Int
    private var entries: [Key: Data] = [:]
    private var order: [Key] = []

    init(capacity: Int) { self.capacity = capacity }

    func get(id: Int64, side: Int) -> Data? {
        lock.lock(); defer { lock.unlock() }
        return entries[Key(id: id, side: side)]
    }

    func put(id: Int64, side: Int, _ data: Data) {
        lock.lock(); defer { lock.unlock() }
        let key = Key(id: id, side: side)
        if entries.updateValue(data, forKey: key) == nil { order.append(key) }
        while order.count > capacity { entries[order.removeFirst()] = nil }
    }
}
