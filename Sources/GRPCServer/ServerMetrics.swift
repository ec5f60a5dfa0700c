import CoreMetrics

/// The limits a gRPC server enforces, as the `limit` label of `chancery_xds_limit_hits_total`.
public enum ServerLimit: String, CaseIterable, Sendable {
    /// A new connection closed at once: every connection at `maxConnections` is serving a stream.
    case connections
    /// A connection without a stream closed to make room for a new one at `maxConnections`.
    case connectionEvictions = "connection_evictions"
    /// A stream refused past `maxConcurrentStreams` on its connection.
    case concurrentStreams = "concurrent_streams"
    /// A stream failed because its connection or the server held too many unfinished bytes.
    case bufferedBytes = "buffered_bytes"
    /// A connection closed for not sending its first request within `handshakeTimeout`.
    case handshakeTimeout = "handshake_timeout"
    /// accept(2) failed or a connection was shed for lack of file descriptors.
    case fileDescriptors = "file_descriptors"
}

/// What a gRPC server counts, made once from a swift-metrics factory (which backend is the caller's choice: the
/// `chancery` binary passes a Prometheus registry, tests their own, and the default records nothing).
///
/// Every handler is created here, up front: counting an event is one atomic increment, never a lookup or allocation.
public final class ServerMetrics: Sendable {
    /// Open connections (a gauge: up on accept, down on close).
    let connections: Meter
    private let hits: [ServerLimit: Counter]

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        connections = Meter(label: "chancery_xds_connections", dimensions: [], factory: factory)
        var hits: [ServerLimit: Counter] = [:]
        for limit in ServerLimit.allCases {
            hits[limit] = Counter(
                label: "chancery_xds_limit_hits_total", dimensions: [("limit", limit.rawValue)], factory: factory)
        }
        self.hits = hits
    }

    /// Counts one event of `limit`.
    func hit(_ limit: ServerLimit) {
        hits[limit]?.increment()
    }
}
