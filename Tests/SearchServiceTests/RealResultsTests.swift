import Foundation
import SearchIndex
import SearchService
import XCTest

/// Real rankings from the trained Fashion-MNIST model over a real on-disk index: Chinese captions find their
/// class, an image finds its class, and rows added by a concurrent indexer become searchable.
final class RealResultsTests: XCTestCase {
    var directory: URL!
    var server: TestServer!

    override func setUp() async throws {
        directory = try FashionIndex.build()
        let index = try ImageIndex.open(directory: directory, readOnly: true)
        server = try await TestServer.start(model: try FashionIndex.loaded.get(), backend: IndexBackend(index),
                                            contextLength: FashionIndex.contextLength)
    }

    override func tearDown() async throws {
        await server?.stop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func classes(_ reply: TestServer.Reply) throws -> [String] {
        let results = try XCTUnwrap(try reply.object()["results"] as? [[String: Any]], reply.text)
        return results.map { FashionIndex.className($0["path"] as! String) }
    }

    private func search(_ text: String, k: Int = 8) async throws -> [String] {
        let reply = try await server.postJSON("/api/search/text", ["text": text, "k": k])
        XCTAssertEqual(reply.status, 200, reply.text)
        return try classes(reply)
    }

    func testChineseCaptionsRankTheirClassFirst() async throws {
        // 深色的T恤 ("a dark T-shirt"): the four best are T-shirts (8 of the 80 images are).
        let tshirts = try await search("深色的T恤")
        XCTAssertEqual(Array(tshirts.prefix(4)), ["tshirt", "tshirt", "tshirt", "tshirt"], "\(tshirts)")
        for (query, expected) in [("一条浅色的裤子", "trouser"), ("一个浅色的包", "bag"), ("一双灰色的短靴", "boot")] {
            let found = try await search(query)
            XCTAssertEqual(found.first, expected, "\(query): \(found)")
            XCTAssertGreaterThanOrEqual(found.filter { $0 == expected }.count, 5, "\(query): \(found)")
        }
    }

    func testSimilarImagesShareTheClass() async throws {
        let index = try ImageIndex.open(directory: directory, readOnly: true)
        let trouser = try XCTUnwrap(try index.records().first { FashionIndex.className($0.path) == "trouser" })
        let reply = try await server.get("/api/search/similar/\(trouser.id)?k=6")
        let found = try classes(reply)
        XCTAssertEqual(found.count, 6)
        XCTAssertTrue(found.allSatisfy { $0 == "trouser" }, "\(found)")
        let first = try XCTUnwrap((try reply.object()["results"] as? [[String: Any]])?.first)
        XCTAssertEqual((first["id"] as? NSNumber)?.int64Value, trouser.id)
        XCTAssertEqual((first["score"] as? NSNumber)?.floatValue ?? 0, 1, accuracy: 1e-4)
    }

    func testRowsAddedByAConcurrentIndexerArePickedUp() async throws {
        // A second index starts with the T-shirts only; a writer then adds the bags while the service runs.
        await server.stop()
        let paths = try FashionIndex.imagePaths()
        let partial = FileManager.default.temporaryDirectory.appendingPathComponent("cnclip-partial-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: partial) }
        let tshirts = paths.filter { FashionIndex.className($0) == "tshirt" }
        let bags = paths.filter { FashionIndex.className($0) == "bag" }
        try FashionIndex.add(tshirts, to: partial)
        let index = try ImageIndex.open(directory: partial, readOnly: true)
        server = try await TestServer.start(model: try FashionIndex.loaded.get(), backend: IndexBackend(index),
                                            contextLength: FashionIndex.contextLength) {
            $0.reloadInterval = 0.2
        }
        let before = try await server.get("/health").object()["rows"] as? Int
        XCTAssertEqual(before, tshirts.count)
        let beforeBags = try await search("一个浅色的包")
        XCTAssertEqual(beforeBags.first, "tshirt", "no bags yet")

        try FashionIndex.add(bags, to: partial)
        let deadline = Date().addingTimeInterval(10)
        var rows = 0
        while Date() < deadline {
            rows = try await server.get("/health").object()["rows"] as? Int ?? 0
            if rows == tshirts.count + bags.count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(rows, tshirts.count + bags.count, "the poll picked up the new rows")
        let afterBags = try await search("一个浅色的包")
        XCTAssertEqual(afterBags.first, "bag")

        let reload = try await server.request("POST", "/api/reload")
        XCTAssertEqual(try reload.object()["rows"] as? Int, tshirts.count + bags.count)
    }
}
