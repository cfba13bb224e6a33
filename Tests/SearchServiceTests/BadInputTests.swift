import Foundation
import SearchService
import TestSupport
import XCTest

/// Every kind of bad input gets its 4xx with a message that says what was wrong, and the server keeps serving.
final class BadInputTests: XCTestCase {
    var server: TestServer!

    override func setUp() async throws {
        server = try await TestServer.start(model: TestGallery.model, backend: TestGallery.backend) {
            $0.maxUploadBytes = 200_000
            $0.maxPixels = 1_000_000
            $0.requestTimeout = 1
            $0.maxTextCharacters = 200
        }
    }

    override func tearDown() async throws {
        let health = try await server.get("/health")
        XCTAssertEqual(health.status, 200, "the server must survive every bad input")
        await server.stop()
    }

    private func bad(_ name: String) throws -> Data { try Fixtures.data("imaging/bad/\(name)") }

    func assertStatus(_ reply: TestServer.Reply, _ status: Int, _ message: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(reply.status, status, reply.text, file: file, line: line)
        XCTAssertTrue(reply.errorMessage.contains(message), "\(reply.errorMessage) lacks '\(message)'", file: file, line: line)
    }

    func testBadUploads() async throws {
        for path in ["/api/search/image", "/api/embed/image"] {
            assertStatus(try await server.postMultipart(path, [.file("image", "r.bin", try bad("random.bin"))]), 415,
                         "cannot identify image file")
            assertStatus(try await server.postMultipart(path, [.file("image", "t.jpg", try bad("truncated.jpg"))]), 400,
                         "truncated")
            assertStatus(try await server.postMultipart(path, [.file("image", "c.png", try bad("corrupt.png"))]), 400, "corrupt")
            assertStatus(try await server.postMultipart(path, [.file("image", "u.tiff", try bad("unsupported.tiff"))]), 415,
                         "cannot identify")
            assertStatus(try await server.postMultipart(path, [.file("image", "e.jpg", Data())]), 400, "empty")
            assertStatus(try await server.postMultipart(path, [.text("k", "3")]), 400, "no part named 'image'")
            assertStatus(try await server.postJSON(path, ["image": "@@@not base64@@@"]), 400, "not valid base64")
            assertStatus(try await server.request("POST", path, body: Data("hello".utf8), contentType: "text/plain"), 415,
                         "text/plain")
        }
    }

    func testSizeAndPixelLimits() async throws {
        let big = Data(repeating: 0x41, count: 250_000)
        assertStatus(try await server.postMultipart("/api/search/image", [.file("image", "big.jpg", big)]), 413,
                     "larger than the limit of 200000 bytes")
        assertStatus(try await server.request("POST", "/api/search/text", body: big, contentType: "application/json"), 413,
                     "--max-upload-bytes")
        // A PNG whose header announces 60000×60000 pixels, and a real 4000×300 JPEG over the 1M-pixel limit.
        assertStatus(try await server.postMultipart("/api/search/image", [.file("image", "bomb.png", try bad("bomb_60000x60000.png"))]),
                     413, "exceeds the limit of 1000000 pixels")
        let wide = try Fixtures.data("imaging/images/jpeg_wide_4000x300.jpg")
        assertStatus(try await server.postMultipart("/api/embed/image", [.file("image", "wide.jpg", wide)]), 413,
                     "4000x300")
    }

    func testBadTexts() async throws {
        assertStatus(try await server.get("/api/search?q="), 400, "text is empty")
        assertStatus(try await server.get("/api/search"), 400, "missing query parameter 'q'")
        assertStatus(try await server.postJSON("/api/search/text", ["text": "   "]), 400, "text is empty")
        let longText = String(repeating: "很长的描述", count: 20)   // 100 characters, ~100 tokens > 50
        assertStatus(try await server.postJSON("/api/search/text", ["text": longText]), 400, "the model reads at most 50")
        assertStatus(try await server.postJSON("/api/embed/text", ["text": String(repeating: "a", count: 201)]), 400,
                     "at most 200 are accepted")
        assertStatus(try await server.postJSON("/api/embed/text", ["texts": []]), 400, "1...256")
        assertStatus(try await server.postJSON("/api/embed/text", ["text": "a", "texts": ["b"]]), 400, "exactly one of")
    }

    func testUnknownIdsAndRoutes() async throws {
        assertStatus(try await server.get("/api/images/424242"), 404, "no image with id 424242")
        assertStatus(try await server.get("/api/images/424242/thumbnail"), 404, "no image with id 424242")
        assertStatus(try await server.get("/api/search/similar/424242"), 404, "no image with id 424242")
        expect(try await server.get("/api/images/abc"), 400)
        expect(try await server.get("/no/such/route"), 404)
        expect(try await server.get("/static/../Package.swift"), 404)
        assertStatus(try await server.get("/static/secret.txt"), 404, "no static file")
    }

    func testMalformedJSONNamesThePosition() async throws {
        let body = Data("{\n  \"text\": \"猫\",\n  \"k\": 5,,\n}".utf8)
        let reply = try await server.request("POST", "/api/search/text", body: body, contentType: "application/json")
        assertStatus(reply, 400, "unexpected ',' where a key was expected at line 3, column 10")
        assertStatus(try await server.request("POST", "/api/search/text", body: Data("{\"text\": \"猫\"".utf8),
                                              contentType: "application/json"), 400, "unexpected end of input")
        assertStatus(try await server.request("POST", "/api/search/text", body: Data(), contentType: "application/json"),
                     400, "body is empty")
        assertStatus(try await server.postJSON("/api/search/text", ["text": 5]), 400, "wrong type at 'text': expected a string")
        assertStatus(try await server.postJSON("/api/search/text", ["query": "猫"]), 400, "missing key 'text'")
    }

    func testBadEmbeddingsAndParameters() async throws {
        let dimension = TestGallery.model.model.config.embedDim
        assertStatus(try await server.postJSON("/api/search/embedding", ["embedding": [0.1, 0.2, 0.3]]), 400,
                     "has 3 values; this index's features have \(dimension)")
        assertStatus(try await server.postJSON("/api/search/embedding", ["embedding": [Float](repeating: 0, count: dimension)]),
                     400, "all zeros")
        assertStatus(try await server.get("/api/search?q=猫&k=0"), 400, "'k' must be within 1...1000")
        assertStatus(try await server.get("/api/search?q=猫&k=many"), 400, "'k' must be an integer")
        assertStatus(try await server.get("/api/search?q=猫&threshold=2"), 400, "'threshold' must be a cosine score")
        assertStatus(try await server.get("/api/search?q=猫&offset=-1"), 400, "'offset' must be within")
        assertStatus(try await server.get("/api/images/1/thumbnail?size=5000"), 400, "'size' must be within")
    }

    func testSlowClientGets408() async throws {
        // Headers promise 1000 bytes; only 10 arrive. The server answers 408 after --request-timeout (1 s).
        let reply = try RawHTTP.exchange(port: server.port, request:
            "POST /api/search/text HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"text\": \"")
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 408"), reply)
        XCTAssertTrue(reply.contains("did not arrive within"), reply)
    }
}
