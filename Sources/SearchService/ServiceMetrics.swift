import Dispatch
import Foundation
import Hummingbird
import Prometheus

/// The service's Prometheus metrics, in a registry of its own (no process-wide bootstrap, so several servers can
/// run in one process, as the tests do). Served at `/metrics` in the text exposition format.
public final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Texts per batched forward pass.
    let textBatchSize: ValueHistogram

    private static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init() {
        textBatchSize = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(namespace: "cnclip", metricName: "text_batch_size", unitName: "",
                                             helpText: "Texts encoded per batched forward pass"),
            buckets: [1, 2, 4, 8, 16, 32, 64])
        _ = queueDepth(kind: "text")
        _ = queueDepth(kind: "image")
        _ = queueDepth(kind: "search")
    }

    /// Requests answered, by route template, method and status code.
    func requests(route: String, method: String, status: Int) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "cnclip", metricName: "http_requests", unitName: "total",
                                             helpText: "HTTP requests answered"),
            labels: [("route", route), ("method", method), ("status", String(status))])
    }

    /// Time from the request's arrival to its response (bodies are built in memory), by route template.
    func latency(route: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "cnclip", metricName: "http_request_duration", unitName: "seconds",
                                             helpText: "HTTP request latency"),
            labels: [("route", route)], buckets: Self.latencyBuckets)
    }

    /// Queries waiting, by kind: `text` and `image` for the model, `search` for the index.
    func queueDepth(kind: String) -> Gauge {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "cnclip", metricName: "model_queue_depth", unitName: "",
                                             helpText: "Queries waiting for the model (text, image) or the index (search)"),
            labels: [("kind", kind)])
    }

    /// The exposition text.
    func exposition() -> String { registry.emitToString() }
}

/// Counts every request and records its latency under its route template (unmatched paths as `unmatched`, so
/// random URLs cannot grow the label set).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let method = request.method.rawValue
        do {
            let response = try await next(request, context)
            let route = context.endpointPath ?? "unmatched"
            metrics.requests(route: route, method: method, status: response.status.code).increment()
            metrics.latency(route: route).recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            let route = context.endpointPath ?? "unmatched"
            metrics.requests(route: route, method: method, status: status).increment()
            metrics.latency(route: route).recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
            throw error
        }
    }
}
