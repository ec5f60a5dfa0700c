import GRPCServer
import NIOCore

/// Per-stream client state, confined to the connection's event loop.
final class ClientStreamState {
    let sink: GRPCClientStream
    var outbound = CircularBuffer<ByteBuffer>()
    var endRequested = false
    var endSent = false
    var sawHeaders = false
    var sawTrailers = false
    var deframer = GRPCMessageDeframer(maxMessageBytes: Int(UInt32.max), rejectCompressed: false)

    init(sink: GRPCClientStream) {
        self.sink = sink
    }
}

/// The client side of one HTTP/2 connection (used by tests and the benchmark).
final class ClientConnectionHandler: ChannelDuplexHandler, NGHTTP2DataSource {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Large receive windows so big responses are limited by the server, not by us.
    static let receiveWindow = 16 << 20

    private let authority: String
    private let shared: ClientShared
    private var session: NGHTTP2Session?
    private var context: ChannelHandlerContext?
    private var streams: [Int32: ClientStreamState] = [:]
    private var flushScheduled = false
    private var readHeld = false
    private var closed = false

    init(authority: String, shared: ClientShared) {
        self.authority = authority
        self.shared = shared
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            let session = try NGHTTP2Session(role: .client, allocator: context.channel.allocator)
            session.dataSource = self
            try session.submitSettings(maxConcurrentStreams: 1024, initialWindowSize: Self.receiveWindow)
            try session.setConnectionReceiveWindow(Self.receiveWindow)
            self.session = session
        } catch {
            context.close(promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        pumpOutput()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        let open = streams
        streams.removeAll()
        for state in open.values {
            state.sink.end()
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed, let session else { return }
        do {
            process(try session.receive(unwrapInboundIn(data)))
        } catch {
            closed = true
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        pumpOutput()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            pumpOutput()
            if readHeld {
                readHeld = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable { context.read() } else { readHeld = true }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Stream operations (on the event loop, called through GRPCClient / GRPCClientStream)

    func openStream(
        path: String, extraHeaders: [(String, String)], contentType: String,
        makeSink: (Int32) -> GRPCClientStream
    ) throws -> GRPCClientStream {
        guard !closed, let session else { throw GRPCClientError.connectionClosed }
        var fields: [HeaderField] = [
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", authority),
            ("content-type", contentType), ("te", "trailers"),
        ]
        fields += extraHeaders.map { ($0.0.lowercased(), $0.1) }
        let streamID: Int32
        do {
            streamID = try session.submitRequest(headers: fields)
        } catch {
            throw GRPCClientError.http2("\(error)")
        }
        let sink = makeSink(streamID)
        streams[streamID] = ClientStreamState(sink: sink)
        scheduleFlush()
        return sink
    }

    func enqueue(streamID: Int32, bytes: ByteBuffer?, endStream: Bool) throws {
        guard let state = streams[streamID], !state.endRequested else { throw GRPCClientError.streamClosed }
        if let bytes, bytes.readableBytes > 0 { state.outbound.append(bytes) }
        state.endRequested = endStream
        session?.resumeData(streamID: streamID)
        scheduleFlush()
    }

    func reset(streamID: Int32) {
        guard streams[streamID] != nil else { return }
        session?.submitRstStream(streamID: streamID, errorCode: .cancel)
        scheduleFlush()
    }

    func readOutbound(streamID: Int32, maxLength: Int, write: (ByteBuffer) -> Void) -> NGHTTP2OutboundRead {
        guard let state = streams[streamID] else { return .deferred }
        let taken = state.outbound.take(upTo: maxLength, write)
        if state.outbound.isEmpty && state.endRequested {
            state.endSent = true
            return .endStream
        }
        return taken > 0 ? .more : .deferred
    }

    // MARK: nghttp2 events

    private func process(_ events: [NGHTTP2Event]) {
        for event in events {
            switch event {
            case .headers(let streamID, let fields):
                guard let state = streams[streamID] else { continue }
                let isTrailers = state.sawHeaders || fields.contains { $0.name == "grpc-status" }
                state.sawHeaders = true
                if isTrailers {
                    state.sawTrailers = true
                    state.sink.deliver(.trailers(Self.status(from: fields), fields))
                } else {
                    state.sink.deliver(.headers(fields))
                }
            case .data(let streamID, let bytes):
                guard let state = streams[streamID] else { continue }
                state.deframer.append(bytes)
                while let message = try? state.deframer.next() {
                    state.sink.deliver(.message(message))
                }
            case .streamClosed(let streamID, let errorCode):
                guard let state = streams.removeValue(forKey: streamID) else { continue }
                if errorCode != 0 || !state.sawTrailers {
                    state.sink.deliver(.reset(errorCode))
                }
                state.sink.end()
            case .goAway(let lastStreamID, let errorCode):
                shared.recordGoAway(lastStreamID: lastStreamID, errorCode: errorCode)
            case .endStream, .sentEndStream, .sentReset:
                break
            }
        }
    }

    /// grpc-status from trailers; a missing one maps from the HTTP status (UNKNOWN when nothing fits).
    static func status(from fields: [HeaderField]) -> GRPCStatus {
        let message = fields.first { $0.name == "grpc-message" }.map { GRPCStatus.percentDecode($0.value) } ?? ""
        if let raw = fields.first(where: { $0.name == "grpc-status" })?.value, let value = Int(raw),
            let code = GRPCStatus.Code(rawValue: value)
        {
            return GRPCStatus(code: code, message: message)
        }
        return GRPCStatus(code: .unknown, message: "missing grpc-status")
    }

    // MARK: Output

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [weak self] in
            guard let self else { return }
            self.flushScheduled = false
            self.pumpOutput()
        }
    }

    private func pumpOutput() {
        guard let context, let session, context.channel.isActive, !closed else { return }
        let wrote: Bool
        do {
            wrote = try session.pump(
                allocator: context.channel.allocator,
                canWrite: { context.channel.isWritable },
                process: process,
                write: { context.write(wrapOutboundOut($0), promise: nil) })
        } catch {
            closed = true
            context.close(promise: nil)
            return
        }
        if wrote { context.flush() }
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
