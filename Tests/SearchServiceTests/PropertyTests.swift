import Foundation
import SearchService
import TestSupport
import XCTest

/// Random bodies, content types, query strings and path values thrown at every route: the service answers each
/// with a status below 500 and keeps serving.
final class PropertyTests: XCTestCase {

    static let fragments = ["{", "}", "[", "]", "\"", ":", ",", "text", "image", "k", "embedding", "texts", "ids", "null",
                            "true", "-1", "0", "1e309", "3.5", "猫", "\\u0000", "\\", "entries", "clip", "textual", "visual",
                            "embedding_input", "num_images", "modality", " ", "\n", "GIF89a", "\u{FF}\u{D8}\u{FF}", "‰PNG"]
    static let contentTypes = ["application/json", "multipart/form-data; boundary=xyz", "multipart/form-data", "image/png",
                               "text/plain", "application/octet-stream", "application/x-www-form-urlencoded", ""]

    func randomBody(_ rng: inout SeededGenerator) -> Data {
        switch rng.next() % 4 {
        case 0: return Data((0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        case 1:
            return Data((0..<Int(rng.next() % 30)).map { _ in Self.fragments.randomElement(using: &rng)! }.joined().utf8)
        case 2:
            let value: Any = [["猫"], 7, -3, 1e30, "", NSNull(), [Float](repeating: 0.5, count: Int(rng.next() % 40)),
                              String(repeating: "长", count: Int(rng.next() % 80))].randomElement(using: &rng)!
            let key = ["text", "texts", "image", "embedding", "k", "offset", "threshold", "ids", "embedding_input",
                       "num_images", "modality", "indice_name"].randomElement(using: &rng)!
            var object: [String: Any] = ["k": Int(rng.next() % 2000) - 100]
            object[key] = value
            return (try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed])) ?? Data()
        default:
            let boundary = "xyz"
            let name = ["image", "entries", "text", "k"].randomElement(using: &rng)!
            let payload = Self.fragments.shuffled(using: &rng).prefix(Int(rng.next() % 8)).joined()
            let closing = rng.next() % 2 == 0 ? "--\(boundary)--\r\n" : ""
            return Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"f\"\r\n\r\n\(payload)\r\n\(closing)".utf8)
        }
    }

    func testRandomRequestsNeverGet5xx() async throws {
        let server = try await TestServer.start(model: TestGallery.model, backend: TestGallery.backend) {
            $0.maxUploadBytes = 100_000
        }
        let seed = UInt64(ProcessInfo.processInfo.environment["CNCLIP_PROPERTY_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        print("PropertyTests seed \(seed) (set CNCLIP_PROPERTY_SEED to replay)")
        var rng = SeededGenerator(state: seed)
        let routes = server.server.routes
        let pathValues = ["1", "0", "-5", "99999999999999999999", "abc", "%00", "app.js", "..%2F..%2Fetc", "3.5", "11"]
        let queries = ["", "?k=3", "?k=-1", "?q=猫", "?q=", "?offset=99999999999", "?threshold=nan", "?size=1", "?q=%E7%8C%AB&k=1001"]
        for round in 0..<240 {
            let route = routes[round % routes.count]
            var path = route.path
            for placeholder in ["{id}", "{file}"] {
                path = path.replacingOccurrences(of: placeholder, with: pathValues.randomElement(using: &rng)!)
            }
            path += queries.randomElement(using: &rng)!.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? ""
            let method = rng.next() % 8 == 0 ? ["GET", "POST", "PUT", "DELETE"].randomElement(using: &rng)! : route.method
            let body = method == "GET" ? nil : randomBody(&rng)
            let type = Self.contentTypes.randomElement(using: &rng)!
            let reply = try await server.request(method, path, body: body, contentType: type.isEmpty ? nil : type)
            XCTAssertLessThan(reply.status, 500, "seed \(seed) round \(round): \(method) \(path) [\(type)] -> \(reply.text.prefix(300))")
        }
        expect(try await server.get("/health"), 200)
        await server.stop()
    }
}
