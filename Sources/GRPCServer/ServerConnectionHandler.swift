import Logging
import NIOCore

/// Sent down a connection's pipeline by `GRPCServer.shutdown()`.
enum ServerShutdownEvent {
    /// GOAWAY, refuse new streams, close once the open ones are done.
    case graceful
    /// Grace period over: end open streams with UNAVAILABLE (or RST_STREAM) and close.
    case force
}

/// One HTTP/2 connection: feeds bytes to nghttp2, runs gRPC streams, writes nghttp2's output with back-pressure.
///
/// What the connection does next (time out the handshake, go idle, drain after GOAWAY, hold reads, close) is
/// decided by its `ConnectionStateMachine`; this handler feeds it the channel's, nghttp2's and the timers' events and
/// carries out the actions it returns. Reads are held while the channel is not writable, so a peer that does not read
/// cannot make us buffer without bound; DATA is pulled lazily by nghttp2's data provider, so unsent messages stay in
/// the stream queues (visible as `pendingOutboundBytes`) instead of in socket buffers, and goes from those queues to the
/// channel without being copied (`NGHTTP2SharedDataSource`).
final class ServerConnectionHandler: ChannelDuplexHandler, NGHTTP2SharedDataSource {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let service: any GRPCService
    let configuration: GRPCServerConfiguration
    let logger: Logger
    let registry: ServerRegistry
    let logs: LimitLogs
    let connectionID: UInt64

    var machine: ConnectionStateMachine
    var session: NGHTTP2Session?
    var context: ChannelHandlerContext?
    var streams: [Int32: GRPCServerStream] = [:]
    /// Sum of the streams' unfinished inbound messages (see `countInbound`).
    var bufferedInboundBytes = 0
    var remoteAddress: String?
    /// How the peer connected and who its client certificate names (set by `GRPCServer` before the handler is added).
    var peer = ConnectionPeer(.cleartext)
    /// Closes the connection unless its first request arrives in time (`handshakeTimeout`).
    var handshakeTimer: Scheduled<Void>?
    /// Sends GOAWAY after `idleTimeout` without an open stream.
    var idleTimer: Scheduled<Void>?

    init(
        service: any GRPCService, configuration: GRPCServerConfiguration, logger: Logger, registry: ServerRegistry,
        connectionID: UInt64, logs: LimitLogs
    ) {
        self.service = service
        self.configuration = configuration
        self.registry = registry
        self.logs = logs
        self.connectionID = connectionID
        self.machine = ConnectionStateMachine(idleTimeoutEnabled: configuration.idleTimeout != nil)
        var logger = logger
        logger[metadataKey: "grpc.connection"] = "\(connectionID)"
        self.logger = logger
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let address = context.channel.remoteAddress, let ip = address.ipAddress, let port = address.port {
            remoteAddress = address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        }
        do {
            let session = try NGHTTP2Session(role: .server, allocator: context.channel.allocator)
            session.sharedDataSource = self
            try session.submitSettings(
                maxConcurrentStreams: configuration.maxConcurrentStreams,
                initialWindowSize: configuration.initialWindowBytes)
            try session.setConnectionReceiveWindow(configuration.initialWindowBytes)
            self.session = session
        } catch {
            logger.error("cannot create HTTP/2 session", metadata: ["error": "\(error)"])
            perform(machine.channelFailed())
            return
        }
        startHandshakeTimer(context)
        if context.channel.isActive {
            pumpOutput()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        closeAllStreams()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        logger.debug("connection opened", metadata: ["peer": "\(remoteAddress ?? "?")"])
        pumpOutput()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        logger.debug("connection closed", metadata: ["streams": "\(streams.count)"])
        machine.channelClosed()
        cancelTimers()
        closeAllStreams()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard machine.acceptsInput, let session else { return }
        let events: [NGHTTP2Event]
        do {
            events = try session.receive(unwrapInboundIn(data))
        } catch {
            // Not HTTP/2, or a connection error: nghttp2 may have queued a GOAWAY; send it and close this connection only.
            logger.debug("closing connection after HTTP/2 error", metadata: ["error": "\(error)"])
            perform(machine.protocolError())
            return
        }
        process(events)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        pumpOutput()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            pumpOutput()  // also releases a held read
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if machine.readRequested(canRead: canRead(context)) {
            context.read()
        }
    }

    /// Back-pressure: no more input while the socket is backed up or nghttp2 holds many unsent frames
    /// (e.g. a PING or SETTINGS flood whose ACKs we cannot write yet).
    private func canRead(_ context: ChannelHandlerContext) -> Bool {
        context.channel.isWritable && (session?.outboundQueueSize ?? 0) < Self.maxQueuedFrames
    }

    private static let maxQueuedFrames = 1024

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        perform(machine.channelFailed())
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ServerShutdownEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch event {
        case .graceful: perform(machine.gracefulShutdown())
        case .force: perform(machine.forcedShutdown())
        }
    }

    // MARK: Carrying out the machine's actions

    /// Does what the connection state machine decided.
    func perform(_ action: ConnectionStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .sendGoAway:
            do {
                try session?.submitGoAway(errorCode: .noError)
            } catch {
                logger.debug("submit_goaway failed", metadata: ["error": "\(error)"])
            }
            pumpOutput()
        case .close:
            context.close(promise: nil)
        case .flushAndClose:
            pumpOutput(force: true)
            closeAfterFlush()
        case .forceCloseStreams:
            for stream in streams.values.sorted(by: { $0.streamID < $1.streamID }) {
                stream.shutdownForced()
            }
            pumpOutput(force: true)
            closeAfterFlush()
            // A peer that never reads would keep the flush pending forever.
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { context.close(promise: nil) }
        case .none:
            break
        }
    }

    // MARK: Output pump

    func scheduleFlush() {
        guard let context, machine.flushRequested() else { return }
        context.eventLoop.assumeIsolated().execute { [weak self] in
            guard let self else { return }
            self.machine.flushRan()
            self.pumpOutput()
        }
    }

    /// Serializes nghttp2's output and writes it while the channel is writable, then flushes once.
    func pumpOutput(force: Bool = false) {
        guard let context, let session, context.channel.isActive else { return }
        let wrote: Bool
        do {
            wrote = try session.pump(
                allocator: context.channel.allocator,
                canWrite: { force || context.channel.isWritable },
                process: process,
                write: { context.write(wrapOutboundOut($0), promise: nil) })
        } catch {
            logger.debug("nghttp2 output failed", metadata: ["error": "\(error)"])
            perform(machine.channelFailed())
            return
        }
        if wrote {
            context.flush()
        }
        let actions = machine.outputPumped(
            canRead: canRead(context), sessionWantsRead: session.wantsRead,
            sessionWantsWrite: session.wantsWrite)
        if actions.resumeRead {
            context.read()
        }
        if actions.closeAfterFlush {
            closeAfterFlush()
        }
    }

    /// Closes once everything written so far has reached the socket.
    private func closeAfterFlush() {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func closeAllStreams() {
        let open = streams
        streams.removeAll()
        for stream in open.values.sorted(by: { $0.streamID < $1.streamID }) {
            registry.streamClosed()
            stream.close()
            releaseInbound(stream)
        }
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
