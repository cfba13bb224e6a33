import Foundation
import Hummingbird
import Imaging
import Logging
import Models

/// The HTTP search service: the native JSON API, the clip-retrieval and immich surfaces, metrics and the web page,
/// over one shared model and a read-only index.
///
/// New rows written by a concurrent `cnclip index add` become searchable when the service reloads the index:
/// every `reloadInterval` seconds (a poll of the committed row count), or at once on `POST /api/reload`.
public final class SearchServer: Sendable {
    let state: ServiceState
    let routeTable: RouteTable

    /// Every (method, path template) the service answers, for the OpenAPI check.
    public var routes: [(method: String, path: String)] { routeTable.routes.map { ($0.method.rawValue, $0.path) } }

    /// - Parameters:
    ///   - model: the loaded model; its features must match the index's (same model and checkpoint).
    ///   - contextLength: token context length for texts.
    ///   - backend: the index to search.
    public init(model: LoadedCLIP, contextLength: Int = 52, backend: any SearchBackend,
                configuration: ServiceConfiguration, logger: Logger = Logger(label: "cnclip.serve")) {
        let metrics = ServiceMetrics()
        let engine = ModelEngine(loaded: model, contextLength: contextLength, configuration: configuration, metrics: metrics)
        state = ServiceState(engine: engine, backend: backend, configuration: configuration, metrics: metrics, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        if let origin = configuration.corsOrigin {
            // clip_back.py answers every origin (flask_cors `CORS(app)`); here only the one asked for.
            router.add(middleware: CORSMiddleware(allowOrigin: origin == "*" ? .all : .custom(origin),
                                                  allowHeaders: [.accept, .contentType, .origin],
                                                  allowMethods: [.get, .post, .head, .options]))
        }
        routeTable = RouteTable(router: router)
        SystemRoutes(state: state).register(routeTable)
        SearchRoutes(state: state).register(routeTable)
        EmbedRoutes(state: state).register(routeTable)
        ImageRoutes(state: state).register(routeTable)
        ClipRetrievalRoutes(state: state).register(routeTable)
        ImmichRoutes(state: state).register(routeTable)
        WebRoutes().register(routeTable)
    }

    /// Runs one text query, one index search and one image embedding before the first request, so that the first
    /// user does not pay for first-use costs (buffer allocation, library start-up, faulting in the mapped features):
    /// about 3 s on a 100k-row index otherwise.
    public func warmUp() async throws {
        let feature = try await state.embedTexts(["热身"])[0]
        _ = try state.backend.search(feature, k: 1, threshold: nil, offset: 0)
        let grey = DecodedImage(width: 32, height: 32, mode: .rgb, format: .png, samples: [UInt8](repeating: 128, count: 32 * 32 * 3))
        _ = try await state.engine.embedImage(grey)
    }

    /// Serves until the task is cancelled (or, with `handleSignals`, until SIGINT/SIGTERM); `onStart` receives the
    /// bound port (useful with port 0).
    public func run(handleSignals: Bool = true, onStart: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let configuration = state.configuration
        // Connections idle (no request, or a request head that stalls) for twice the request timeout are closed.
        let idle = Int64(max(1, configuration.requestTimeout * 2) * 1000)
        let app = Application(
            router: routeTable.router,
            server: .http1(configuration: .init(idleTimeout: .milliseconds(idle))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                 serverName: "cnclip"),
            onServerRunning: { channel in onStart(channel.localAddress?.port ?? configuration.port) },
            logger: state.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [state] in try await Self.pollIndex(state) }
            group.addTask {
                if handleSignals { try await app.runService() } else { try await app.run() }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Reloads the index every `reloadInterval` seconds until cancelled; failures are logged, not fatal.
    private static func pollIndex(_ state: ServiceState) async throws {
        let interval = state.configuration.reloadInterval
        guard interval > 0 else {
            try await Task.sleep(for: .seconds(Double(Int32.max)))
            return
        }
        while true {
            try await Task.sleep(for: .seconds(interval))
            do {
                _ = try state.backend.reload()
            } catch {
                state.logger.warning("index reload failed: \(error)")
            }
        }
    }
}
