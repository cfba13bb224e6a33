import Foundation
import SearchService
import TestSupport
import XCTest

/// clip-retrieval's back-end surface and immich's machine-learning surface, in the shapes their own clients send
/// and read (rom1504/clip-retrieval clip_retrieval/clip_client.py and clip_back.py; immich machine-learning main.py).
final class CompatibilityTests: XCTestCase {
    var server: TestServer!
    let backend = TestGallery.backend

    override func setUp() async throws {
        server = try await TestServer.start(model: TestGallery.model, backend: backend)
    }

    override func tearDown() async throws {
        await server.stop()
    }

    /// The body `ClipClient.__search_knn_api__` posts (every field present, unused ones null).
    private func clipClientBody(text: String? = nil, image: String? = nil, embedding: [Float]? = nil,
                                numImages: Int = 4, deduplicate: Bool = false) -> [String: Any] {
        ["text": text as Any? ?? NSNull(), "image": image as Any? ?? NSNull(), "image_url": NSNull(),
         "embedding_input": embedding as Any? ?? NSNull(), "deduplicate": deduplicate, "use_safety_model": false,
         "use_violence_detector": false, "indice_name": "images", "use_mclip": false, "aesthetic_score": 9,
         "aesthetic_weight": 0.5, "modality": "image", "num_images": numImages, "num_result_ids": numImages]
    }

    private func knn(_ body: [String: Any]) async throws -> [[String: Any]] {
        let reply = try await server.postJSON("/knn-service", body)
        XCTAssertEqual(reply.status, 200, reply.text)
        return try XCTUnwrap(try reply.json() as? [[String: Any]], reply.text)
    }

    func testKnnServiceByTextImageAndEmbedding() async throws {
        let text = "海边的日落"
        let expected = backend.ranking(try TestGallery.textFeature(text)).prefix(4)
        let results = try await knn(clipClientBody(text: text))
        XCTAssertEqual(results.map { ($0["id"] as! NSNumber).int64Value }, expected.map(\.image.id))
        for (result, hit) in zip(results, expected) {
            XCTAssertEqual((result["similarity"] as! NSNumber).floatValue, hit.score, accuracy: 1e-4)
            XCTAssertEqual(result["url"] as? String, "\(server.base)/api/images/\(hit.image.id)")
            XCTAssertEqual(result["caption"] as? String, URL(fileURLWithPath: hit.image.path).lastPathComponent)
        }
        let image = try Data(contentsOf: URL(fileURLWithPath: backend.images[1].path)).base64EncodedString()
        let byImage = try await knn(clipClientBody(image: image))
        XCTAssertEqual((byImage[0]["id"] as! NSNumber).int64Value, backend.images[1].id)
        let byEmbedding = try await knn(clipClientBody(embedding: backend.features[6]))
        XCTAssertEqual((byEmbedding[0]["id"] as! NSNumber).int64Value, backend.images[6].id)

        // The front-end's own request shape: fewer fields, aesthetic_score as "".
        let front = try await knn(["text": text, "modality": "image", "num_images": 2, "indice_name": "images",
                                   "aesthetic_score": "", "aesthetic_weight": ""])
        XCTAssertEqual(front.count, 2)
    }

    func testKnnDeduplicatesNearIdenticalResults() async throws {
        // The gallery holds one file twice; deduplicate keeps the best-ranked result of each group of features
        // joined (transitively) by a cosine above 0.94, as clip_back.py's connected components do.
        let duplicate = try XCTUnwrap(backend.images.last)
        let original = try XCTUnwrap(backend.images.first { $0.path == duplicate.path && $0.id != duplicate.id })
        let query = backend.features[Int(original.id) - 1]
        let ranking = backend.ranking(query)
        let all = try await knn(clipClientBody(embedding: query, numImages: backend.images.count))
        XCTAssertEqual(all.map { ($0["id"] as! NSNumber).int64Value }, ranking.map(\.image.id))
        // Expected: walk the ranking, keep a result unless it is connected to an earlier one.
        let features = ranking.map { backend.features[Int($0.image.id) - 1] }
        func similar(_ a: Int, _ b: Int) -> Bool { zip(features[a], features[b]).reduce(0) { $0 + $1.0 * $1.1 } > 0.94 }
        var component = Array(ranking.indices)
        var changed = true
        while changed {
            changed = false
            for a in ranking.indices { for b in ranking.indices where similar(a, b) && component[b] > component[a] {
                component[b] = component[a]
                changed = true
            } }
        }
        let expected = ranking.indices.filter { component[$0] == $0 }.map { ranking[$0].image.id }
        let unique = try await knn(clipClientBody(embedding: query, numImages: backend.images.count, deduplicate: true))
        let uniqueIDs = unique.map { ($0["id"] as! NSNumber).int64Value }
        XCTAssertEqual(uniqueIDs, expected)
        XCTAssertTrue(uniqueIDs.contains(original.id) && !uniqueIDs.contains(duplicate.id))
    }

    func testIndicesListAndMetadata() async throws {
        let indices = try await server.get("/indices-list")
        XCTAssertEqual(try indices.json() as? [String], ["images"])
        let reply = try await server.postJSON("/metadata", ["ids": [2, 424242], "indice_name": "images"])
        XCTAssertEqual(reply.status, 200, reply.text)
        let items = try XCTUnwrap(try reply.json() as? [[String: Any]])
        XCTAssertEqual(items.count, 2)
        let metadata = try XCTUnwrap(items[0]["metadata"] as? [String: Any])
        XCTAssertEqual(metadata["path"] as? String, backend.images[1].path)
        XCTAssertEqual(metadata["url"] as? String, "\(server.base)/api/images/2")
        XCTAssertEqual((items[1]["metadata"] as? [String: Any])?.count, 0)
        expect(try await server.postJSON("/knn-service", ["text": "猫", "indice_name": "laion5B"]), 400)
        expect(try await server.postJSON("/knn-service", ["text": "猫", "modality": "text"]), 400)
        expect(try await server.postJSON("/knn-service", ["image_url": "http://example.invalid/a.jpg"]), 400)
        expect(try await server.postJSON("/knn-service", ["modality": "image"]), 400)
    }

    /// immich's `entries` form field for one CLIP model type.
    private func entries(_ type: String) -> MultipartField {
        .text("entries", #"{"clip": {"\#(type)": {"modelName": "ViT-B-16__openai", "options": {}}}}"#)
    }

    func testImmichPredictTextualAndVisual() async throws {
        let ping = try await server.get("/ping")
        XCTAssertEqual(ping.text, "pong")

        let text = "  一只   橘猫\n在睡觉 "
        let textual = try await server.postMultipart("/predict", [entries("textual"), .text("text", text)])
        XCTAssertEqual(textual.status, 200, textual.text)
        let clip = try XCTUnwrap(try textual.object()["clip"] as? String, "the embedding is a JSON array inside a string")
        let values = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(clip.utf8)) as? [NSNumber]).map(\.floatValue)
        let expected = try TestGallery.textFeature("一只 橘猫 在睡觉")
        XCTAssertEqual(values.count, expected.count)
        for (a, b) in zip(values, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertNil(try textual.object()["imageHeight"])

        let url = TestGallery.imageURL("jpeg_gray_200x300.jpg")
        let visual = try await server.postMultipart("/predict", [entries("visual"), .file("image", "blob", try Data(contentsOf: url))])
        XCTAssertEqual(visual.status, 200, visual.text)
        let object = try visual.object()
        XCTAssertEqual(object["imageHeight"] as? Int, 300)
        XCTAssertEqual(object["imageWidth"] as? Int, 200)
        let imageValues = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((object["clip"] as! String).utf8)) as? [NSNumber])
        for (a, b) in zip(imageValues.map(\.floatValue), try TestGallery.imageFeature(url)) { XCTAssertEqual(a, b, accuracy: 1e-5) }

        expect(try await server.postMultipart("/predict", [entries("textual")]), 400)
        expect(try await server.postMultipart("/predict", [.text("entries", "{not json"), .text("text", "a")]), 422)
        expect(try await server.postMultipart("/predict", [.text("entries", #"{"facial-recognition": {"detection": {"modelName": "x"}}}"#),
                                                                  .text("text", "a")]), 422)
        expect(try await server.postMultipart("/predict", [entries("visual"), .file("image", "r", Data("nope".utf8))]), 415)
    }

    /// clip-retrieval's front-end runs on another origin: with `--cors-origin` its browser preflight and requests
    /// are allowed; without it no CORS header is sent, and another origin is not named.
    func testCORSOnlyForTheOriginsGiven() async throws {
        let origin = "https://rom1504.github.io"
        let plain = try await server.request("POST", "/knn-service", body: Data(#"{"text": "猫"}"#.utf8),
                                             contentType: "application/json", headers: ["Origin": origin])
        XCTAssertNil(plain.headers["access-control-allow-origin"])
        await server.stop()
        server = try await TestServer.start(model: TestGallery.model, backend: backend) { $0.corsOrigin = origin }
        let preflight = try await server.request("OPTIONS", "/knn-service", headers: [
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"])
        XCTAssertLessThan(preflight.status, 300, preflight.text)
        XCTAssertEqual(preflight.headers["access-control-allow-origin"], origin)
        let allowed = try await server.request("POST", "/knn-service", body: Data(#"{"text": "猫"}"#.utf8),
                                               contentType: "application/json", headers: ["Origin": origin])
        expect(allowed, 200)
        XCTAssertEqual(allowed.headers["access-control-allow-origin"], origin)
        let other = try await server.request("GET", "/indices-list", headers: ["Origin": "https://elsewhere.example"])
        XCTAssertNotEqual(other.headers["access-control-allow-origin"], "https://elsewhere.example")
    }
}
