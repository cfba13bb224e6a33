import Foundation
import Hummingbird

/// Health, metrics, the OpenAPI document, index statistics and reload.
struct SystemRoutes {
    let state: ServiceState

    struct Health: Encodable {
        let status: String
        let rows: Int
    }

    struct Info: Encodable {
        let index: IndexSummary
        /// The model this service loaded (vision@text) and what it expects.
        let serviceModel: String
        let dimension: Int
        let imageResolution: Int
        let contextLength: Int
        let limits: Limits
    }

    struct Limits: Encodable {
        let maxUploadBytes: Int
        let maxPixels: Int
        let maxK: Int
        let maxTextCharacters: Int
        let requestTimeoutSeconds: Double
    }

    struct Reloaded: Encodable { let rows: Int }

    func register(_ routes: RouteTable) {
        routes.add(.get, "/health") { _, _ in
            try JSONResponse.make(Health(status: "ok", rows: try state.backend.summary().rows))
        }
        routes.add(.get, "/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: state.metrics.exposition())))
        }
        routes.add(.get, "/openapi.json") { _, _ in
            JSONResponse.raw(try ServiceResources.data("openapi.json"))
        }
        routes.add(.get, "/api/info") { _, _ in
            let config = state.engine.loaded.model.config
            let configuration = state.configuration
            return try JSONResponse.make(Info(
                index: try state.backend.summary(), serviceModel: configuration.modelLabel, dimension: state.engine.dimension,
                imageResolution: config.imageResolution, contextLength: state.engine.contextLength,
                limits: Limits(maxUploadBytes: configuration.maxUploadBytes, maxPixels: configuration.maxPixels,
                               maxK: configuration.maxK, maxTextCharacters: configuration.maxTextCharacters,
                               requestTimeoutSeconds: configuration.requestTimeout)))
        }
        routes.add(.post, "/api/reload") { _, _ in
            try JSONResponse.make(Reloaded(rows: try state.backend.reload()))
        }
    }
}

/// The files bundled with the target (the OpenAPI document and the web page).
enum ServiceResources {
    static func url(_ relativePath: String) throws -> URL {
        guard let base = Bundle.module.resourceURL else { throw APIError(.internalServerError, "resources are missing") }
        return base.appendingPathComponent(relativePath)
    }

    static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: try url(relativePath))
    }
}
