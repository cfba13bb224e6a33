import Foundation
import SearchService
import XCTest

/// The OpenAPI document and the served routes agree, both ways, and every documented route answers.
final class OpenAPITests: XCTestCase {
    func testDocumentListsExactlyTheServedRoutes() async throws {
        let server = try await TestServer.start(model: TestGallery.model, backend: TestGallery.backend)
        let document = try await server.get("/openapi.json").object()
        let paths = try XCTUnwrap(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in
            operations.keys.filter { ["get", "post", "put", "delete", "patch"].contains($0) }.map { "\($0.uppercased()) \(path)" }
        })
        let served = Set(server.server.routes.map { "\($0.method) \($0.path)" })
        XCTAssertEqual(documented.subtracting(served), [], "documented but not served")
        XCTAssertEqual(served.subtracting(documented), [], "served but not documented")

        // Every documented operation is routed (anything but an unmatched-route 404 and never a 5xx).
        for route in documented.sorted() {
            let parts = route.split(separator: " ", maxSplits: 1)
            let path = String(parts[1]).replacingOccurrences(of: "{id}", with: "1").replacingOccurrences(of: "{file}", with: "app.js")
            let reply = try await server.request(String(parts[0]), path, body: parts[0] == "POST" ? Data("{}".utf8) : nil,
                                                 contentType: parts[0] == "POST" ? "application/json" : nil)
            XCTAssertLessThan(reply.status, 500, "\(route): \(reply.text)")
            XCTAssertFalse(reply.status == 404 && reply.errorMessage.isEmpty, "\(route) is not routed")
        }
        let schemas = try XCTUnwrap((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        XCTAssertNotNil(schemas["SearchResponse"])
        await server.stop()
    }
}
