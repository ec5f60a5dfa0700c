import Logging
import NIOCore
import NIOPosix

/// Server limits and timings.
public struct GRPCServerConfiguration: Sendable {
    /// A request message longer than this fails its stream with RESOURCE_EXHAUSTED (other streams are unaffected).
    public var maxReceiveMessageBytes: Int = 64 << 20
    /// Advertised as SETTINGS_MAX_CONCURRENT_STREAMS.
    public var maxConcurrentStreams: Int = 2048
    /// Our receive windows: SETTINGS_INITIAL_WINDOW_SIZE for streams and the connection window.
    public var initialWindowBytes: Int = 8 << 20
    /// Bytes of unfinished request messages one connection may hold across all its streams; past it the stream
    /// holding the most fails with RESOURCE_EXHAUSTED. Bounds what a peer that never completes messages can pin.
    public var maxConnectionBufferedBytes: Int = 128 << 20
    /// How long `shutdown()` lets open streams finish after GOAWAY before ending them.
    public var shutdownGracePeriod: Duration = .seconds(5)

    public init() {}
}

/// Connections and stream counts shared by a server's connection handlers; safe from any thread.
final class ServerRegistry: Sendable {
    private struct State {
        var connections: [UInt64: any Channel] = [:]
        var nextConnectionID: UInt64 = 1
        var activeStreams = 0
        var serverChannel: (any Channel)?
        var shuttingDown = false
    }

    private let state = LockedValue(State())

    var activeStreamCount: Int { state.withLockedValue { $0.activeStreams } }
    var connectionCount: Int { state.withLockedValue { $0.connections.count } }

    func streamOpened() { state.withLockedValue { $0.activeStreams += 1 } }
    func streamClosed() { state.withLockedValue { $0.activeStreams -= 1 } }

    /// Registers an accepted connection; nil when the server is shutting down (the caller closes it).
    func register(_ channel: any Channel) -> UInt64? {
        state.withLockedValue { state in
            guard !state.shuttingDown else { return nil }
            let id = state.nextConnectionID
            state.nextConnectionID += 1
            state.connections[id] = channel
            return id
        }
    }

    func unregister(_ id: UInt64) { state.withLockedValue { _ = $0.connections.removeValue(forKey: id) } }

    func setServerChannel(_ channel: any Channel) { state.withLockedValue { $0.serverChannel = channel } }

    /// Marks the server as shutting down and returns its listening channel.
    func beginShutdown() -> (any Channel)? {
        state.withLockedValue { state in
            state.shuttingDown = true
            defer { state.serverChannel = nil }
            return state.serverChannel
        }
    }

    var openConnections: [any Channel] { state.withLockedValue { Array($0.connections.values) } }
}

/// A gRPC server over HTTP/2 (libnghttp2), one `ServerConnectionHandler` per accepted connection.
public final class GRPCServer: Sendable {
    private let service: any GRPCService
    private let configuration: GRPCServerConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let registry = ServerRegistry()

    public init(service: any GRPCService, configuration: GRPCServerConfiguration = .init(), group: any EventLoopGroup,
        logger: Logger)
    {
        self.service = service
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// Streams not yet closed, across all connections (for leak checks).
    public var activeStreamCount: Int { registry.activeStreamCount }
    public var connectionCount: Int { registry.connectionCount }

    /// Binds and starts accepting; returns the bound port (port 0 picks an ephemeral one).
    public func start(host: String, port: Int) async throws -> Int {
        let service = self.service
        let configuration = self.configuration
        let logger = self.logger
        let registry = self.registry
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard let connectionID = registry.register(channel) else {
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in registry.unregister(connectionID) }
                return channel.eventLoop.makeCompletedFuture {
                    let handler = ServerConnectionHandler(service: service, configuration: configuration,
                        logger: logger, registry: registry, connectionID: connectionID)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: host, port: port)
            .get()
        registry.setServerChannel(channel)
        let bound = channel.localAddress?.port ?? port
        logger.info("gRPC server listening", metadata: ["host": "\(host)", "port": "\(bound)"])
        return bound
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
