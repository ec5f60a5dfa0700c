import GRPCServer
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// What a client stream observes, in order.
public enum GRPCClientEvent: Sendable {
    /// Response headers (`:status`, `content-type`, …).
    case headers([(String, String)])
    case message([UInt8])
    /// Trailers (or a Trailers-Only response, whose fields then include `:status`).
    case trailers(GRPCStatus, [(String, String)])
    /// The stream was reset (RST_STREAM code, or closed without trailers).
    case reset(UInt32)
}

public enum GRPCClientError: Error, Hashable, Sendable {
    case timeout
    case streamClosed
    case connectionClosed
    case http2(String)
}

/// Connection-wide facts the client records from any event.
final class ClientShared: Sendable {
    private let goAway = Mutex<(lastStreamID: Int32, errorCode: UInt32)?>(nil)

    func recordGoAway(lastStreamID: Int32, errorCode: UInt32) {
        goAway.withLock { $0 = (lastStreamID, errorCode) }
    }

    var receivedGoAway: (lastStreamID: Int32, errorCode: UInt32)? { goAway.withLock { $0 } }
}

/// A minimal gRPC client over nghttp2 for protocol tests and the benchmark (plaintext HTTP/2, prior knowledge).
public final class GRPCClient: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<ClientConnectionHandler>
    private let shared: ClientShared

    private init(channel: any Channel, handler: NIOLoopBound<ClientConnectionHandler>, shared: ClientShared) {
        self.channel = channel
        self.handler = handler
        self.shared = shared
    }

    public static func connect(host: String, port: Int, group: any EventLoopGroup) async throws -> GRPCClient {
        try await connect(authority: "\(host):\(port)", group: group) { bootstrap in
            bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port)
        }
    }

    /// Connects over a Unix domain socket (as an Envoy with a `pipe` address does).
    public static func connect(unixSocket path: String, group: any EventLoopGroup) async throws -> GRPCClient {
        try await connect(authority: "localhost", group: group) { $0.connect(unixDomainSocketPath: path) }
    }

    /// Connects over TLS with `tls` (its client certificate and trust roots; ALPN is the caller's choice, so tests
    /// can offer something other than h2), checking the server's certificate for `serverHostname`.
    public static func connect(
        host: String, port: Int, tls: NIOSSLContext, serverHostname: String?, group: any EventLoopGroup
    ) async throws -> GRPCClient {
        try await connect(authority: "\(host):\(port)", tls: (tls, serverHostname), group: group) { bootstrap in
            bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port)
        }
    }

    private static func connect(
        authority: String, tls: (context: NIOSSLContext, hostname: String?)? = nil, group: any EventLoopGroup,
        _ open: (ClientBootstrap) -> EventLoopFuture<any Channel>
    ) async throws -> GRPCClient {
        let shared = ClientShared()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: tls.hostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ClientConnectionHandler(authority: authority, shared: shared))
                }
            }
        let channel = try await open(bootstrap).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self),
                eventLoop: channel.eventLoop)
        }.get()
        return GRPCClient(channel: channel, handler: handler, shared: shared)
    }

    /// Sends request headers (`:method POST`, `te: trailers`, the content type, extras) and returns the stream.
    public func openStream(
        path: String, extraHeaders: [(String, String)] = [],
        contentType: String = "application/grpc"
    ) async throws -> GRPCClientStream {
        let handler = self.handler
        let eventLoop = channel.eventLoop
        return try await eventLoop.submit {
            try handler.value.openStream(path: path, extraHeaders: extraHeaders, contentType: contentType) { id in
                GRPCClientStream(streamID: id, handler: handler, eventLoop: eventLoop)
            }
        }.get()
    }

    /// The last GOAWAY received, if any.
    public var receivedGoAway: (lastStreamID: Int32, errorCode: UInt32)? { shared.receivedGoAway }

    /// True once the TCP connection is gone.
    public var isClosed: Bool { !channel.isActive }

    /// Stops or resumes reading from the socket, to play a slow reader in back-pressure tests.
    public func setReading(_ enabled: Bool) async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: enabled).get()
    }

    public func close() async {
        try? await channel.close()
    }
}

/// One client-side RPC. Events are buffered until read with `next`.
public final class GRPCClientStream: Sendable {
    public let streamID: Int32
    private let handler: NIOLoopBound<ClientConnectionHandler>
    private let eventLoop: any EventLoop
    private let state = Mutex(Inbox())

    private struct Inbox {
        var events = CircularBuffer<GRPCClientEvent>()
        var ended = false
        var waiter: (id: Int, continuation: CheckedContinuation<GRPCClientEvent?, any Error>)?
        var timeout: Scheduled<Void>?
        var nextWaiterID = 0
    }

    init(streamID: Int32, handler: NIOLoopBound<ClientConnectionHandler>, eventLoop: any EventLoop) {
        self.streamID = streamID
        self.handler = handler
        self.eventLoop = eventLoop
    }

    /// Sends one length-prefixed message (`compressed` only sets the flag byte, for abuse tests).
    public func send(_ message: [UInt8], compressed: Bool = false) async throws {
        try await enqueue(
            GRPCFraming.frame(message, compressed: compressed, allocator: ByteBufferAllocator()),
            endStream: false)
    }

    /// Arbitrary DATA bytes, for abuse tests (nghttp2 still splits them into frames as flow control allows).
    public func sendRaw(_ bytes: [UInt8], endStream: Bool = false) async throws {
        try await enqueue(ByteBuffer(bytes: bytes), endStream: endStream)
    }

    /// Half-closes with END_STREAM.
    public func finishSending() async throws {
        try await enqueue(nil, endStream: true)
    }

    /// RST_STREAM CANCEL.
    public func reset() async {
        let handler = self.handler
        let id = streamID
        try? await eventLoop.submit { handler.value.reset(streamID: id) }.get()
    }

    private func enqueue(_ bytes: ByteBuffer?, endStream: Bool) async throws {
        let handler = self.handler
        let id = streamID
        try await eventLoop.submit { try handler.value.enqueue(streamID: id, bytes: bytes, endStream: endStream) }.get()
    }

    /// The next event; nil once the stream is over and every event was read. Throws `.timeout`.
    public func next(timeout: Duration = .seconds(10)) async throws -> GRPCClientEvent? {
        try await withCheckedThrowingContinuation { continuation in
            let waiterID: Int? = state.withLock { inbox in
                if let event = inbox.events.popFirst() {
                    continuation.resume(returning: event)
                    return nil
                }
                if inbox.ended {
                    continuation.resume(returning: nil)
                    return nil
                }
                precondition(inbox.waiter == nil, "concurrent next() on one GRPCClientStream")
                inbox.nextWaiterID += 1
                inbox.waiter = (inbox.nextWaiterID, continuation)
                return inbox.nextWaiterID
            }
            guard let waiterID else { return }
            let task = eventLoop.scheduleTask(in: TimeAmount(timeout)) { self.timeOut(waiterID) }
            state.withLock { inbox in
                if inbox.waiter?.id == waiterID { inbox.timeout = task } else { task.cancel() }
            }
        }
    }

    private func timeOut(_ waiterID: Int) {
        let continuation = state.withLock { inbox -> CheckedContinuation<GRPCClientEvent?, any Error>? in
            guard let waiter = inbox.waiter, waiter.id == waiterID else { return nil }
            inbox.waiter = nil
            inbox.timeout = nil
            return waiter.continuation
        }
        continuation?.resume(throwing: GRPCClientError.timeout)
    }

    func deliver(_ event: GRPCClientEvent) {
        let waiter = state.withLock { inbox -> CheckedContinuation<GRPCClientEvent?, any Error>? in
            guard !inbox.ended else { return nil }
            if let waiter = inbox.waiter {
                inbox.waiter = nil
                inbox.timeout?.cancel()
                inbox.timeout = nil
                return waiter.continuation
            }
            inbox.events.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    func end() {
        let waiter = state.withLock { inbox -> CheckedContinuation<GRPCClientEvent?, any Error>? in
            inbox.ended = true
            guard let waiter = inbox.waiter else { return nil }
            inbox.waiter = nil
            inbox.timeout?.cancel()
            inbox.timeout = nil
            return waiter.continuation
        }
        waiter?.resume(returning: nil)
    }
}
