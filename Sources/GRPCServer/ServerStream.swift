import NIOCore
import Synchronization

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
/// What the stream may do next is decided by its `StreamStateMachine`; this class only feeds it events and carries
/// out its answers (queue bytes, call the handler, ask the connection to submit frames). Mutable state other than
/// `pendingOutboundBytes` is confined to `eventLoop`, which is what makes the `@unchecked Sendable` sound.
public final class GRPCServerStream: @unchecked Sendable {
    public let path: String
    public let headers: [(name: String, value: String)]
    /// "ip:port" of the peer, when known.
    public let remoteAddress: String?
    /// The transport and the verified client certificate's names (fixed before the first request byte is read).
    public let peer: PeerIdentity
    public let connectionID: UInt64
    public let eventLoop: any EventLoop
    /// The server-wide budget: a service charges the request state it keeps for this stream here (and releases it).
    public let memoryBudget: MemoryBudget

    let streamID: Int32
    private let pending = Mutex(0)

    // Event-loop confined.
    weak var connection: ServerConnectionHandler?
    private(set) var machine = StreamStateMachine()
    private var handler: (any GRPCStreamHandler)?
    private(set) var deframer: GRPCMessageDeframer
    /// What this stream last counted towards its connection's inbound budget.
    var countedInboundBytes = 0
    /// Queued message parts; room for a response (prefix, body) or two before it grows.
    private(set) var outbound = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    var deadline: Scheduled<Void>?

    init(
        streamID: Int32, path: String, headers: [HeaderField], remoteAddress: String?,
        peer: PeerIdentity = .cleartext, connectionID: UInt64,
        eventLoop: any EventLoop, connection: ServerConnectionHandler, maxMessageBytes: Int, memoryBudget: MemoryBudget
    ) {
        self.memoryBudget = memoryBudget
        self.streamID = streamID
        self.path = path
        self.headers = headers
        self.remoteAddress = remoteAddress
        self.peer = peer
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
    public var pendingOutboundBytes: Int { pending.withLock { $0 } }

    /// Queues one message (the 5-byte prefix is added here). Dropped after `finish` or once the stream closed.
    public func send(_ message: [UInt8]) {
        queue(GRPCFraming.frame(message, allocator: ByteBufferAllocator()), body: nil)
    }

    /// Ends the RPC with trailers (`grpc-status`, percent-encoded `grpc-message`) after queued messages. Idempotent.
    public func finish(_ status: GRPCStatus) {
        if eventLoop.inEventLoop {
            finish(status, httpStatus: "200", extraFields: [])
        } else {
            eventLoop.execute { self.finish(status, httpStatus: "200", extraFields: []) }
        }
    }

    /// Queues one message made of a per-stream `head` and a `body` that many streams may share: the 5-byte prefix
    /// and `head` go into one small buffer, and `body` is queued as it is and later written as slices of the same
    /// storage, never copied. Protobuf fields may come in any order, so an xDS response is its nonce (the head)
    /// followed by bytes every proxy of a group receives alike.
    public func send(head: [UInt8], body: ByteBuffer) {
        var prefix = ByteBufferAllocator().buffer(capacity: GRPCFraming.prefixLength + head.count)
        prefix.writeInteger(UInt8(0))
        prefix.writeInteger(UInt32(truncatingIfNeeded: head.count + body.readableBytes), endianness: .big)
        prefix.writeBytes(head)
        queue(prefix, body: body.readableBytes > 0 ? body : nil)
    }

    /// Counts the bytes as pending at once (callers coalesce on it), then queues them on the event loop.
    private func queue(_ first: ByteBuffer, body: ByteBuffer?) {
        pending.withLock { $0 += first.readableBytes + (body?.readableBytes ?? 0) }
        if eventLoop.inEventLoop {
            enqueue(first, body)
        } else {
            eventLoop.execute { self.enqueue(first, body) }
        }
    }

    // MARK: Events from the service (event loop)

    private func enqueue(_ first: ByteBuffer, _ body: ByteBuffer?) {
        eventLoop.preconditionInEventLoop()
        let bytes = first.readableBytes + (body?.readableBytes ?? 0)
        guard let connection else { return releasePending(bytes) }
        switch machine.sendQueued() {
        case .submitHeaders:
            append(first, body)
            connection.submitResponse(
                streamID: streamID, headers: [(":status", "200"), ("content-type", "application/grpc")], hasBody: true)
        case .resumeData:
            append(first, body)
            connection.resumeData(streamID: streamID)
        case .drop:
            releasePending(bytes)
        }
    }

    /// Both parts are queued before nghttp2 may pull either, so no DATA frame ends between them mid-message.
    private func append(_ first: ByteBuffer, _ body: ByteBuffer?) {
        outbound.append(first)
        if let body { outbound.append(body) }
    }

    func finish(_ status: GRPCStatus, httpStatus: String, extraFields: [HeaderField]) {
        eventLoop.preconditionInEventLoop()
        let action = machine.finish(httpStatus: httpStatus, trailers: status.trailerFields + extraFields)
        if case .ignore = action { return }
        stopInbound()
        switch action {
        case .submitTrailersOnly(let fields):
            connection?.submitResponse(streamID: streamID, headers: fields, hasBody: false)
        case .resumeData:
            connection?.resumeData(streamID: streamID)
        case .ignore:
            break
        }
    }

    /// A request error found by the server: UNIMPLEMENTED also names the encodings we accept (docs/PROTOCOL.md §4).
    func fail(_ status: GRPCStatus) {
        let extra: [HeaderField] = status.code == .unimplemented ? [("grpc-accept-encoding", "identity")] : []
        finish(status, httpStatus: "200", extraFields: extra)
    }

    // MARK: Events from the connection (event loop)

    /// The request headers are valid: the service may now see the stream.
    func accept() {
        _ = machine.requestAccepted()
    }

    /// The service's handler for this stream; one already closed (the service finished inside `open`) is told so.
    func attach(_ handler: any GRPCStreamHandler) {
        if machine.isClosed {
            handler.closed()
        } else {
            self.handler = handler
        }
    }

    /// Inbound DATA: deframe and deliver; a framing error fails this stream only.
    func receive(_ bytes: ByteBuffer) {
        guard machine.receivedData() == .accept else { return }
        deframer.append(bytes)
        do {
            while machine.messageDeframed() == .accept, let message = try deframer.next() {
                handler?.received(message)
            }
        } catch {
            fail(error)
        }
    }

    /// The client sent END_STREAM.
    func receiveEnd() {
        switch machine.receivedEnd(partialMessage: deframer.hasPartialMessage) {
        case .deliverEnd: handler?.receivedEnd()
        case .fail(let status): fail(status)
        case .ignore: break
        }
    }

    /// The `grpc-timeout` deadline passed.
    func deadlineFired() {
        deadline = nil
        cancel(machine.deadlineFired(outboundEmpty: outbound.isEmpty))
    }

    /// The shutdown grace period is over.
    func shutdownForced() {
        cancel(machine.shutdownForced(outboundEmpty: outbound.isEmpty))
    }

    private func cancel(_ action: StreamStateMachine.CancelAction) {
        switch action {
        case .finish(let status):
            finish(status, httpStatus: "200", extraFields: [])
        case .reset:
            stopInbound()
            connection?.resetStream(streamID: streamID, errorCode: .cancel)
        case .ignore:
            break
        }
    }

    /// nghttp2 sent our END_STREAM.
    func sentEndStream() {
        if machine.sentEndStream() == .resetNoError {
            connection?.resetStream(streamID: streamID, errorCode: .noError)
        }
    }

    /// nghttp2's data provider asks how long the next DATA frame is; trailers go out once the queue is empty.
    func nextOutbound(maxLength: Int) -> (length: Int, then: NGHTTP2OutboundRead) {
        var queued = 0
        for buffer in outbound {
            queued += buffer.readableBytes
            if queued >= maxLength { return (maxLength, .more) }
        }
        if let trailers = machine.outboundDrained() {
            return (queued, .trailers(trailers))
        }
        return (queued, queued > 0 ? .more : .deferred)
    }

    /// The DATA frame announced by `nextOutbound` is being written: hand over exactly `length` queued bytes.
    func takeOutbound(length: Int, write: (ByteBuffer) -> Void) {
        releasePending(outbound.take(upTo: length, write))
    }

    /// The stream is gone: release everything and tell the handler, once.
    func close() {
        guard machine.closed() == .notifyHandler else { return }
        stopInbound()
        releasePending(outbound.reduce(0) { $0 + $1.readableBytes })
        outbound.removeAll()
        let handler = self.handler
        self.handler = nil
        handler?.closed()
    }

    // MARK: Helpers

    private func stopInbound() {
        deframer.discard()
        deadline?.cancel()
        deadline = nil
    }

    private func releasePending(_ bytes: Int) {
        if bytes > 0 { pending.withLock { $0 -= bytes } }
    }
}
