import Foundation
import Hummingbird

/// The search page: `GET /` and its assets under `/static/`, bundled with the target (no CDN; works offline).
struct WebRoutes {
    /// The files the page is made of, with their media types; nothing else under `/static/` is served.
    static let assets: [String: String] = [
        "app.js": "text/javascript; charset=utf-8",
        "style.css": "text/css; charset=utf-8",
        "favicon.svg": "image/svg+xml",
    ]

    func register(_ routes: RouteTable) {
        routes.add(.get, "/") { _, _ in
            try Self.file("index.html", type: "text/html; charset=utf-8")
        }
        routes.add(.get, "/static/{file}") { _, context in
            let name = try context.parameters.require("file")
            guard let type = Self.assets[name] else { throw APIError.notFound("no static file '\(name)'") }
            return try Self.file(name, type: type)
        }
    }

    private static func file(_ name: String, type: String) throws -> Response {
        let data = try ServiceResources.data("web/\(name)")
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
