import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Models
import SearchService
import TestSupport
import XCTest

/// A search server the tests start on 127.0.0.1 with a free port and stop when done.
final class TestServer: @unchecked Sendable {
    let server: SearchServer
    let port: Int
    private let task: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }

    static func start(model: LoadedCLIP, backend: any SearchBackend, contextLength: Int = 52,
                      configure: (inout ServiceConfiguration) -> Void = { _ in }) async throws -> TestServer {
        var configuration = ServiceConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.reloadInterval = 0
        configuration.modelLabel = "test-model"
        configure(&configuration)
        var logger = Logger(label: "cnclip.serve.test")
        logger.logLevel = .critical   // stopping by cancellation logs an error by design
        let server = SearchServer(model: model, contextLength: contextLength, backend: backend,
                                  configuration: configuration, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run(handleSignals: false) { continuation.yield($0) } }
        let port = await withTaskGroup(of: Int?.self) { group in
            group.addTask { for await port in ports { return port }; return nil }
            group.addTask { try? await Task.sleep(for: .seconds(30)); return nil }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        guard let port else {
            task.cancel()
            throw XCTSkip("the server did not start within 30 s")
        }
        return TestServer(server: server, port: port, task: task)
    }

    private init(server: SearchServer, port: Int, task: Task<Void, any Error>) {
        self.server = server
        self.port = port
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// One HTTP exchange.
    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data

        var text: String { String(decoding: body, as: UTF8.self) }

        func json() throws -> Any { try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }

        func object() throws -> [String: Any] {
            guard let object = try json() as? [String: Any] else { throw Failure("not a JSON object: \(text.prefix(300))") }
            return object
        }

        /// The message of an `{"error": {...}}` body.
        var errorMessage: String {
            ((try? object())?["error"] as? [String: Any])?["message"] as? String ?? ""
        }
    }

    func request(_ method: String, _ path: String, body: Data? = nil, contentType: String? = nil,
                 headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 120
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields[String(describing: key).lowercased()] = String(describing: value) }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    func get(_ path: String) async throws -> Reply { try await request("GET", path) }

    func postJSON(_ path: String, _ object: Any) async throws -> Reply {
        try await request("POST", path, body: try JSONSerialization.data(withJSONObject: object), contentType: "application/json")
    }

    func postMultipart(_ path: String, _ parts: [MultipartField]) async throws -> Reply {
        let boundary = "cnclip-test-\(UUID().uuidString)"
        return try await request("POST", path, body: MultipartField.body(parts, boundary: boundary),
                                 contentType: "multipart/form-data; boundary=\(boundary)")
    }
}

/// One field of a multipart/form-data body.
struct MultipartField {
    let name: String
    let filename: String?
    let contentType: String?
    let data: Data

    static func text(_ name: String, _ value: String) -> MultipartField {
        MultipartField(name: name, filename: nil, contentType: nil, data: Data(value.utf8))
    }

    static func file(_ name: String, _ filename: String, _ data: Data, type: String = "application/octet-stream") -> MultipartField {
        MultipartField(name: name, filename: filename, contentType: type, data: data)
    }

    static func body(_ fields: [MultipartField], boundary: String) -> Data {
        var body = Data()
        for field in fields {
            body.append(Data("--\(boundary)\r\n".utf8))
            var disposition = "Content-Disposition: form-data; name=\"\(field.name)\""
            if let filename = field.filename { disposition += "; filename=\"\(filename)\"" }
            body.append(Data("\(disposition)\r\n".utf8))
            if let type = field.contentType { body.append(Data("Content-Type: \(type)\r\n".utf8)) }
            body.append(Data("\r\n".utf8))
            body.append(field.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return body
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension XCTestCase {
    /// Asserts a reply's status, showing its body when it differs.
    func expect(_ reply: TestServer.Reply, _ status: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(reply.status, status, reply.text, file: file, line: line)
    }
}
