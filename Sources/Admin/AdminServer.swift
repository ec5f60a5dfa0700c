import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Snapshot
import Synchronization
import XDS

/// The admin HTTP/1.1 endpoint: read-only JSON views of the snapshot, the proxies and the last load.
///
/// It runs on its own one-thread event loop group, never on the xDS loops: however an admin client behaves, or
/// however long a page takes, proxies are served as before. `AdminLimits` bounds what each client can hold.
public final class AdminServer: Sendable {
    private let pages: AdminPages
    private let limits: AdminLimits
    private let counters: AdminCounters
    /// The group the admin runs on; made (and shut down) here unless the caller passed one.
    public let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let logger: Logger
    private let channel = Mutex<(any Channel)?>(nil)
    /// Rejections not yet logged, and when the last rejection log line was written.
    private let rejections = Mutex<(unlogged: Int, lastLog: NIODeadline?)>((0, nil))

    public init(
        store: SnapshotStore, registry: StreamRegistry, groupGuard: GroupGuard? = nil,
        limits: AdminLimits = AdminLimits(), group: (any EventLoopGroup)? = nil,
        metrics: MetricsExposition = MetricsExposition(), logger: Logger
    ) {
        let counters = AdminCounters()
        self.counters = counters
        self.pages = AdminPages(
            store: store, registry: registry, groupGuard: groupGuard,
            summaryMaxAge: limits.summaryMaxAge, summaryFreshUpTo: limits.summaryFreshUpTo,
            counters: counters, metrics: metrics)
        self.limits = limits
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.ownsGroup = group == nil
        self.logger = logger
    }

    /// What the limits did so far and what the admin holds now.
    public var stats: AdminStats { counters.current }

    /// The event loop the listening socket (and so every admin connection) runs on, once started.
    public var eventLoop: (any EventLoop)? { channel.withLock { $0?.eventLoop } }

    /// Binds and returns the port (0 picks a free one).
    public func start(host: String, port: Int) async throws -> Int {
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Small reads, one per readable event: one read can only parse so many pipelined requests.
            .childChannelOption(
                .recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: limits.readChunkBytes)
            )
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.accept(channel)
                }
            }
            .bind(host: host, port: port).get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? port
    }

    /// Counts the connection against `maxConnections`: over the cap it is answered 503 and closed at once.
    private func accept(_ channel: any Channel) throws {
        let admitted = counters.update { stats -> Bool in
            guard stats.openConnections < limits.maxConnections else {
                stats.rejectedConnections += 1
                return false
            }
            stats.openConnections += 1
            return true
        }
        guard admitted else {
            noteRejection()
            try channel.pipeline.syncOperations.addHandler(AdminRejectHandler())
            return
        }
        channel.closeFuture.whenComplete { _ in self.counters.update { $0.openConnections -= 1 } }
        try configureChildPipeline(channel)
    }

    /// Logs rejected connections at most once every 10 seconds, with how many there were since the last line.
    private func noteRejection() {
        let now = NIODeadline.now()
        let count = rejections.withLock { state -> Int? in
            state.unlogged += 1
            if let last = state.lastLog, now - last < .seconds(10) { return nil }
            defer { state = (0, now) }
            return state.unlogged
        }
        if let count {
            logger.warning(
                "admin connection limit reached; closing new connections",
                metadata: [
                    "limit": "\(limits.maxConnections)", "rejected": "\(count)",
                ])
        }
    }

    /// Sets up the whole pipeline of one admin connection: timeouts, the bounded HTTP/1.1 decoder and the
    /// one-request-at-a-time handler. Call it on the channel's event loop (an `EmbeddedChannel` works, for fuzzing).
    public func configureChildPipeline(_ channel: any Channel) throws {
        let state = AdminConnectionState()
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maxHeadBytes
        decoderLimits.maxHeaderListSize = limits.maxHeadBytes
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderFields
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(AdminByteGuard(state: state, timeout: limits.headerTimeout, counters: counters))
        try operations.addHandler(IdleStateHandler(allTimeout: limits.idleTimeout))
        try operations.addHandler(HTTPResponseEncoder())
        try operations.addHandler(
            ByteToMessageHandler(
                HTTPRequestDecoder(
                    leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop,
                    limitConfiguration: decoderLimits)))
        try operations.addHandler(AdminHandler(pages: pages, limits: limits, counters: counters, state: state))
    }

    public func shutdown() async {
        let bound = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
        if ownsGroup { try? await group.shutdownGracefully() }
    }
}

/// The whole pipeline of a connection over the cap: a 503 as soon as it is active, then close.
final class AdminRejectHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private static let reply: String = {
        let body = "too many admin clients\n"
        return "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: \(body.utf8.count)\r\n"
            + "connection: close\r\n\r\n" + body
    }()

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context)
    }

    /// Whatever the client sends is dropped.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(NIOAny(ByteBuffer(string: Self.reply))).whenComplete { _ in channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension AdminRejectHandler: Sendable {}
