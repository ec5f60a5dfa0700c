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
/// Reads are held while the channel is not writable, so a peer that does not read cannot make us buffer
/// without bound; DATA is pulled lazily by nghttp2's data provider, so unsent messages stay in the stream queues
/// (visible as `pendingOutboundBytes`) instead of in socket buffers.
final class ServerConnectionHandler: ChannelDuplexHandler, NGHTTP2DataSource {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let service: any GRPCService
    let configuration: GRPCServerConfiguration
    let logger: Logger
    let registry: ServerRegistry
    let logs: LimitLogs
    let connectionID: UInt64

    var session: NGHTTP2Session?
    var context: ChannelHandlerContext?
    var streams: [Int32: GRPCServerStream] = [:]
    /// Sum of the streams' unfinished inbound messages (see `countInbound`).
    var bufferedInboundBytes = 0
    var remoteAddress: String?
    private var flushScheduled = false
    private var readHeld = false
    var goingAway = false
    var closing = false
    /// Closes the connection unless its first request arrives in time (`handshakeTimeout`).
    var handshakeTimer: Scheduled<Void>?
    var sawRequest = false
    /// Sends GOAWAY after `idleTimeout` without an open stream.
    var idleTimer: Scheduled<Void>?

    init(service: any GRPCService, configuration: GRPCServerConfiguration, logger: Logger, registry: ServerRegistry,
        connectionID: UInt64, logs: LimitLogs)
    {
        self.service = service
        self.configuration = configuration
        self.registry = registry
        self.logs = logs
        self.connectionID = connectionID
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
            session.dataSource = self
            try session.submitSettings(maxConcurrentStreams: configuration.maxConcurrentStreams,
                initialWindowSize: configuration.initialWindowBytes)
            try session.setConnectionReceiveWindow(configuration.initialWindowBytes)
            self.session = session
        } catch {
            logger.error("cannot create HTTP/2 session", metadata: ["error": "\(error)"])
            closing = true
            context.close(promise: nil)
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
        closing = true
        cancelTimers()
        closeAllStreams()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, let session else { return }
        let bytes = unwrapInboundIn(data)
        let events: [NGHTTP2Event]
        do {
            events = try session.receive(bytes)
        } catch {
            // Not HTTP/2, or a connection error: nghttp2 may have queued a GOAWAY; send it and close this connection only.
            logger.debug("closing connection after HTTP/2 error", metadata: ["error": "\(error)"])
            closing = true
            pumpOutput(force: true)
            closeAfterFlush()
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
        if canRead(context) {
            context.read()
        } else {
            readHeld = true
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
        closing = true
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ServerShutdownEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch event {
        case .graceful:
            guard !goingAway, let session else { return }
            goingAway = true
            try? session.submitGoAway(errorCode: .noError)
            pumpOutput()
        case .force:
            goingAway = true
            for stream in streams.values {
                if stream.outbound.isEmpty && stream.pendingTrailers == nil {
                    stream.finish(.unavailable("server is shutting down"), httpStatus: "200", extraFields: [])
                } else {
                    stream.finished = true
                    session?.submitRstStream(streamID: stream.streamID, errorCode: .cancel)
                }
            }
            pumpOutput(force: true)
            closeAfterFlush()
            // A peer that never reads would keep the flush pending forever.
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { context.close(promise: nil) }
        }
    }

    // MARK: nghttp2 events

    private func process(_ events: [NGHTTP2Event]) {
        for event in events {
            switch event {
            case .headers(let streamID, let fields):
                if streams[streamID] == nil {
                    openStream(streamID: streamID, fields: fields)
                }  // else: request trailers, which gRPC does not use.
            case .data(let streamID, let bytes):
                if let stream = streams[streamID] {
                    stream.receive(bytes)
                    countInbound(stream)
                }
            case .endStream(let streamID):
                streams[streamID]?.receiveEnd()
            case .streamClosed(let streamID, _):
                if let stream = streams.removeValue(forKey: streamID) {
                    registry.streamClosed()
                    stream.close()
                    countInbound(stream)
                    if streams.isEmpty && !closing { becameIdle() }
                }
            case .sentReset(_, let errorCode):
                if errorCode == HTTP2ErrorCode.refusedStream.rawValue {
                    logs.streams.log(logger, "refusing streams past the per-connection limit",
                        metadata: ["peer": "\(remoteAddress ?? "?")", "limit": "\(configuration.maxConcurrentStreams)"])
                }
            case .sentEndStream(let streamID):
                // Trailers went out before the client's END_STREAM: tell it to stop sending (docs/PROTOCOL.md §4).
                if let stream = streams[streamID], !stream.remoteEnded {
                    session?.submitRstStream(streamID: streamID, errorCode: .noError)
                }
            case .goAway:
                break
            }
        }
    }

    private func openStream(streamID: Int32, fields: [HeaderField]) {
        guard let context else { return }
        let path = fields.first { $0.name == ":path" }?.value ?? ""
        let stream = GRPCServerStream(streamID: streamID, path: path, headers: fields, remoteAddress: remoteAddress,
            connectionID: connectionID, eventLoop: context.eventLoop, connection: self,
            maxMessageBytes: configuration.maxReceiveMessageBytes, memoryBudget: configuration.memoryBudget)
        streamOpening()
        streams[streamID] = stream
        registry.streamOpened()

        let method = stream.header(":method") ?? ""
        let contentType = stream.header("content-type") ?? ""
        if method != "POST" {
            stream.finish(.unimplemented("method \(method) not allowed; gRPC requires POST"), httpStatus: "405",
                extraFields: [])
            return
        }
        // grpc-go: a non-gRPC content-type gets HTTP 415 with grpc-status INVALID_ARGUMENT.
        if !(contentType == "application/grpc" || contentType.hasPrefix("application/grpc+")
            || contentType.hasPrefix("application/grpc;"))
        {
            stream.finish(.invalidArgument("invalid gRPC request content-type \"\(contentType)\""), httpStatus: "415",
                extraFields: [])
            return
        }
        if let encoding = stream.header("grpc-encoding"), encoding != "identity" {
            stream.fail(.unimplemented("grpc-encoding \"\(encoding)\" is not supported"))
            return
        }
        if let timeout = stream.header("grpc-timeout") {
            guard let duration = GRPCFraming.parseTimeout(timeout) else {
                stream.finish(.invalidArgument("malformed grpc-timeout \"\(timeout)\""), httpStatus: "200", extraFields: [])
                return
            }
            stream.deadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(duration)) { [weak self] in
                self?.deadlineExpired(stream)
            }
        }
        guard let handler = service.open(stream) else {
            stream.finish(.unimplemented("Method not found: \(path)"), httpStatus: "200", extraFields: [])
            return
        }
        if stream.isClosed {
            handler.closed()
        } else {
            stream.handler = handler
        }
    }

    private func deadlineExpired(_ stream: GRPCServerStream) {
        guard !stream.isClosed, !stream.finished else { return }
        stream.deadline = nil
        if stream.outbound.isEmpty {
            stream.finish(.deadlineExceeded("deadline exceeded"), httpStatus: "200", extraFields: [])
        } else {
            // A message is part-way out: trailers would have to wait behind it, so cancel outright.
            stream.finished = true
            stream.inboundDone = true
            session?.submitRstStream(streamID: stream.streamID, errorCode: .cancel)
            scheduleFlush()
        }
    }

    // MARK: Outbound (called by GRPCServerStream on the event loop)

    func streamHasOutbound(_ stream: GRPCServerStream) {
        guard let session else { return }
        switch stream.responseState {
        case .idle:
            stream.responseState = .streaming
            do {
                try session.submitResponse(streamID: stream.streamID,
                    headers: [(":status", "200"), ("content-type", "application/grpc")], hasBody: true)
            } catch {
                logger.debug("submit_response failed", metadata: ["error": "\(error)"])
            }
        case .streaming:
            session.resumeData(streamID: stream.streamID)
        case .done:
            return
        }
        scheduleFlush()
    }

    func streamFinished(_ stream: GRPCServerStream, trailers: [HeaderField], httpStatus: String) {
        guard let session else { return }
        switch stream.responseState {
        case .idle:
            // Trailers-Only: one HEADERS frame with END_STREAM.
            stream.responseState = .done
            let fields: [HeaderField] = [(":status", httpStatus), ("content-type", "application/grpc")] + trailers
            do {
                try session.submitResponse(streamID: stream.streamID, headers: fields, hasBody: false)
            } catch {
                logger.debug("submit_response failed", metadata: ["error": "\(error)"])
            }
        case .streaming:
            stream.pendingTrailers = trailers
            session.resumeData(streamID: stream.streamID)
        case .done:
            return
        }
        scheduleFlush()
    }

    func readOutbound(streamID: Int32, maxLength: Int, write: (ByteBuffer) -> Void) -> NGHTTP2OutboundRead {
        guard let stream = streams[streamID] else { return .deferred }
        return stream.readOutbound(maxLength: maxLength, write: write)
    }

    // MARK: Output pump

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [weak self] in
            guard let self else { return }
            self.flushScheduled = false
            self.pumpOutput()
        }
    }

    /// Serializes nghttp2's output and writes it while the channel is writable, then flushes once.
    func pumpOutput(force: Bool = false) {
        guard let context, let session, context.channel.isActive else { return }
        let wrote: Bool
        do {
            wrote = try session.pump(allocator: context.channel.allocator,
                                     canWrite: { force || context.channel.isWritable },
                                     process: process,
                                     write: { context.write(wrapOutboundOut($0), promise: nil) })
        } catch {
            logger.debug("nghttp2 output failed", metadata: ["error": "\(error)"])
            closing = true
            context.close(promise: nil)
            return
        }
        if wrote {
            context.flush()
        }
        if closing { return }
        if readHeld && canRead(context) {
            readHeld = false
            context.read()
        }
        if !session.wantsRead && !session.wantsWrite {
            // nghttp2 is done with this connection (e.g. it sent GOAWAY after a protocol error).
            closing = true
            closeAfterFlush()
        } else if goingAway && streams.isEmpty && !session.wantsWrite {
            closing = true
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
