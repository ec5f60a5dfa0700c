import NIOCore

/// Receives the inbound side of one RPC. Every callback runs on the stream's event loop.
public protocol GRPCStreamHandler: AnyObject {
    /// One complete, deframed request message.
    func received(_ message: [UInt8])
    /// The client half-closed (END_STREAM).
    func receivedEnd()
    /// The stream is gone for any reason (finished, RST_STREAM, connection lost). Called exactly once.
    func closed()
}

/// Routes new RPCs to handlers.
public protocol GRPCService: Sendable {
    /// Called on the connection's event loop when a request's headers arrive. nil → UNIMPLEMENTED (Trailers-Only).
    func open(_ stream: GRPCServerStream) -> (any GRPCStreamHandler)?
}

/// One RPC. Callbacks into the handler run on `eventLoop`; `send`/`finish` may be called from any thread (they hop).
///
/// Mutable state other than `pendingOutboundBytes` is confined to `eventLoop`, which is what makes the
/// `@unchecked Sendable` sound.
public final class GRPCServerStream: @unchecked Sendable {
    public let path: String
    public let headers: [(name: String, value: String)]
    /// "ip:port" of the peer, when known.
    public let remoteAddress: String?
    public let connectionID: UInt64
    public let eventLoop: any EventLoop
    /// The server-wide budget: a service charges the request state it keeps for this stream here (and releases it).
    public let memoryBudget: MemoryBudget

    let streamID: Int32
    private let pending = LockedValue(0)

    // Event-loop confined.
    weak var connection: ServerConnectionHandler?
    var handler: (any GRPCStreamHandler)?
    var deframer: GRPCMessageDeframer
    /// What this stream last counted towards its connection's inbound budget.
    var countedInboundBytes = 0
    var outbound = CircularBuffer<ByteBuffer>()
    var responseState = ResponseState.idle
    /// Trailers to send once `outbound` drains.
    var pendingTrailers: [HeaderField]?
    /// `finish` was called (by the handler or by the server): later sends are dropped.
    var finished = false
    /// The client sent END_STREAM.
    var remoteEnded = false
    /// Stop delivering inbound messages (the stream failed or finished).
    var inboundDone = false
    var isClosed = false
    var deadline: Scheduled<Void>?

    enum ResponseState {
        /// No response headers submitted yet: an error can still go out Trailers-Only.
        case idle
        /// Headers submitted with a data provider.
        case streaming
        /// Trailers (or Trailers-Only) submitted.
        case done
    }

    init(streamID: Int32, path: String, headers: [HeaderField], remoteAddress: String?, connectionID: UInt64,
        eventLoop: any EventLoop, connection: ServerConnectionHandler, maxMessageBytes: Int, memoryBudget: MemoryBudget)
    {
        self.memoryBudget = memoryBudget
        self.streamID = streamID
        self.path = path
        self.headers = headers
        self.remoteAddress = remoteAddress
        self.connectionID = connectionID
        self.eventLoop = eventLoop
        self.connection = connection
        self.deframer = GRPCMessageDeframer(maxMessageBytes: maxMessageBytes)
    }

    /// The first value of a request header (names are lowercase on the wire).
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// Bytes queued by `send` and not yet handed to nghttp2: lets callers coalesce updates for slow readers.
    public var pendingOutboundBytes: Int { pending.withLockedValue { $0 } }

    /// Queues one message (the 5-byte prefix is added here). Dropped after `finish` or once the stream closed.
    public func send(_ message: [UInt8]) {
        let framed = GRPCFraming.frame(message, allocator: ByteBufferAllocator())
        pending.withLockedValue { $0 += framed.readableBytes }
        if eventLoop.inEventLoop {
            enqueue(framed)
        } else {
            eventLoop.execute { self.enqueue(framed) }
        }
    }

    /// Ends the RPC with trailers (`grpc-status`, percent-encoded `grpc-message`) after queued messages. Idempotent.
    public func finish(_ status: GRPCStatus) {
        if eventLoop.inEventLoop {
            finish(status, httpStatus: "200", extraFields: [])
        } else {
            eventLoop.execute { self.finish(status, httpStatus: "200", extraFields: []) }
        }
    }

    // MARK: Event-loop side

    private func enqueue(_ framed: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard !finished, !isClosed, let connection else {
            pending.withLockedValue { $0 -= framed.readableBytes }
            return
        }
        outbound.append(framed)
        connection.streamHasOutbound(self)
    }

    func finish(_ status: GRPCStatus, httpStatus: String, extraFields: [HeaderField]) {
        eventLoop.preconditionInEventLoop()
        guard !finished, !isClosed else { return }
        finished = true
        inboundDone = true
        deframer.discard()
        deadline?.cancel()
        deadline = nil
        connection?.streamFinished(self, trailers: status.trailerFields + extraFields, httpStatus: httpStatus)
    }

    /// nghttp2's data provider pulls up to `maxLength` queued bytes.
    func readOutbound(maxLength: Int, write: (ByteBuffer) -> Void) -> NGHTTP2OutboundRead {
        var remaining = maxLength
        while remaining > 0, var head = outbound.first {
            if head.readableBytes <= remaining {
                outbound.removeFirst()
                remaining -= head.readableBytes
                write(head)
            } else {
                let slice = head.readSlice(length: remaining)!
                outbound[outbound.startIndex] = head
                remaining = 0
                write(slice)
            }
        }
        let sent = maxLength - remaining
        if sent > 0 {
            pending.withLockedValue { $0 -= sent }
        }
        if outbound.isEmpty, let trailers = pendingTrailers {
            pendingTrailers = nil
            responseState = .done
            return .trailers(trailers)
        }
        return sent > 0 ? .more : .deferred
    }

    /// Inbound DATA: deframe and deliver; a framing error fails this stream only.
    func receive(_ bytes: ByteBuffer) {
        guard !inboundDone else { return }
        deframer.append(bytes)
        do {
            while !inboundDone, let message = try deframer.next() {
                handler?.received(message)
            }
        } catch {
            fail(error)
        }
    }

    func receiveEnd() {
        remoteEnded = true
        guard !inboundDone else { return }
        if deframer.hasPartialMessage {
            fail(.internalError("stream ended inside a message (truncated length-prefixed message)"))
            return
        }
        inboundDone = true
        handler?.receivedEnd()
    }

    func fail(_ status: GRPCStatus) {
        let extra: [HeaderField] = status.code == .unimplemented ? [("grpc-accept-encoding", "identity")] : []
        finish(status, httpStatus: "200", extraFields: extra)
    }

    /// The stream is gone: release everything and tell the handler, once.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        inboundDone = true
        deframer.discard()
        deadline?.cancel()
        deadline = nil
        let dropped = outbound.reduce(0) { $0 + $1.readableBytes }
        outbound.removeAll()
        if dropped > 0 {
            pending.withLockedValue { $0 -= dropped }
        }
        let handler = self.handler
        self.handler = nil
        handler?.closed()
    }
}
