import GRPCClient
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import GRPCServer

/// Paths served by `TestService`.
enum TestPath {
    /// Echoes every message; OK trailers after the client's END_STREAM.
    static let echo = "/test.Echo/Echo"
    /// The first message is a decimal byte count: replies with one message of that size, then OK.
    static let big = "/test.Echo/Big"
    /// Never replies; for deadlines, disconnects and shutdown.
    static let hold = "/test.Echo/Hold"
    /// Echoes each message and finishes from a detached task (send/finish off the event loop).
    static let offLoop = "/test.Echo/OffLoop"
}

/// Counts handler lifecycle calls so tests can check closed() runs exactly once per stream.
final class HandlerLog: Sendable {
    private let state = Mutex((opened: 0, closed: 0, ended: 0, doubleClosed: 0, received: 0))
    /// Facts about the last `big` stream: pendingOutboundBytes right after send and when closed, and the peer.
    let observed = Mutex((pendingAfterSend: -1, pendingAtClose: -1, remoteAddress: String?.none))
    /// The most recently opened server stream.
    let lastStream = Mutex<GRPCServerStream?>(nil)

    func opened() { state.withLock { $0.opened += 1 } }
    func received() { state.withLock { $0.received += 1 } }
    func ended() { state.withLock { $0.ended += 1 } }
    func closed(twice: Bool) {
        state.withLock {
            $0.closed += 1
            if twice { $0.doubleClosed += 1 }
        }
    }

    var opens: Int { state.withLock { $0.opened } }
    var closes: Int { state.withLock { $0.closed } }
    var doubleCloses: Int { state.withLock { $0.doubleClosed } }
    var receives: Int { state.withLock { $0.received } }
}

final class TestHandler: GRPCStreamHandler {
    let stream: GRPCServerStream
    let log: HandlerLog
    private var isClosed = false

    init(stream: GRPCServerStream, log: HandlerLog) {
        self.stream = stream
        self.log = log
        log.lastStream.withLock { $0 = stream }
        log.opened()
    }

    func received(_ message: [UInt8]) {
        log.received()
        switch stream.path {
        case TestPath.echo:
            stream.send(message)
        case TestPath.big:
            let size = Int(String(decoding: message, as: UTF8.self)) ?? 0
            stream.send(bigPayload(size))
            let pending = stream.pendingOutboundBytes
            log.observed.withLock {
                $0.pendingAfterSend = pending
                $0.remoteAddress = stream.remoteAddress
            }
            stream.finish(.ok)
        case TestPath.offLoop:
            let stream = self.stream
            Task.detached {
                stream.send(message)
                stream.finish(.ok)
                stream.finish(.internalError("ignored: finish is idempotent"))
            }
        default:
            break
        }
    }

    func receivedEnd() {
        log.ended()
        if stream.path == TestPath.echo {
            stream.finish(.ok)
        }
    }

    func closed() {
        if stream.path == TestPath.big {
            let pending = stream.pendingOutboundBytes
            log.observed.withLock { $0.pendingAtClose = pending }
        }
        log.closed(twice: isClosed)
        isClosed = true
    }
}

struct TestService: GRPCService {
    let log = HandlerLog()

    func open(_ stream: GRPCServerStream) -> (any GRPCStreamHandler)? {
        switch stream.path {
        case TestPath.echo, TestPath.big, TestPath.hold, TestPath.offLoop: return TestHandler(stream: stream, log: log)
        default: return nil
        }
    }
}

/// The payload `TestPath.big` produces for `size`, to compare byte for byte.
/// Position-dependent bytes (a prime-period pattern mixed with the high bits), so reordering or loss shows.
func bigPayload(_ size: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        for index in 0..<size {
            buffer[index] = UInt8(truncatingIfNeeded: index % 251 &+ index >> 16)
        }
        count = size
    }
}

let testGroup = MultiThreadedEventLoopGroup.singleton

/// Runs `body` against a fresh server on 127.0.0.1:0 and always shuts it down.
func withServer(
    configuration: GRPCServerConfiguration = .init(),
    _ body: (GRPCServer, Int, TestService) async throws -> Void
) async throws {
    let service = TestService()
    var configuration = configuration
    // The test process shares a loaded machine: a test task can stall for seconds between connecting and sending its
    // first request, so the handshake deadline stays out of the way unless the test is about it.
    if configuration.handshakeTimeout == GRPCServerConfiguration().handshakeTimeout {
        configuration.handshakeTimeout = .seconds(300)
    }
    var logger = Logger(label: "grpc-test")
    logger.logLevel = .warning
    let server = GRPCServer(service: service, configuration: configuration, group: testGroup, logger: logger)
    let port = try await server.start(host: "127.0.0.1", port: 0)
    do {
        try await body(server, port, service)
    } catch {
        await server.shutdown()
        throw error
    }
    await server.shutdown()
}

/// Polls `condition` for up to `limit` (tests must stay bounded in time).
func eventually(_ limit: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}

/// Reads every remaining event of a stream.
func drain(_ stream: GRPCClientStream, timeout: Duration = .seconds(10)) async throws -> [GRPCClientEvent] {
    var events: [GRPCClientEvent] = []
    while let event = try await stream.next(timeout: timeout) {
        events.append(event)
    }
    return events
}

extension [GRPCClientEvent] {
    var messages: [[UInt8]] {
        compactMap { if case .message(let bytes) = $0 { bytes } else { nil } }
    }

    var status: GRPCStatus? {
        for case .trailers(let status, _) in self { return status }
        return nil
    }

    var trailerFields: [(String, String)] {
        for case .trailers(_, let fields) in self { return fields }
        return []
    }

    func trailer(_ name: String) -> String? {
        trailerFields.first { $0.0 == name }?.1
    }
}
