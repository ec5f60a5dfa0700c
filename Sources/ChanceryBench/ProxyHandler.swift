import GRPCServer
import NIOCore

/// One simulated Envoy: one HTTP/2 connection carrying one ADS stream, driven entirely inside this handler.
///
/// It subscribes like Envoy over ADS (CDS and LDS wildcard, then EDS for the clusters and RDS for the listeners it
/// learns), ACKs every response as soon as it is parsed (SotW: the version and nonce it got, the same names; delta:
/// the nonce), and tells the `Recorder` when it holds everything the current scenario waits for.
final class ProxyHandler: ChannelDuplexHandler, NGHTTP2DataSource {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let sotwPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
    static let deltaPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"

    private let index: Int
    private let delta: Bool
    private let recorder: Recorder
    private let authority: String
    private let node: String
    /// Told the version of every response ACKed (the soak's fleet keeps them; the load scenarios do not need them).
    private let observer: (@Sendable (XDSType, [UInt8]) -> Void)?
    private var session: NGHTTP2Session?
    private var context: ChannelHandlerContext?
    private var streamID: Int32 = -1
    private var outbound = CircularBuffer<ByteBuffer>()
    private var deframer = GRPCMessageDeframer(maxMessageBytes: 1 << 30, rejectCompressed: false)
    private var flushScheduled = false
    private var failed = false

    private var versions = Array(repeating: [UInt8](), count: 4)
    private var nonces = Array(repeating: [UInt8](), count: 4)
    /// Names subscribed for EDS and RDS (CDS and LDS are wildcard).
    private var subscribed = Array(repeating: Set<String>(), count: 4)
    private var scenario = -1
    private var received = 0
    private var bytesIn = 0
    private var bytesOut = 0

    init(
        index: Int, delta: Bool, recorder: Recorder, authority: String, node: String? = nil,
        observer: (@Sendable (XDSType, [UInt8]) -> Void)? = nil
    ) {
        self.index = index
        self.delta = delta
        self.recorder = recorder
        self.authority = authority
        self.node = node ?? "proxy-\(index)"
        self.observer = observer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            let session = try NGHTTP2Session(role: .client, allocator: context.channel.allocator)
            session.dataSource = self
            try session.submitSettings(maxConcurrentStreams: 16, initialWindowSize: 16 << 20)
            try session.setConnectionReceiveWindow(16 << 20)
            self.session = session
        } catch {
            fail("nghttp2 session: \(error)")
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let session else { return }
        let headers: [HeaderField] = [
            (":method", "POST"), (":scheme", "http"), (":path", delta ? Self.deltaPath : Self.sotwPath),
            (":authority", authority), ("content-type", "application/grpc"), ("te", "trailers"),
        ]
        do {
            streamID = try session.submitRequest(headers: headers)
        } catch {
            return fail("submit request: \(error)")
        }
        send(delta ? Wire.deltaRequest(.cluster, node: node) : Wire.request(.cluster, names: [], node: node))
        send(delta ? Wire.deltaRequest(.listener) : Wire.request(.listener, names: []))
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !failed { fail("connection closed by the server") }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed, let session else { return }
        do {
            for event in try session.receive(unwrapInboundIn(data)) { handle(event) }
        } catch {
            fail("HTTP/2: \(error)")
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        pump()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail("socket: \(error)")
    }

    private func handle(_ event: NGHTTP2Event) {
        switch event {
        case .data(_, let bytes):
            deframer.append(bytes)
            do {
                while let message = try deframer.next() { try respond(to: message) }
            } catch {
                fail("response: \(error)")
            }
        case .headers(_, let fields):
            if let status = fields.first(where: { $0.name == "grpc-status" }) {
                fail("stream ended with grpc-status \(status.value)")
            }
        case .streamClosed(_, let code):
            fail("stream closed (HTTP/2 error \(code))")
        case .goAway(_, let code):
            fail("GOAWAY \(code)")
        case .endStream, .sentEndStream, .sentReset:
            break
        }
    }

    /// ACKs one response, follows new names, and records completion of the current scenario.
    private func respond(to message: [UInt8]) throws {
        let current = recorder.currentScenario
        if current != scenario {
            scenario = current
            received = 0
            bytesIn = 0
            bytesOut = 0
        }
        bytesIn += message.count + 5
        let response = try Wire.decode(message, delta: delta)
        guard let type = response.type else { throw WireError(description: "response without a known type_url") }
        versions[type.rawValue] = response.version
        nonces[type.rawValue] = response.nonce
        if delta {
            send(Wire.deltaRequest(type, nonce: response.nonce))
        } else {
            send(Wire.request(type, names: names(type), version: response.version, nonce: response.nonce))
        }
        observer?(type, response.version)
        switch type {
        case .cluster: follow(.endpoint, response.names)
        case .listener: follow(.route, response.names)
        case .endpoint, .route: break
        }
        // A SotW EDS/RDS response for an older, smaller subscription does not count: wait for the full one.
        if delta || type == .cluster || type == .listener || response.resourceCount >= subscribed[type.rawValue].count {
            received |= type.bit
        }
        let expected = recorder.expectedTypes
        if received & expected == expected {
            recorder.complete(
                proxy: index, scenario: scenario, at: nowNanos(), bytesIn: bytesIn, bytesOut: bytesOut)
        }
    }

    private func names(_ type: XDSType) -> [String] {
        subscribed[type.rawValue].sorted()
    }

    /// Subscribes `type` to `names` (clusters → their endpoints, listeners → their route configurations).
    private func follow(_ type: XDSType, _ names: [String]) {
        let wanted = Set(names)
        let had = subscribed[type.rawValue]
        if delta {
            let added = wanted.subtracting(had)
            guard !added.isEmpty else { return }
            subscribed[type.rawValue].formUnion(added)
            send(Wire.deltaRequest(type, subscribe: added.sorted()))
        } else {
            guard wanted != had else { return }
            subscribed[type.rawValue] = wanted
            send(
                Wire.request(
                    type, names: wanted.sorted(), version: versions[type.rawValue], nonce: nonces[type.rawValue]))
        }
    }

    // MARK: Output

    private func send(_ message: [UInt8]) {
        guard let context, let session, streamID > 0 else { return }
        bytesOut += message.count + 5
        outbound.append(GRPCFraming.frame(message, allocator: context.channel.allocator))
        session.resumeData(streamID: streamID)
        scheduleFlush()
    }

    func readOutbound(streamID: Int32, maxLength: Int, write: (ByteBuffer) -> Void) -> NGHTTP2OutboundRead {
        outbound.take(upTo: maxLength, write) > 0 ? .more : .deferred
    }

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [weak self] in
            guard let self else { return }
            self.flushScheduled = false
            self.pump()
        }
    }

    private func pump() {
        guard let context, let session, context.channel.isActive, !failed else { return }
        do {
            let wrote = try session.pump(
                allocator: context.channel.allocator, canWrite: { context.channel.isWritable },
                process: { _ in }, write: { context.write(wrapOutboundOut($0), promise: nil) })
            if wrote { context.flush() }
        } catch {
            fail("HTTP/2 output: \(error)")
        }
    }

    private func fail(_ reason: String) {
        guard !failed else { return }
        failed = true
        recorder.fail("proxy \(index): \(reason)")
        context?.close(promise: nil)
    }
}

@available(*, unavailable)
extension ProxyHandler: Sendable {}
