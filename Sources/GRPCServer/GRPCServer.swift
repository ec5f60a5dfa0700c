import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Server limits and timings.
public struct GRPCServerConfiguration: Sendable {
    /// A request message longer than this fails its stream with RESOURCE_EXHAUSTED (other streams are unaffected).
    public var maxReceiveMessageBytes: Int = 64 << 20
    /// Advertised as SETTINGS_MAX_CONCURRENT_STREAMS and enforced by nghttp2: a stream past it is refused with
    /// RST_STREAM(REFUSED_STREAM), even from a client that never acknowledged our SETTINGS. Envoy opens one ADS stream
    /// per connection (at most a handful with per-type services), so 100 leaves ample room.
    public var maxConcurrentStreams: Int = 100
    /// Our receive windows: SETTINGS_INITIAL_WINDOW_SIZE for streams and the connection window.
    public var initialWindowBytes: Int = 8 << 20
    /// Bytes of unfinished request messages one connection may hold across all its streams; past it the stream
    /// holding the most fails with RESOURCE_EXHAUSTED. Bounds what a peer that never completes messages can pin.
    public var maxConnectionBufferedBytes: Int = 128 << 20
    /// How long `shutdown()` lets open streams finish after GOAWAY before ending them.
    public var shutdownGracePeriod: Duration = .seconds(5)
    /// Server-wide bytes of unfinished inbound messages plus request state the service charges (subscriptions).
    public var memoryBudget = MemoryBudget(limit: 512 << 20)
    /// Open connections at most. At the cap a new connection evicts the oldest one that has not opened a stream yet
    /// (a handshake or an idle connection holds no proxy's configuration); when every connection is serving, the
    /// new one is closed at once.
    public var maxConnections: Int = 20_000
    /// A connection must send the HTTP/2 preface and its first request HEADERS within this time, or it is closed.
    public var handshakeTimeout: Duration = .seconds(10)
    /// A connection without an open stream for this long gets GOAWAY and is closed; nil keeps idle connections.
    public var idleTimeout: Duration? = .seconds(300)
    /// How long the listener pauses accepting after accept(2) fails (EMFILE, ENFILE, ENOBUFS), so a full descriptor
    /// table is not retried in a busy loop.
    public var acceptBackoff: Duration = .milliseconds(200)
    /// Open connections and limit hits (`ServerMetrics.swift`); records nothing unless given a real factory.
    public var metrics = ServerMetrics()

    public init() {}
}

/// Connections and stream counts shared by a server's connection handlers; safe from any thread.
final class ServerRegistry: Sendable {
    private struct State {
        var connections: [UInt64: any Channel] = [:]
        var nextConnectionID: UInt64 = 1
        var activeStreams = 0
        /// Connections that have not opened a stream since they connected or last went idle, oldest first by ID.
        var notServing: Set<UInt64> = []
        var serverChannel: (any Channel)?
        var shuttingDown = false
    }

    private let state = Mutex(State())

    var activeStreamCount: Int { state.withLock { $0.activeStreams } }
    var connectionCount: Int { state.withLock { $0.connections.count } }

    func streamOpened() { state.withLock { $0.activeStreams += 1 } }
    func streamClosed() { state.withLock { $0.activeStreams -= 1 } }

    /// What became of an accepted connection.
    enum Admission {
        case accepted(UInt64, evicting: (any Channel)?)
        /// At the connection cap with every connection serving a stream.
        case full
        case shuttingDown
    }

    /// Registers an accepted connection, within `limit` connections: at the cap, the oldest connection that is not
    /// serving a stream is handed back for the caller to close, so handshakes cannot crowd out real proxies.
    func register(_ channel: any Channel, limit: Int) -> Admission {
        state.withLock { state in
            guard !state.shuttingDown else { return .shuttingDown }
            var evicted: (any Channel)?
            if state.connections.count >= limit {
                guard let oldest = state.notServing.min() else { return .full }
                state.notServing.remove(oldest)
                evicted = state.connections.removeValue(forKey: oldest)
            }
            let id = state.nextConnectionID
            state.nextConnectionID += 1
            state.connections[id] = channel
            state.notServing.insert(id)
            return .accepted(id, evicting: evicted)
        }
    }

    func unregister(_ id: UInt64) {
        state.withLock { state in
            state.connections.removeValue(forKey: id)
            state.notServing.remove(id)
        }
    }

    /// A connection opened its first stream (`true`) or closed its last one (`false`).
    func setServing(_ id: UInt64, _ serving: Bool) {
        state.withLock { state in
            guard state.connections[id] != nil else { return }
            if serving { state.notServing.remove(id) } else { state.notServing.insert(id) }
        }
    }

    func setServerChannel(_ channel: any Channel) { state.withLock { $0.serverChannel = channel } }

    /// Marks the server as shutting down and returns its listening channel.
    func beginShutdown() -> (any Channel)? {
        state.withLock { state in
            state.shuttingDown = true
            defer { state.serverChannel = nil }
            return state.serverChannel
        }
    }

    var openConnections: [any Channel] { state.withLock { Array($0.connections.values) } }
}

/// A gRPC server over HTTP/2 (libnghttp2), one `ServerConnectionHandler` per accepted connection.
public final class GRPCServer: Sendable {
    private let service: any GRPCService
    private let configuration: GRPCServerConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let registry = ServerRegistry()
    private let limitLogs = LimitLogs()
    private let reserve = DescriptorReserve()
    /// Mutual TLS for TCP connections (nil: cleartext); see `TransportSecurity.swift`.
    private let tls: (any ConnectionSecurity)?

    public init(
        service: any GRPCService, configuration: GRPCServerConfiguration = .init(), group: any EventLoopGroup,
        logger: Logger, tls: (any ConnectionSecurity)? = nil
    ) {
        self.service = service
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.tls = tls
    }

    /// Streams not yet closed, across all connections (for leak checks).
    public var activeStreamCount: Int { registry.activeStreamCount }
    public var connectionCount: Int { registry.connectionCount }
    /// Bytes charged to the server-wide budget (inbound messages and what the service charges).
    public var memoryBudget: MemoryBudget { configuration.memoryBudget }

    /// Binds and starts accepting; returns the bound port (port 0 picks an ephemeral one).
    public func start(host: String, port: Int) async throws -> Int {
        let channel = try await bootstrap(transport: tls == nil ? .cleartext : .tls)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port).get()
        registry.setServerChannel(channel)
        let bound = channel.localAddress?.port ?? port
        logger.info(
            "gRPC server listening",
            metadata: ["host": "\(host)", "port": "\(bound)", "tls": "\(tls == nil ? "off" : "mutual")"])
        return bound
    }

    /// Binds a Unix domain socket at `path` (see `UnixSocket.swift` for the stale-file and mode rules).
    public func start(unixSocket path: String, mode: UInt16) async throws {
        // A socket a running server still answers on is not stale: taking it would cut that server off.
        if let live = try? await ClientBootstrap(group: group).connect(unixDomainSocketPath: path).get() {
            try? await live.close()
            throw UnixSocket.Failure(description: "another process is serving on \"\(path)\"; not taking its socket")
        }
        try UnixSocket.removeStale(path)
        let channel = try await bootstrap(transport: .unix).bind(unixDomainSocketPath: path).get()
        registry.setServerChannel(channel)
        do {
            try UnixSocket.setMode(path, mode)
        } catch {
            try? await channel.close()
            throw error
        }
        logger.info(
            "gRPC server listening", metadata: ["socket": "\(path)", "mode": "\(String(mode, radix: 8))"])
    }

    private func bootstrap(transport: PeerIdentity.Transport) -> ServerBootstrap {
        let service = self.service
        let configuration = self.configuration
        let logger = self.logger
        let registry = self.registry
        let logs = self.limitLogs
        let reserve = self.reserve
        let tls = transport == .tls ? self.tls : nil
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                // The EventLoopFuture `bind` of NIO 2.101 adds no AcceptBackoffHandler (only the async one does):
                // without it, EMFILE leaves the pending connection in the backlog, epoll reports the listener
                // readable again at once, and accept fails again, at 100 % CPU, for as long as the fds are taken.
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: false) { error in
                            if error.errnoCode == EMFILE || error.errnoCode == ENFILE { reserve.release() }
                            configuration.metrics.hit(.fileDescriptors)
                            logs.accept.log(
                                logger, level: .error, "accept failed; pausing the xDS listener",
                                metadata: ["error": "\(error)", "pause": "\(configuration.acceptBackoff)"])
                            return TimeAmount(configuration.acceptBackoff)
                        })
                }
            }
            // Each connection keeps its receive buffers between reads; a proxy sends a few hundred bytes per ACK, so
            // start small (NIO's default is 2 KiB, twice over) and let a burst grow it.
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 256, initial: 512, maximum: 64 << 10)
            )
            .childChannelOption(.maxMessagesPerRead, value: 2)
            .childChannelInitializer { channel in
                if reserve.takeShed() {
                    // Accepted with the reserve descriptor while the process is out of them: close, then retake it.
                    configuration.metrics.hit(.fileDescriptors)
                    logs.connections.log(
                        logger, "out of file descriptors; closing a new connection",
                        metadata: ["peer": "\(describePeer(channel.remoteAddress))"])
                    return channel.close().always { _ in reserve.reacquire() }
                }
                let connectionID: UInt64
                switch registry.register(channel, limit: configuration.maxConnections) {
                case .shuttingDown:
                    return channel.close()
                case .full:
                    configuration.metrics.hit(.connections)
                    logs.connections.log(
                        logger, "connection limit reached; closing new connections",
                        metadata: [
                            "peer": "\(describePeer(channel.remoteAddress))",
                            "limit": "\(configuration.maxConnections)",
                        ])
                    return channel.close()
                case .accepted(let id, let evicted):
                    connectionID = id
                    if let evicted {
                        configuration.metrics.hit(.connectionEvictions)
                        logs.evictions.log(
                            logger, "connection limit reached; closing the oldest connection without a stream",
                            metadata: [
                                "peer": "\(describePeer(evicted.remoteAddress))",
                                "limit": "\(configuration.maxConnections)",
                            ])
                        evicted.close(promise: nil)
                    }
                }
                configuration.metrics.connections.increment()
                channel.closeFuture.whenComplete { _ in
                    registry.unregister(connectionID)
                    configuration.metrics.connections.decrement()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let handler = ServerConnectionHandler(
                        service: service, configuration: configuration,
                        logger: logger, registry: registry, connectionID: connectionID, logs: logs)
                    handler.peer = ConnectionPeer(PeerIdentity(transport: transport))
                    if let tls {
                        try tls.secure(channel.pipeline.syncOperations, peer: handler.peer, logger: logger)
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
    }

    /// GOAWAY to every connection, stop accepting, let streams finish within the grace period, then close.
    public func shutdown() async {
        if let listener = registry.beginShutdown() {
            try? await listener.close()
        }
        for connection in registry.openConnections {
            connection.pipeline.fireUserInboundEventTriggered(ServerShutdownEvent.graceful)
        }
        if await waitForConnections(upTo: configuration.shutdownGracePeriod) { return }
        logger.info("grace period over; ending open streams", metadata: ["connections": "\(registry.connectionCount)"])
        for connection in registry.openConnections {
            connection.pipeline.fireUserInboundEventTriggered(ServerShutdownEvent.force)
        }
        if await waitForConnections(upTo: .seconds(2)) { return }
        for connection in registry.openConnections {
            try? await connection.close()
        }
    }

    /// Polls until every connection closed or `limit` passed; true when none remain.
    private func waitForConnections(upTo limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while registry.connectionCount > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }
}
