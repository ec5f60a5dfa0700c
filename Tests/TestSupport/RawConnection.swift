import NIOCore
import NIOPosix
import Synchronization

/// The event loops test clients connect from.
public let xdsTestGroup = MultiThreadedEventLoopGroup.singleton

/// Polls `condition` until it holds or `limit` passes (bounded; never a timing assertion by itself).
public func xdsEventually(_ limit: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return true
}

/// Bytes received on a raw connection.
public final class XDSRawSink: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    public func append(_ more: [UInt8]) { bytes.withLock { $0 += more } }
    public var received: [UInt8] { bytes.withLock { $0 } }
}

final class XDSRawCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    public let sink: XDSRawSink
    public init(sink: XDSRawSink) { self.sink = sink }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        sink.append(buffer.readBytes(length: buffer.readableBytes) ?? [])
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// A TCP connection to the server that speaks whatever bytes the test writes.
public final class XDSRawConnection: Sendable {
    public let channel: any Channel
    public let sink: XDSRawSink

    private init(channel: any Channel, sink: XDSRawSink) {
        self.channel = channel
        self.sink = sink
    }

    public static func connect(port: Int, autoRead: Bool = true) async throws -> XDSRawConnection {
        let sink = XDSRawSink()
        var bootstrap = ClientBootstrap(group: xdsTestGroup).channelOption(.autoRead, value: autoRead)
        if !autoRead {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: 4096)
        }
        let channel =
            try await bootstrap
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(XDSRawCollector(sink: sink))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return XDSRawConnection(channel: channel, sink: sink)
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    public var received: [UInt8] { sink.received }

    /// True when the server closed the connection within `limit`.
    public func closes(within limit: Duration = .seconds(20)) async -> Bool {
        await xdsEventually(limit) { !self.channel.isActive }
    }

    public func close() async {
        try? await channel.close()
    }
}
