import Foundation

/// The limits and addresses of one search service; every field has a flag on `cnclip serve`.
public struct ServiceConfiguration: Sendable {
    /// Address to bind; the tests and the default use loopback only.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 lets the system choose a free one (read it back from `SearchServer.port`).
    public var port: Int = 8080
    /// Largest request body accepted (uploads included); larger ones get 413.
    public var maxUploadBytes: Int = 20 * 1024 * 1024
    /// Largest image, in pixels, an upload may announce; larger ones get 413 before any pixel is decoded.
    public var maxPixels: Int = 40_000_000
    /// Seconds a client has to send its whole body (408 after); connections idle for twice as long are closed.
    public var requestTimeout: Double = 30
    /// How long a batcher (text encoding, index search) waits for more queries once one is queued, in
    /// milliseconds. 0 (the default) adds no latency: a batch starts at once, and queries that arrive while it
    /// runs form the next batch, so batches grow with the load.
    public var batchWindowMilliseconds: Int = 0
    /// The most text queries in one forward pass, and the most queries in one index scan.
    public var maxBatch: Int = 32
    /// The most image requests waiting for the model at once; more get 503 with Retry-After.
    public var maxQueuedImages: Int = 8
    /// Longest text accepted, in characters (checked before tokenising).
    public var maxTextCharacters: Int = 1000
    /// Seconds between checks of the index for rows a concurrent `cnclip index add` committed; 0 turns polling off.
    public var reloadInterval: Double = 5
    /// The name the index is listed under by the clip-retrieval surface (`/indices-list`, `indice_name`).
    public var indexName: String = "images"
    /// How the loaded model is named in `/api/info` and the page (`vision@text`).
    public var modelLabel: String = "model"
    /// The origin whose pages may call the service from a browser (CORS), e.g. where clip-retrieval's front-end
    /// is served from; `*` allows any. nil (the default): no CORS headers, so other sites cannot read it.
    public var corsOrigin: String?
    /// Largest `k` (results per page) a search may ask for.
    public var maxK: Int = 1000

    public init() {}
}
