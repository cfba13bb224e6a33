import Foundation
import Imaging
import SearchService
import TestSupport
import XCTest

/// Every native endpoint against the tiny fixture model, with results checked against features computed directly
/// by the model and an exact ranking done in the test.
final class APITests: XCTestCase {
    var server: TestServer!
    let backend = TestGallery.backend

    override func setUp() async throws {
        server = try await TestServer.start(model: TestGallery.model, backend: backend)
    }

    override func tearDown() async throws {
        await server.stop()
    }

    private func ids(_ reply: TestServer.Reply) throws -> [Int64] {
        let results = try XCTUnwrap(try reply.object()["results"] as? [[String: Any]], reply.text)
        return results.map { ($0["id"] as! NSNumber).int64Value }
    }

    private func scores(_ reply: TestServer.Reply) throws -> [Float] {
        try XCTUnwrap(try reply.object()["results"] as? [[String: Any]]).map { ($0["score"] as! NSNumber).floatValue }
    }

    func assertClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, file: file, line: line)
    }

    func testHealthInfoAndOpenAPI() async throws {
        let health = try await server.get("/health")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(try health.object()["status"] as? String, "ok")
        XCTAssertEqual(try health.object()["rows"] as? Int, backend.images.count)

        let info = try await server.get("/api/info").object()
        XCTAssertEqual((info["index"] as? [String: Any])?["rows"] as? Int, backend.images.count)
        XCTAssertEqual(info["dimension"] as? Int, TestGallery.model.model.config.embedDim)
        XCTAssertEqual(info["serviceModel"] as? String, "test-model")

        let openapi = try await server.get("/openapi.json")
        XCTAssertEqual(openapi.status, 200)
        XCTAssertEqual(try openapi.object()["openapi"] as? String, "3.0.3")
    }

    func testTextSearchRanksAsTheModelDoes() async throws {
        let query = "一只在草地上奔跑的小狗"
        let expected = backend.ranking(try TestGallery.textFeature(query))
        let reply = try await server.get("/api/search?q=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&k=5")
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(try ids(reply), expected.prefix(5).map(\.image.id))
        assertClose(try scores(reply), expected.prefix(5).map(\.score))
        let first = try XCTUnwrap((try reply.object()["results"] as? [[String: Any]])?.first)
        let image = expected[0].image
        XCTAssertEqual(first["path"] as? String, image.path)
        XCTAssertEqual(first["width"] as? Int, image.width)
        XCTAssertEqual(first["height"] as? Int, image.height)
        XCTAssertEqual(first["url"] as? String, "/api/images/\(image.id)")
    }

    func testPostTextSearchPagesAndThreshold() async throws {
        let query = "红色的汽车"
        let expected = backend.ranking(try TestGallery.textFeature(query))
        let page2 = try await server.postJSON("/api/search/text", ["text": query, "k": 3, "offset": 3])
        XCTAssertEqual(page2.status, 200, page2.text)
        XCTAssertEqual(try ids(page2), expected[3..<6].map(\.image.id))
        XCTAssertEqual(try page2.object()["nextOffset"] as? Int, 6)
        let last = try await server.postJSON("/api/search/text", ["text": query, "k": 5, "offset": expected.count - 2])
        XCTAssertEqual(try ids(last).count, 2)
        XCTAssertNil(try last.object()["nextOffset"])

        let threshold = expected[2].score - 1e-6
        let filtered = try await server.postJSON("/api/search/text", ["text": query, "k": 10, "threshold": threshold])
        XCTAssertEqual(try ids(filtered), expected.filter { $0.score >= threshold }.prefix(10).map(\.image.id))
    }

    func testImageSearchByMultipartBase64AndRawBody() async throws {
        let url = TestGallery.imageURL("png_rgb_300x200.png")
        let data = try Data(contentsOf: url)
        let expected = backend.ranking(try TestGallery.imageFeature(url)).prefix(4).map(\.image.id)
        let multipart = try await server.postMultipart("/api/search/image?k=4", [.file("image", "q.png", data, type: "image/png")])
        XCTAssertEqual(multipart.status, 200, multipart.text)
        XCTAssertEqual(try ids(multipart), expected)
        XCTAssertEqual(try scores(multipart)[0], 1, accuracy: 1e-4)
        let base64 = try await server.postJSON("/api/search/image", ["image": data.base64EncodedString(), "k": 4])
        XCTAssertEqual(try ids(base64), expected)
        let raw = try await server.request("POST", "/api/search/image?k=4", body: data, contentType: "image/png")
        XCTAssertEqual(try ids(raw), expected)
        let fields = try await server.postMultipart("/api/search/image", [.file("image", "q.png", data), .text("k", "2")])
        XCTAssertEqual(try ids(fields), Array(expected.prefix(2)))
    }

    func testSimilarAndEmbeddingSearch() async throws {
        let similar = try await server.get("/api/search/similar/3?k=3")
        XCTAssertEqual(similar.status, 200, similar.text)
        XCTAssertEqual(try ids(similar), backend.ranking(backend.features[2]).prefix(3).map(\.image.id))
        XCTAssertEqual(try ids(similar).first, 3)

        let scaled = backend.features[4].map { $0 * 7 }   // not unit length: the service normalises
        let embedding = try await server.postJSON("/api/search/embedding", ["embedding": scaled, "k": 2])
        XCTAssertEqual(embedding.status, 200, embedding.text)
        XCTAssertEqual(try ids(embedding).first, 5)
        XCTAssertEqual(try scores(embedding)[0], 1, accuracy: 1e-4)
    }

    func testEmbedTextAndImage() async throws {
        let texts = ["深色的T恤", "a photo of a cat", "“引号”与大写 ABC"]
        let reply = try await server.postJSON("/api/embed/text", ["texts": texts])
        XCTAssertEqual(reply.status, 200, reply.text)
        let embeddings = try XCTUnwrap(try reply.object()["embeddings"] as? [[NSNumber]])
        for (text, embedding) in zip(texts, embeddings) {
            assertClose(embedding.map(\.floatValue), try TestGallery.textFeature(text), tolerance: 1e-5)
        }
        let single = try await server.postJSON("/api/embed/text", ["text": texts[0]])
        XCTAssertEqual(try single.object()["dimension"] as? Int, TestGallery.model.model.config.embedDim)

        let url = TestGallery.imageURL("jpeg_progressive_257x131.jpg")
        let image = try await server.postMultipart("/api/embed/image", [.file("image", "x.jpg", try Data(contentsOf: url))])
        XCTAssertEqual(image.status, 200, image.text)
        let object = try image.object()
        XCTAssertEqual(object["width"] as? Int, 257)
        XCTAssertEqual(object["height"] as? Int, 131)
        assertClose(try XCTUnwrap(object["embedding"] as? [NSNumber]).map(\.floatValue), try TestGallery.imageFeature(url),
                    tolerance: 1e-5)
    }

    func testOriginalAndThumbnail() async throws {
        let image = backend.images[0]
        let original = try await server.get("/api/images/\(image.id)")
        XCTAssertEqual(original.status, 200)
        XCTAssertEqual(original.body, try Data(contentsOf: URL(fileURLWithPath: image.path)))
        XCTAssertEqual(original.headers["content-type"], "image/jpeg")

        let thumbnail = try await server.get("/api/images/\(image.id)/thumbnail?size=64")
        XCTAssertEqual(thumbnail.status, 200, thumbnail.text)
        XCTAssertEqual(thumbnail.headers["content-type"], "image/jpeg")
        let decoded = try ImageDecoder.decode(thumbnail.body)
        XCTAssertEqual(max(decoded.width, decoded.height), 64)
        XCTAssertEqual(Double(decoded.width) / Double(decoded.height), Double(image.width) / Double(image.height), accuracy: 0.05)
        let defaultSize = try ImageDecoder.decode(try await server.get("/api/images/4/thumbnail").body)
        XCTAssertEqual(max(defaultSize.width, defaultSize.height), min(256, max(backend.images[3].width, backend.images[3].height)))
    }

    func testReloadAndMetrics() async throws {
        let before = backend.reloads
        let reload = try await server.request("POST", "/api/reload")
        XCTAssertEqual(reload.status, 200)
        XCTAssertEqual(try reload.object()["rows"] as? Int, backend.images.count)
        XCTAssertEqual(backend.reloads, before + 1)

        _ = try await server.get("/api/search?q=猫")
        _ = try await server.get("/api/images/9999")
        let metrics = try await server.get("/metrics")
        XCTAssertEqual(metrics.status, 200)
        let text = metrics.text
        XCTAssertTrue(text.contains(#"cnclip_http_requests_total{route="/api/search",method="GET",status="200"} "#), text)
        XCTAssertTrue(text.contains(#"status="404""#), text)
        XCTAssertTrue(text.contains("cnclip_http_request_duration_seconds_bucket"), text)
        XCTAssertTrue(text.contains(#"cnclip_model_queue_depth{kind="text"}"#), text)
        XCTAssertTrue(text.contains("cnclip_text_batch_size_count"), text)
    }

    func testConcurrentTextQueriesShareForwardPasses() async throws {
        await server.stop()
        server = try await TestServer.start(model: TestGallery.model, backend: backend) { $0.batchWindowMilliseconds = 50 }
        let texts = (0..<12).map { "第\($0)张图片里的风景" }
        let server = self.server!
        let replies = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask {
                    let reply = try await server.postJSON("/api/embed/text", ["text": text])
                    let embedding = try XCTUnwrap(try reply.object()["embeddings"] as? [[NSNumber]])[0]
                    return (index, embedding.map(\.floatValue))
                }
            }
            var result: [Int: [Float]] = [:]
            for try await (index, embedding) in group { result[index] = embedding }
            return result
        }
        for (index, text) in texts.enumerated() {
            assertClose(try XCTUnwrap(replies[index]), try TestGallery.textFeature(text), tolerance: 1e-5)
        }
        let metrics = try await server.get("/metrics").text
        let passes = metrics.split(separator: "\n").first { $0.hasPrefix("cnclip_text_batch_size_count") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
        XCTAssertNotNil(passes, metrics)
        XCTAssertLessThan(passes ?? 99, texts.count, "12 concurrent texts should share forward passes")
    }
}
