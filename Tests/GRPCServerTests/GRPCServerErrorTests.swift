import GRPCClient
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import GRPCServer

@Suite("gRPC server: errors, abuse, deadlines, shutdown")
struct GRPCServerErrorTests {
    @Test func unknownMethodIsUnimplementedTrailersOnly() async throws {
        try await withServer { server, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: "/test.Nope/Missing")
            let events = try await drain(stream)
            #expect(events.count == 1)  // Trailers-Only: no separate headers, no messages
            #expect(events.status?.code == .unimplemented)
            #expect(events.status?.message.contains("/test.Nope/Missing") == true)
            #expect(events.trailer(":status") == "200")
            #expect(await eventually { server.activeStreamCount == 0 })
            await client.close()
        }
    }

    /// HPACK lets tiny frames decode into huge header lists; past 16 KiB the stream is reset and nothing is kept,
    /// while the connection's other streams go on.
    @Test func oversizedHeaderListResetsThatStreamOnly() async throws {
        try await withServer { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let value = String(repeating: "v", count: 1000)
            let big = try await client.openStream(
                path: TestPath.echo,
                extraHeaders: (0..<40).map { ("x-pad-\($0)", value) })
            let events = try await drain(big)
            #expect(events.contains { if case .reset = $0 { return true } else { return false } }, "\(events)")
            #expect(service.log.opens == 0)  // the handler never saw it
            let small = try await client.openStream(path: TestPath.echo)
            try await small.send(Array("still here".utf8))
            try await small.finishSending()
            let rest = try await drain(small)
            #expect(rest.status == .ok)
            #expect(await eventually { server.activeStreamCount == 0 })
            await client.close()
        }
    }

    /// Unfinished messages are bounded per connection: past the budget the stream holding the most fails alone.
    @Test func connectionInboundBudgetFailsTheLargestUnfinishedMessage() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.maxReceiveMessageBytes = 1 << 20
        configuration.maxConnectionBufferedBytes = 64 << 10
        try await withServer(configuration: configuration) { server, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            func prefix(_ length: Int) -> [UInt8] {
                [
                    0, UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff),
                    UInt8(length & 0xff),
                ]
            }
            let big = try await client.openStream(path: TestPath.echo)
            try await big.sendRaw(prefix(500_000) + [UInt8](repeating: 1, count: 40_000))
            let small = try await client.openStream(path: TestPath.echo)
            try await small.sendRaw(prefix(50_000) + [UInt8](repeating: 2, count: 30_000))
            let failed = try await drain(big)
            #expect(failed.status?.code == .resourceExhausted, "\(failed)")
            // The other stream finishes its message and is served.
            try await small.sendRaw([UInt8](repeating: 2, count: 20_000), endStream: true)
            let rest = try await drain(small)
            #expect(rest.contains { if case .message(let m) = $0 { return m.count == 50_000 } else { return false } })
            #expect(rest.status == .ok)
            #expect(await eventually { server.activeStreamCount == 0 })
            await client.close()
        }
    }

    @Test func badContentTypeIs415InvalidArgument() async throws {
        try await withServer { _, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.echo, contentType: "application/json")
            let events = try await drain(stream)
            #expect(events.trailer(":status") == "415")
            #expect(events.status?.code == .invalidArgument)
            #expect(service.log.opens == 0)
            await client.close()
        }
    }

    @Test func compressedFlagIsUnimplementedWithAcceptEncoding() async throws {
        try await withServer { _, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.echo)
            try await stream.send([1, 2, 3], compressed: true)
            let events = try await drain(stream)
            #expect(events.status?.code == .unimplemented)
            #expect(events.trailer("grpc-accept-encoding") == "identity")
            #expect(events.messages.isEmpty)
            #expect(service.log.receives == 0)
            await client.close()
        }
    }

    @Test func unsupportedGrpcEncodingHeaderIsUnimplemented() async throws {
        try await withServer { _, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.echo, extraHeaders: [("grpc-encoding", "gzip")])
            let events = try await drain(stream)
            #expect(events.status?.code == .unimplemented)
            #expect(events.trailer("grpc-accept-encoding") == "identity")
            await client.close()
        }
    }

    @Test func overReceiveLimitFailsOnlyThatStream() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.maxReceiveMessageBytes = 1024
        try await withServer(configuration: configuration) { server, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let other = try await client.openStream(path: TestPath.echo)
            try await other.send([7])
            let big = try await client.openStream(path: TestPath.echo)
            try await big.send([UInt8](repeating: 1, count: 2000))
            let bigEvents = try await drain(big)
            #expect(bigEvents.status?.code == .resourceExhausted)
            #expect(bigEvents.messages.isEmpty)
            // The sibling stream on the same connection keeps working.
            try await other.send([UInt8](repeating: 2, count: 1024))
            try await other.finishSending()
            let otherEvents = try await drain(other)
            #expect(otherEvents.messages == [[7], [UInt8](repeating: 2, count: 1024)])
            #expect(otherEvents.status == .ok)
            #expect(await eventually { server.activeStreamCount == 0 })
            await client.close()
        }
    }

    @Test func truncatedMessageAtEndStreamIsAnError() async throws {
        try await withServer { _, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.echo)
            try await stream.sendRaw([0, 0, 0, 0, 10, 1, 2, 3], endStream: true)
            let events = try await drain(stream)
            let code = try #require(events.status?.code)
            #expect(code == .internalError || code == .invalidArgument)
            #expect(service.log.receives == 0)
            await client.close()
        }
    }

    @Test func garbageClosesThatConnectionOnly() async throws {
        try await withServer { server, port, _ in
            let healthy = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let survivor = try await healthy.openStream(path: TestPath.echo)
            try await survivor.send([1])

            // Not an HTTP/2 preface at all.
            let plain = try await RawConnection.connect(port: port)
            try await plain.write(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + (0..<4096).map { UInt8($0 % 251) })
            #expect(await plain.closes(within: .seconds(20)))

            // A valid preface, then a DATA frame on stream 0 (a connection PROTOCOL_ERROR).
            let framed = try await RawConnection.connect(port: port)
            let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
            let settings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]
            let dataOnZero: [UInt8] = [0, 0, 4, 0, 0, 0, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF]
            try await framed.write(preface + settings + dataOnZero)
            #expect(await framed.closes(within: .seconds(5)))

            // Random bytes after a valid preface: whatever nghttp2 makes of them, the server must survive.
            let random = try await RawConnection.connect(port: port)
            var generator = SystemRandomNumberGenerator()
            try await random.write(preface + (0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
            await random.close()

            // The healthy connection and new clients are unaffected.
            try await survivor.send([2])
            try await survivor.finishSending()
            #expect(try await drain(survivor).messages == [[1], [2]])
            let fresh = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await fresh.openStream(path: TestPath.echo)
            try await stream.send([3])
            try await stream.finishSending()
            #expect(try await drain(stream).status == .ok)
            await healthy.close()
            await fresh.close()
            #expect(await eventually { server.connectionCount == 0 && server.activeStreamCount == 0 })
        }
    }

    @Test func pingIsAcknowledged() async throws {
        try await withServer { _, port, _ in
            let raw = try await RawConnection.connect(port: port)
            let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
            let settings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]
            let opaque: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
            let ping: [UInt8] = [0, 0, 8, 6, 0, 0, 0, 0, 0] + opaque
            try await raw.write(preface + settings + ping)
            // PING with the ACK flag, stream 0, echoing our opaque data.
            let ack: [UInt8] = [0, 0, 8, 6, 1, 0, 0, 0, 0] + opaque
            #expect(await eventually { containsSubsequence(raw.received, ack) })
            #expect(raw.channel.isActive)
            await raw.close()
        }
    }

    @Test func grpcTimeoutExpires() async throws {
        try await withServer { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let start = ContinuousClock.now
            let stream = try await client.openStream(path: TestPath.hold, extraHeaders: [("grpc-timeout", "200m")])
            // On a loaded machine the deadline can pass before this message is written; the stream then ends all
            // the same, which is what is checked below.
            try? await stream.send([1])
            let events = try await drain(stream, timeout: .seconds(20))
            let elapsed = ContinuousClock.now - start
            let deadlineHit =
                events.status?.code == .deadlineExceeded
                || events.contains { if case .reset(8) = $0 { true } else { false } }
            #expect(deadlineHit)
            #expect(elapsed >= .milliseconds(150))
            #expect(await eventually { service.log.closes == 1 && server.activeStreamCount == 0 })
            await client.close()
        }
    }

    @Test func malformedTimeoutIsRejected() async throws {
        try await withServer { _, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.hold, extraHeaders: [("grpc-timeout", "soon")])
            #expect(try await drain(stream).status?.code == .invalidArgument)
            await client.close()
        }
    }

    @Test func shutdownDrainsOpenStreamsAfterGoAway() async throws {
        try await withServer { server, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.echo)
            try await stream.send([1])
            _ = try await stream.next()  // headers
            _ = try await stream.next()  // echo
            let shutdown = Task { await server.shutdown() }
            #expect(await eventually { client.receivedGoAway != nil })
            #expect(client.receivedGoAway?.errorCode == 0)
            // The open stream still completes normally after GOAWAY.
            try await stream.send([2])
            try await stream.finishSending()
            let events = try await drain(stream)
            #expect(events.messages == [[2]])
            #expect(events.status == .ok)
            await shutdown.value
            #expect(server.connectionCount == 0)
            #expect(await eventually { client.isClosed })
        }
    }

    @Test func shutdownEndsStreamsThatOutliveTheGracePeriod() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.shutdownGracePeriod = .milliseconds(300)
        try await withServer(configuration: configuration) { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.hold)
            try await stream.send([1])
            #expect(await eventually { service.log.receives == 1 })
            await server.shutdown()
            #expect(await eventually { client.receivedGoAway != nil })  // the client reads it asynchronously
            let events = try await drain(stream, timeout: .seconds(20))
            #expect(events.status?.code == .unavailable)
            #expect(server.activeStreamCount == 0 && server.connectionCount == 0)
            #expect(service.log.closes == 1)
            // No longer accepting.
            await #expect(throws: (any Error).self) {
                let late = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
                _ = try await late.openStream(path: TestPath.echo)
            }
        }
    }
}

/// Collects every byte a raw connection receives.
final class ByteCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let bytes = Mutex<[UInt8]>([])

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        bytes.withLock { $0 += buffer.readableBytesView }
    }
}

/// A plain TCP connection for sending bytes that are not (valid) HTTP/2 and reading raw replies.
struct RawConnection {
    let channel: any Channel
    let collector: ByteCollector

    static func connect(port: Int) async throws -> RawConnection {
        let collector = ByteCollector()
        let channel = try await ClientBootstrap(group: testGroup)
            .channelInitializer { channel in channel.pipeline.addHandler(collector) }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    var received: [UInt8] { collector.bytes.withLock { $0 } }

    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func closes(within limit: Duration) async -> Bool {
        await eventually(limit) { !channel.isActive }
    }

    func close() async {
        try? await channel.close()
    }
}

func containsSubsequence(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard haystack.count >= needle.count else { return false }
    return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
}
