import GRPCClient
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import GRPCServer

@Suite("gRPC server: streaming over loopback")
struct GRPCServerStreamingTests {
    @Test func echoRoundTrip() async throws {
        try await withServer { server, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.echo)
            try await stream.send(Array("hello".utf8))
            guard case .headers(let headers) = try await stream.next() else {
                Issue.record("expected response headers first")
                return
            }
            #expect(headers.contains { $0 == (":status", "200") })
            #expect(headers.contains { $0 == ("content-type", "application/grpc") })
            guard case .message(let echoed) = try await stream.next() else {
                Issue.record("expected the echoed message")
                return
            }
            #expect(echoed == Array("hello".utf8))
            try await stream.finishSending()
            let rest = try await drain(stream)
            #expect(rest.status == .ok)
            #expect(rest.trailer("grpc-status") == "0")
            #expect(await eventually { server.activeStreamCount == 0 })
            await client.close()
        }
    }

    @Test func manyMessagesEachDirection() async throws {
        try await withServer { _, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.echo)
            let sent = (0..<500).map { index in (0..<(index % 97 * 13)).map { UInt8(truncatingIfNeeded: $0 + index) } }
            for message in sent {
                try await stream.send(message)
            }
            try await stream.finishSending()
            let events = try await drain(stream)
            #expect(events.messages == sent)
            #expect(events.status == .ok)
            #expect(service.log.receives == 500)
            await client.close()
        }
    }

    @Test func twentyMiBResponseArrivesIntact() async throws {
        try await withServer { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.big)
            let size = 20 << 20
            try await stream.send(Array(String(size).utf8))
            try await stream.finishSending()
            let events = try await drain(stream, timeout: .seconds(20))
            #expect(events.messages.count == 1)
            #expect(events.messages.first?.count == size)
            #expect(events.messages.first == bigPayload(size))
            #expect(events.status == .ok)
            #expect(await eventually { server.activeStreamCount == 0 })
            let observed = service.log.observed.withLock { $0 }
            #expect(observed.pendingAfterSend >= size + 5)  // counted as soon as send() queues it
            #expect(observed.pendingAtClose == 0)  // all of it went through nghttp2
            #expect(observed.remoteAddress?.hasPrefix("127.0.0.1:") == true)
            await client.close()
        }
    }

    @Test func slowReaderKeepsDataQueuedInsteadOfInSocketBuffers() async throws {
        // 12 MiB fits the client's 16 MiB HTTP/2 windows, so only NIO back-pressure (not flow control)
        // can keep the bytes in the stream queue while the client does not read.
        try await withServer { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.big)
            try await client.setReading(false)
            let size = 12 << 20
            try await stream.send(Array(String(size).utf8))
            #expect(await eventually { service.log.observed.withLock { $0.pendingAfterSend } > 0 })
            try await Task.sleep(for: .milliseconds(500))
            let serverStream = try #require(service.log.lastStream.withLock { $0 })
            #expect(serverStream.pendingOutboundBytes > 1 << 20)
            try await client.setReading(true)
            let events = try await drain(stream, timeout: .seconds(20))
            #expect(events.messages == [bigPayload(size)])
            #expect(events.status == .ok)
            #expect(serverStream.pendingOutboundBytes == 0)
            #expect(await eventually { server.activeStreamCount == 0 })
            await client.close()
        }
    }

    @Test func sendAndFinishFromAnotherThread() async throws {
        try await withServer { server, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.offLoop)
            try await stream.send([42, 43])
            let events = try await drain(stream)
            #expect(events.messages == [[42, 43]])
            #expect(events.status == .ok)  // the second finish was ignored
            #expect(await eventually { server.activeStreamCount == 0 })
            await client.close()
        }
    }

    @Test func messageSplitAcrossTinyDataFrames() async throws {
        try await withServer { _, port, _ in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.echo)
            let payload = Array("split across many DATA frames".utf8)
            let framed: [UInt8] = [0, 0, 0, 0, UInt8(payload.count)] + payload
            for byte in framed {
                try await stream.sendRaw([byte])
            }
            try await stream.sendRaw([], endStream: true)
            let events = try await drain(stream)
            #expect(events.messages == [payload])
            #expect(events.status == .ok)
            await client.close()
        }
    }

    @Test func trailersBeforeClientEndStreamAreFollowedByReset() async throws {
        // `big` finishes without waiting for END_STREAM; the server must RST_STREAM NO_ERROR so the stream ends.
        try await withServer { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let stream = try await client.openStream(path: TestPath.big)
            try await stream.send(Array("10".utf8))
            let events = try await drain(stream, timeout: .seconds(5))
            #expect(events.messages == [bigPayload(10)])
            #expect(events.status == .ok)
            #expect(!events.contains { if case .reset = $0 { true } else { false } })
            #expect(await eventually { server.activeStreamCount == 0 && service.log.closes == 1 })
            await client.close()
        }
    }

    @Test func thousandStreamsOnOneConnectionAllClose() async throws {
        // The client opens them all before the server's SETTINGS arrive; allow them all (the default is 100).
        var configuration = GRPCServerConfiguration()
        configuration.maxConcurrentStreams = 1000
        try await withServer(configuration: configuration) { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let stream = try await client.openStream(path: TestPath.echo)
                        let message = Array("stream \(index)".utf8)
                        try await stream.send(message)
                        try await stream.finishSending()
                        let events = try await drain(stream, timeout: .seconds(20))
                        return events.messages == [message] && events.status == .ok
                    }
                }
                var ok = 0
                for try await result in group where result { ok += 1 }
                return ok
            }
            #expect(results == 1000)
            #expect(await eventually { server.activeStreamCount == 0 })
            #expect(service.log.closes == 1000)
            #expect(service.log.doubleCloses == 0)
            await client.close()
        }
    }

    @Test func abruptDisconnectClosesHandlers() async throws {
        try await withServer { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let held = try await client.openStream(path: TestPath.hold)
            try await held.send([1, 2, 3])
            let echo = try await client.openStream(path: TestPath.echo)
            try await echo.send([4, 5, 6])
            #expect(await eventually { service.log.receives == 2 })
            #expect(server.activeStreamCount == 2)
            await client.close()
            #expect(await eventually { service.log.closes == 2 })
            #expect(await eventually { server.activeStreamCount == 0 && server.connectionCount == 0 })
            #expect(service.log.doubleCloses == 0)
        }
    }

    @Test func clientResetClosesServerStream() async throws {
        try await withServer { server, port, service in
            let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: testGroup)
            let held = try await client.openStream(path: TestPath.hold)
            try await held.send([1])
            #expect(await eventually { service.log.receives == 1 })
            await held.reset()
            #expect(await eventually { service.log.closes == 1 && server.activeStreamCount == 0 })
            // The connection survives a stream reset.
            let echo = try await client.openStream(path: TestPath.echo)
            try await echo.send([9])
            try await echo.finishSending()
            #expect(try await drain(echo).messages == [[9]])
            await client.close()
        }
    }
}
