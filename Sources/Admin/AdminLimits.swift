import NIOCore
import Synchronization

/// What one admin client may cost the server. The defaults suit an operator's curl and a Prometheus scraper; every
/// field is a `chancery serve --admin-…` flag.
public struct AdminLimits: Sendable {
    /// A request head must be complete this long after the connection opened or its first byte arrived.
    public var headerTimeout: TimeAmount = .seconds(10)
    /// A connection that neither reads nor completes a write for this long is closed (an idle keep-alive connection,
    /// or a client that stopped reading its reply).
    public var idleTimeout: TimeAmount = .seconds(60)
    /// Open admin connections; one more is answered 503 and closed.
    public var maxConnections = 256
    /// Request line plus header fields, in bytes (the HTTP decoder rejects more with 431).
    public var maxHeadBytes = 8 << 10
    /// Header fields per request.
    public var maxHeaderFields = 64
    /// Request body bytes: admin pages take no body, so a little is read and dropped and more closes the connection.
    public var maxBodyBytes = 1 << 10
    /// Requests parsed ahead of the one being answered (pipelining); more closes the connection. One read of
    /// `readChunkBytes` holds fewer than this many requests (the shortest is 18 bytes), so it is only a backstop.
    public var maxPipelinedRequests = 128
    /// Bytes taken from the socket per read, and no further read until the requests parsed from it are answered.
    public var readChunkBytes = 2 << 10
    /// `/clients` and `/metrics` reuse one copy of the stream registry for at most this long.
    public var summaryMaxAge: TimeAmount = .seconds(1)
    /// Up to this many streams the copy is cheap (well under a millisecond) and is retaken on every change, so
    /// small deployments and tests always see the registry as it is.
    public var summaryFreshUpTo = 1000
    /// When set (an admin bound beyond loopback), every request must carry `Authorization: Bearer TOKEN`.
    public var token: AdminToken?

    public init() {}
}

/// Counters an operator (and the tests) can read: what the limits did and what the admin holds right now.
public struct AdminStats: Sendable, Equatable {
    public var openConnections = 0
    /// Connections closed at accept because `maxConnections` were open.
    public var rejectedConnections = 0
    public var headerTimeouts = 0
    public var idleTimeouts = 0
    /// Connections closed for an oversized or malformed head, a body, or too many pipelined requests.
    public var refusedRequests = 0
    public var responses = 0
    /// Response bytes handed to the channel whose write has not completed, over all connections.
    public var outstandingBytes = 0
    /// The most response bytes any one connection ever had outstanding at once.
    public var peakConnectionOutstandingBytes = 0
    /// The most parsed requests any one connection ever had waiting for their turn.
    public var peakQueuedRequests = 0
}

/// `AdminStats` shared by every connection of one server.
final class AdminCounters: Sendable {
    private let stats = Mutex(AdminStats())

    var current: AdminStats { stats.withLock { $0 } }

    @discardableResult
    func update<T>(_ change: (inout AdminStats) -> T) -> T {
        stats.withLock { change(&$0) }
    }
}
