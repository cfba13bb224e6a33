import ArgumentParser
import Foundation
import Models
import SearchIndex
import SearchService

/// `cnclip serve`: the search service over an index made by `cnclip index add`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve an index over HTTP: a search page, a JSON API (/openapi.json), clip-retrieval's and immich's surfaces.",
        discussion: """
            The model flags and --resume must name the model the index was built with (another is refused). Rows that \
            a concurrent `cnclip index add` commits are picked up every --reload-interval seconds, or at once on \
            POST /api/reload.
            """)

    @OptionGroup var location: IndexLocation
    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions
    @OptionGroup var precision: PrecisionOptions

    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "TCP port (0: any free port; the chosen one is printed).")
    var port = 8080

    @Option(name: .customLong("max-upload-bytes"), help: "Largest request body accepted (413 above).")
    var maxUploadBytes = 20 * 1024 * 1024

    @Option(name: .customLong("max-pixels"), help: "Largest uploaded image, in pixels (413 above).")
    var maxPixels = 40_000_000

    @Option(name: .customLong("request-timeout"), help: "Seconds a client has to send its request body (408 after).")
    var requestTimeout = 30.0

    @Option(name: .customLong("reload-interval"),
            help: "Seconds between looks for rows added by `cnclip index add` (0: only on POST /api/reload).")
    var reloadInterval = 5.0

    @Option(name: .customLong("context-length"), help: "Token context length for text queries.")
    var contextLength = 52

    @Option(name: .customLong("batch-window-ms"),
            help: "Milliseconds a text or search batch waits for more queries (0: start at once; batches still form under load).")
    var batchWindow = 0

    @Option(name: .customLong("max-batch"), help: "Most queries per text forward pass and per index scan.")
    var maxBatch = 32

    @Option(name: .customLong("cors-origin"),
            help: "The origin whose pages may call the service from a browser (* for any), e.g. where clip-retrieval's front-end is served.")
    var corsOrigin: String?

    @Option(name: .customLong("buffer-cache-mb"),
            help: "Megabytes of freed tensor buffers kept for reuse (CNCLIP_BUFFER_CACHE_MB, when set, wins).")
    var bufferCacheMegabytes = 256

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be within 0...65535") }
        guard maxUploadBytes > 0, maxPixels > 0 else {
            throw ValidationError("--max-upload-bytes and --max-pixels must be positive")
        }
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
        guard reloadInterval >= 0 else { throw ValidationError("--reload-interval must be ≥ 0") }
        guard (2...512).contains(contextLength) else { throw ValidationError("--context-length must be within 2...512") }
        guard bufferCacheMegabytes >= 0 else { throw ValidationError("--buffer-cache-mb must be ≥ 0") }
        guard batchWindow >= 0, maxBatch > 0 else { throw ValidationError("--batch-window-ms must be ≥ 0 and --max-batch positive") }
    }

    func run() async throws {
        // A service holds the model for long: a smaller buffer cache than the engine's 1 GB default keeps it lean
        // (read once, before the first tensor is made).
        setenv("CNCLIP_BUFFER_CACHE_MB", String(bufferCacheMegabytes), 0)
        let config = try model.config(checkpoint: checkpoint.resume)
        let index = try ImageIndex.open(directory: location.url, readOnly: true)
        let identity = try indexModelIdentity(model, config: config, checkpoint: checkpoint.url())
        guard index.model.matches(identity) else {
            throw ValidationError("the index \(location.index) was built with \(index.model.summary); "
                                  + "these flags load \(identity.summary)")
        }
        let loaded = try loadModel(config: config, checkpoint: checkpoint.url(), precision: precision.precision)
        var configuration = ServiceConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxUploadBytes = maxUploadBytes
        configuration.maxPixels = maxPixels
        configuration.requestTimeout = requestTimeout
        configuration.reloadInterval = reloadInterval
        configuration.batchWindowMilliseconds = batchWindow
        configuration.maxBatch = maxBatch
        configuration.corsOrigin = corsOrigin
        configuration.modelLabel = "\(model.visionModel)@\(model.textModel)"
            + (precision.precision == .fp32 ? "" : " (\(precision.precision.rawValue))")
        configuration.indexName = location.url.standardizedFileURL.lastPathComponent
        let server = SearchServer(model: loaded, contextLength: contextLength, backend: IndexBackend(index),
                                  configuration: configuration)
        let host = self.host, rows = index.info.count
        try await server.warmUp()
        try await server.run { port in
            FileHandle.standardError.write(Data("serving \(rows) images on http://\(host):\(port)/\n".utf8))
        }
    }
}
