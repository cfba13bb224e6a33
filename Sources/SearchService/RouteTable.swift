import Foundation
import Hummingbird

/// Registers routes on the router and remembers each (method, path) so the OpenAPI document can be checked
/// against what is really served.
final class RouteTable: @unchecked Sendable {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    let router: Router<BasicRequestContext>
    private(set) var routes: [(method: HTTPRequest.Method, path: String)] = []

    init(router: Router<BasicRequestContext>) { self.router = router }

    func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        routes.append((method, path))
        router.on(RouterPath(path), method: method, use: handler)
    }
}
