import Prometheus

/// The service's Prometheus metrics, served at `GET /metrics`:
///
/// - `keysmith_challenge_http_requests_total{route,status}`: requests answered;
/// - `keysmith_challenge_verifications_total{outcome}`: verifications by outcome
///   (`accepted`, `replayed`, `expired`, `bad_signature`, `not_authorized`, …);
/// - `keysmith_challenge_request_duration_seconds{route}`: time from a request's head to
///   its response, a histogram;
/// - `keysmith_challenge_store_errors_total`: store operations that failed (the store did
///   not answer, or its state could not be used).
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let storeErrors: Counter

    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "keysmith",
            subsystem: "challenge",
            metricName: "http_requests",
            unitName: "total",
            helpText: "HTTP requests answered, by route and status."
        )
    }
    private static var verifications: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "keysmith",
            subsystem: "challenge",
            metricName: "verifications",
            unitName: "total",
            helpText: "Verifications by outcome."
        )
    }
    private static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "keysmith",
            subsystem: "challenge",
            metricName: "request_duration",
            unitName: "seconds",
            helpText: "Time from a request's head to its response, by route."
        )
    }
    private static let buckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    init() {
        self.storeErrors = self.registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "keysmith",
                subsystem: "challenge",
                metricName: "store_errors",
                unitName: "total",
                helpText: "Store operations that failed; nothing was accepted."
            )
        )
        // Present from the start, so that a scraper sees zeros rather than nothing.
        for outcome in ["accepted", "replayed", "expired"] {
            _ = self.registry.makeCounter(descriptor: Self.verifications, labels: [("outcome", outcome)])
        }
    }

    /// Counts one answered request and its time.
    func request(route: String, status: Int, duration: Duration) {
        self.registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("status", String(status))])
            .increment()
        self.registry.makeDurationHistogram(
            descriptor: Self.duration,
            labels: [("route", route)],
            buckets: Self.buckets
        )
        .record(duration)
    }

    /// Counts one verification's outcome.
    func verification(outcome: String) {
        self.registry.makeCounter(descriptor: Self.verifications, labels: [("outcome", outcome)]).increment()
    }

    /// Counts one failed store operation.
    func storeError() { self.storeErrors.increment() }

    /// The text exposition of every metric.
    func exposition() -> [UInt8] { self.registry.emitToBuffer() }
}
