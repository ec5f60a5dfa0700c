import Foundation
import GRPCClient
import GRPCServer
import Logging
import NIOCore
import Testing

/// Server-wide limits of the gRPC layer: the shared memory budget and the connection cap.
@Suite("gRPC server limits")
struct GRPCServerLimitsTests {
    private static func prefix(_ length: Int) -> [UInt8] {
        [0, UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
    }

    /// Each connection stays under its own budget, but together they pass the server's: the later one fails.
    @Test func unfinishedMessagesOnSeparateConnectionsShareTheServerBudget() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.maxReceiveMessageBytes = 4 << 20
        configuration.memoryBudget = MemoryBudget(limit: 256 << 10)
        try await withServer(configuration: configuration) { server, port, _ in
            let first = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let held = try await first.openStream(path: TestPath.echo)
            try await held.sendRaw(Self.prefix(1 << 20) + [UInt8](repeating: 1, count: 200_000))
            #expect(await eventually { server.memoryBudget.charged >= 200_000 })

            let second = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let over = try await second.openStream(path: TestPath.echo)
            try await over.sendRaw(Self.prefix(1 << 20) + [UInt8](repeating: 2, count: 100_000))
            let failed = try await drain(over)
            #expect(failed.status?.code == .resourceExhausted, "\(failed)")
            #expect(failed.status?.message.contains("server-wide budget") == true, "\(failed)")

            // Closing the holder gives its bytes back; a fresh client is served.
            await first.close()
            #expect(await eventually { server.memoryBudget.charged == 0 })
            let fresh = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let echo = try await fresh.openStream(path: TestPath.echo)
            try await echo.sendRaw(Self.prefix(3) + [7, 8, 9], endStream: true)
            #expect(try await drain(echo).status == .ok)
            await second.close()
            await fresh.close()
            #expect(await eventually { server.activeStreamCount == 0 && server.memoryBudget.charged == 0 })
        }
    }

    /// At the cap, a connection that is serving a stream is kept and the new one is closed at once.
    @Test func connectionPastTheCapIsClosedWhenAllAreServing() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.maxConnections = 1
        try await withServer(configuration: configuration) { server, port, _ in
            let serving = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await serving.openStream(path: TestPath.echo)
            try await stream.sendRaw(Self.prefix(3) + [1, 2, 3])
            #expect(await eventually { server.activeStreamCount == 1 })

            // Closed at once: the client may not even finish setting up (it then throws).
            let refused = try? await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            #expect(await eventually { refused?.isClosed ?? true })
            #expect(server.connectionCount == 1)

            // The serving stream is untouched and finishes normally.
            try await stream.sendRaw([], endStream: true)
            let events = try await drain(stream)
            #expect(events.status == .ok)
            await serving.close()
            await refused?.close()
            #expect(await eventually { server.connectionCount == 0 })
        }
    }
}

/// A log handler that keeps every line, to count what a flood logs.
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let lines = LockedLines()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        lines.append("\(message) \(metadata ?? [:])")
    }

    var captured: [String] { lines.all }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

@Suite("Rate-limited log")
struct RateLimitedLogTests {
    @Test func aFloodOfEventsLogsOneLineWithThePeer() {
        let handler = CapturedLog()
        let logger = Logger(label: "limits") { _ in handler }
        let log = RateLimitedLog(interval: .seconds(3600))
        for index in 0..<1000 {
            log.log(logger, "refused", metadata: ["peer": "10.0.0.\(index % 250):\(index)"])
        }
        #expect(handler.captured.count == 1)
        #expect(handler.captured.first?.contains("10.0.0.0:0") == true)
    }

    @Test func theNextLineCountsWhatWasSkipped() {
        let handler = CapturedLog()
        let logger = Logger(label: "limits") { _ in handler }
        let log = RateLimitedLog(interval: .zero)
        log.log(logger, "first")
        log.log(logger, "second")
        #expect(handler.captured.count == 2)
        #expect(handler.captured.allSatisfy { !$0.contains("suppressed") })
    }
}
