import Logging
import NIOCore
import NIOEmbedded

@testable import GRPCServer

/// A server connection (`ServerConnectionHandler`) on an `EmbeddedChannel`, driven by a client nghttp2 session in
/// the same thread: every byte is real HTTP/2, every step is deterministic, and time moves only by `advance`.
final class EmbeddedHarness {
    let channel = EmbeddedChannel()
    let handler: ServerConnectionHandler
    let registry = ServerRegistry()
    let service = EmbeddedService()
    let client: NGHTTP2Session
    private let bodies = ClientBodies()
    /// Everything the client session reported (decoded server frames).
    private(set) var events: [NGHTTP2Event] = []
    /// Every byte the server wrote, to inspect frames the client session does not report (RST_STREAM, DATA sizes).
    private(set) var serverBytes: [UInt8] = []
    /// False once raw frames were injected that the client session does not know about (its view would diverge).
    var deliverToClient = true

    /// `clientWindow` is the client's SETTINGS_INITIAL_WINDOW_SIZE: 0 stalls every response body.
    init(configuration: GRPCServerConfiguration = .init(), clientWindow: Int = 1 << 20) throws {
        let logger = Logger(label: "embedded", factory: { _ in SwiftLogNoOpLogHandler() })
        handler = ServerConnectionHandler(
            service: service, configuration: configuration, logger: logger,
            registry: registry, connectionID: 1, logs: LimitLogs())
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
        client = try NGHTTP2Session(role: .client, allocator: channel.allocator)
        client.dataSource = bodies
        try client.submitSettings(maxConcurrentStreams: 100, initialWindowSize: clientWindow)
    }

    /// Opens a gRPC request; `extra` adds headers (e.g. grpc-timeout).
    func request(_ path: String, extra: [HeaderField] = []) throws -> Int32 {
        let fields: [HeaderField] =
            [
                (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "embedded"),
                ("content-type", "application/grpc"), ("te", "trailers"),
            ] + extra
        let streamID = try client.submitRequest(headers: fields)
        bodies.queues[streamID] = ClientBodies.Queue()
        return streamID
    }

    /// Queues one framed message (and optionally END_STREAM) on a client stream.
    func send(_ streamID: Int32, _ message: [UInt8], end: Bool = false) {
        bodies.queues[streamID, default: .init()].bytes +=
            GRPCFraming.frame(message, allocator: channel.allocator)
            .readableBytesView
        if end { bodies.queues[streamID, default: .init()].end = true }
        client.resumeData(streamID: streamID)
    }

    func end(_ streamID: Int32) {
        bodies.queues[streamID, default: .init()].end = true
        client.resumeData(streamID: streamID)
    }

    /// Moves bytes both ways until neither side has anything more to say.
    func exchange() throws {
        for _ in 0..<1000 {
            var moved = false
            var toServer = channel.allocator.buffer(capacity: 0)
            try client.produce(into: &toServer, limit: 1 << 20)
            events += client.takeEvents()
            if toServer.readableBytes > 0 {
                moved = true
                try writeToServer(toServer)
            }
            channel.embeddedEventLoop.run()
            while let out = try channel.readOutbound(as: ByteBuffer.self) {
                guard out.readableBytes > 0 else { continue }
                moved = true
                serverBytes += out.readableBytesView
                if deliverToClient {
                    events += try client.receive(out)
                }
            }
            if !moved { return }
        }
        throw HarnessError.noQuiescence
    }

    /// Hands raw bytes to the server as if the client had sent them (frames the client session cannot build).
    func writeToServer(_ bytes: ByteBuffer) throws {
        guard channel.isActive else { return }
        try channel.writeInbound(bytes)
    }

    func advance(by amount: TimeAmount) throws {
        channel.embeddedEventLoop.advanceTime(by: amount)
        try exchange()
    }

    // MARK: What the client saw

    func headerBlocks(_ streamID: Int32) -> [[HeaderField]] {
        events.compactMap { if case .headers(streamID, let fields) = $0 { fields } else { nil } }
    }

    func messages(_ streamID: Int32) -> [[UInt8]] {
        var deframer = GRPCMessageDeframer(maxMessageBytes: 1 << 24)
        var messages: [[UInt8]] = []
        for case .data(streamID, let bytes) in events {
            deframer.append(bytes)
            while let message = try? deframer.next() { messages.append(message) }
        }
        return messages
    }

    /// `grpc-status` of the stream's last header block (trailers, or Trailers-Only).
    func status(_ streamID: Int32) -> String? {
        headerBlocks(streamID).last?.first { $0.name == "grpc-status" }?.value
    }

    /// The error code the client session closed the stream with, nil while it is open.
    func closeCode(_ streamID: Int32) -> UInt32? {
        for case .streamClosed(streamID, let code) in events { return code }
        return nil
    }

    var goAway: (lastStreamID: Int32, errorCode: UInt32)? {
        for case .goAway(let last, let code) in events { return (last, code) }
        return nil
    }

    /// The server's frames, parsed from the raw bytes it wrote.
    var serverFrames: [RawFrame] { RawFrame.parse(serverBytes) }
}

enum HarnessError: Error {
    case noQuiescence
}

/// Request bodies for the client session's data provider.
final class ClientBodies: NGHTTP2DataSource {
    struct Queue {
        var bytes: [UInt8] = []
        var end = false
    }

    var queues: [Int32: Queue] = [:]

    func readOutbound(streamID: Int32, maxLength: Int, write: (ByteBuffer) -> Void) -> NGHTTP2OutboundRead {
        guard var queue = queues[streamID] else { return .deferred }
        let count = min(maxLength, queue.bytes.count)
        if count > 0 {
            write(ByteBuffer(bytes: queue.bytes.prefix(count)))
            queue.bytes.removeFirst(count)
        }
        queues[streamID] = queue
        if queue.bytes.isEmpty && queue.end {
            queues[streamID] = nil
            return .endStream
        }
        return count > 0 ? .more : .deferred
    }
}

/// One HTTP/2 frame as it appeared on the wire (RFC 9113 §4.1).
struct RawFrame: Equatable {
    static let data: UInt8 = 0x0, headers: UInt8 = 0x1, rstStream: UInt8 = 0x3, goAway: UInt8 = 0x7
    static let endStream: UInt8 = 0x1

    var type: UInt8
    var flags: UInt8
    var streamID: Int32
    var payload: [UInt8]

    static func parse(_ bytes: [UInt8]) -> [RawFrame] {
        var frames: [RawFrame] = []
        var index = 0
        while index + 9 <= bytes.count {
            let length = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            guard index + 9 + length <= bytes.count else { break }
            let stream =
                Int32(bytes[index + 5] & 0x7F) << 24 | Int32(bytes[index + 6]) << 16
                | Int32(bytes[index + 7]) << 8 | Int32(bytes[index + 8])
            frames.append(
                RawFrame(
                    type: bytes[index + 3], flags: bytes[index + 4], streamID: stream,
                    payload: Array(bytes[(index + 9)..<(index + 9 + length)])))
            index += 9 + length
        }
        return frames
    }

    /// WINDOW_UPDATE (type 0x8) granting `increment` bytes on `streamID` (0 = the connection).
    static func windowUpdate(streamID: Int32, increment: UInt32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeBytes([0, 0, 4, 0x8, 0])
        buffer.writeInteger(UInt32(streamID), endianness: .big)
        buffer.writeInteger(increment, endianness: .big)
        return buffer
    }
}

/// Paths: `Echo` echoes each message and finishes OK on the client's END_STREAM; `Hold` never answers; `Big` answers
/// its first message (a decimal size) with one message of that many bytes and OK; anything else is UNIMPLEMENTED.
/// The embedded loop runs on the test's thread, so the unsynchronized counters are never shared across threads.
final class EmbeddedService: GRPCService, @unchecked Sendable {
    var opened: [Int32] = []
    var received: [Int32: Int] = [:]
    var ended: [Int32: Int] = [:]
    var closed: [Int32: Int] = [:]
    var streams: [Int32: GRPCServerStream] = [:]

    func open(_ stream: GRPCServerStream) -> (any GRPCStreamHandler)? {
        guard ["/t.S/Echo", "/t.S/Hold", "/t.S/Big"].contains(stream.path) else { return nil }
        opened.append(stream.streamID)
        streams[stream.streamID] = stream
        return Handler(stream: stream, service: self)
    }

    final class Handler: GRPCStreamHandler {
        let stream: GRPCServerStream
        unowned let service: EmbeddedService

        init(stream: GRPCServerStream, service: EmbeddedService) {
            self.stream = stream
            self.service = service
        }

        func received(_ message: [UInt8]) {
            service.received[stream.streamID, default: 0] += 1
            switch stream.path {
            case "/t.S/Echo":
                stream.send(message)
            case "/t.S/Big":
                stream.send([UInt8](repeating: 7, count: Int(String(decoding: message, as: UTF8.self)) ?? 0))
                stream.finish(.ok)
            default:
                break
            }
        }

        func receivedEnd() {
            service.ended[stream.streamID, default: 0] += 1
            if stream.path == "/t.S/Echo" { stream.finish(.ok) }
        }

        func closed() {
            service.closed[stream.streamID, default: 0] += 1
        }
    }
}
