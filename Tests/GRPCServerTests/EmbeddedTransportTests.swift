import NIOCore
import Testing

@testable import GRPCServer

/// The server transport's life cycle on an `EmbeddedChannel`, with real HTTP/2 bytes from a client nghttp2 session:
/// no sockets, no threads, no clocks but the embedded loop's.
@Suite struct EmbeddedTransportTests {
    @Test func requestResponseHalfCloseAndTrailers() throws {
        let h = try EmbeddedHarness()
        let id = try h.request("/t.S/Echo")
        h.send(id, Array("hello".utf8))
        try h.exchange()
        #expect(h.service.opened == [id])
        #expect(h.messages(id) == [Array("hello".utf8)])
        #expect(h.headerBlocks(id).count == 1)  // response headers, no trailers yet
        #expect(h.closeCode(id) == nil)

        h.end(id)
        try h.exchange()
        #expect(h.service.ended[id] == 1)
        #expect(h.status(id) == "0")
        #expect(h.headerBlocks(id).count == 2)
        #expect(h.headerBlocks(id).first?.contains { $0 == (":status", "200") } == true)
        #expect(h.closeCode(id) == 0)
        #expect(h.service.closed[id] == 1)
        #expect(h.handler.streams.isEmpty)
        #expect(h.registry.activeStreamCount == 0)
        #expect(h.handler.machine.state == .active(openStreams: 0))
    }

    @Test func unknownMethodIsTrailersOnlyFollowedByReset() throws {
        let h = try EmbeddedHarness()
        let id = try h.request("/t.S/Nope")
        try h.exchange()
        let blocks = h.headerBlocks(id)
        #expect(blocks.count == 1)
        #expect(blocks.first?.contains { $0 == ("grpc-status", "12") } == true)
        #expect(blocks.first?.contains { $0 == (":status", "200") } == true)
        #expect(h.messages(id).isEmpty)
        #expect(h.service.opened.isEmpty)
        // The client had not ended its side: RST_STREAM NO_ERROR follows the END_STREAM (docs/PROTOCOL.md §4).
        let frames = h.serverFrames.filter { $0.streamID == id }
        #expect(frames.map(\.type) == [RawFrame.headers, RawFrame.rstStream])
        #expect(frames.first.map { $0.flags & RawFrame.endStream != 0 } == true)
        #expect(frames.last?.payload == [0, 0, 0, 0])
    }

    @Test func clientResetClosesTheServerStreamOnce() throws {
        let h = try EmbeddedHarness()
        let id = try h.request("/t.S/Hold")
        h.send(id, [1, 2, 3])
        try h.exchange()
        #expect(h.service.received[id] == 1)
        #expect(h.service.closed[id] == nil)
        h.client.submitRstStream(streamID: id, errorCode: .cancel)
        try h.exchange()
        #expect(h.service.closed[id] == 1)
        #expect(h.handler.streams.isEmpty)
        #expect(h.registry.activeStreamCount == 0)
        // A late send on the reset stream is dropped and leaves nothing pending.
        h.service.streams[id]?.send([9])
        try h.exchange()
        #expect(h.service.streams[id]?.pendingOutboundBytes == 0)
        #expect(!h.serverFrames.contains { $0.streamID == id && $0.type == RawFrame.data })
    }

    @Test func gracefulShutdownFinishesInFlightStreamAndRefusesNewOnes() throws {
        let h = try EmbeddedHarness()
        let first = try h.request("/t.S/Echo")
        try h.exchange()
        h.channel.pipeline.fireUserInboundEventTriggered(ServerShutdownEvent.graceful)
        h.channel.embeddedEventLoop.run()
        #expect(h.handler.machine.state == .draining(openStreams: 1))
        // The client opens a second stream before it reads the GOAWAY.
        let second = try h.request("/t.S/Echo")
        try h.exchange()
        #expect(h.goAway?.lastStreamID == first)
        #expect(h.goAway?.errorCode == 0)
        #expect(h.service.opened == [first])
        #expect(h.closeCode(second) == HTTP2ErrorCode.refusedStream.rawValue)
        #expect(h.channel.isActive)

        h.send(first, Array("last".utf8), end: true)
        try h.exchange()
        #expect(h.messages(first) == [Array("last".utf8)])
        #expect(h.status(first) == "0")
        #expect(h.service.closed[first] == 1)
        #expect(!h.channel.isActive)
    }

    @Test func zeroWindowStallsTheBodyUntilWindowUpdate() throws {
        let h = try EmbeddedHarness(clientWindow: 0)
        let id = try h.request("/t.S/Big")
        h.send(id, Array("1000".utf8), end: true)
        try h.exchange()
        let stream = try #require(h.service.streams[id])
        #expect(h.headerBlocks(id).count == 1)  // headers only: DATA waits for the window
        #expect(!h.serverFrames.contains { $0.type == RawFrame.data })
        #expect(stream.pendingOutboundBytes == 1005)

        h.deliverToClient = false  // the client session still believes its window is 0
        try h.writeToServer(RawFrame.windowUpdate(streamID: id, increment: 300))
        try h.exchange()
        var data = h.serverFrames.filter { $0.type == RawFrame.data && $0.streamID == id }
        #expect(data.reduce(0) { $0 + $1.payload.count } == 300)
        #expect(stream.pendingOutboundBytes == 705)

        try h.writeToServer(RawFrame.windowUpdate(streamID: id, increment: 1 << 16))
        try h.exchange()
        data = h.serverFrames.filter { $0.type == RawFrame.data && $0.streamID == id }
        #expect(data.reduce(0) { $0 + $1.payload.count } == 1005)
        #expect(stream.pendingOutboundBytes == 0)
        let last = h.serverFrames.last { $0.streamID == id }
        #expect(last?.type == RawFrame.headers && last.map { $0.flags & RawFrame.endStream != 0 } == true)
        #expect(h.service.closed[id] == 1)
    }

    @Test func streamsPastTheLimitAreRefused() throws {
        var configuration = GRPCServerConfiguration()
        configuration.maxConcurrentStreams = 2
        let h = try EmbeddedHarness(configuration: configuration)
        // Submitted before the server's SETTINGS arrive, so the client does not hold the third one back.
        let ids = try (0..<3).map { _ in try h.request("/t.S/Hold") }
        try h.exchange()
        #expect(h.service.opened == Array(ids.prefix(2)))
        #expect(h.closeCode(ids[2]) == HTTP2ErrorCode.refusedStream.rawValue)
        #expect(h.closeCode(ids[0]) == nil && h.closeCode(ids[1]) == nil)
        #expect(h.handler.machine.state == .active(openStreams: 2))
    }

    @Test func silentPeerIsClosedAtTheHandshakeTimeout() throws {
        var configuration = GRPCServerConfiguration()
        configuration.handshakeTimeout = .seconds(10)
        let h = try EmbeddedHarness(configuration: configuration)
        try h.advance(by: .seconds(9))
        #expect(h.channel.isActive)
        try h.advance(by: .seconds(1))
        #expect(!h.channel.isActive)
    }

    @Test func aRequestInTimeCancelsTheHandshakeTimeout() throws {
        var configuration = GRPCServerConfiguration()
        configuration.handshakeTimeout = .seconds(10)
        configuration.idleTimeout = nil
        let h = try EmbeddedHarness(configuration: configuration)
        _ = try h.request("/t.S/Hold")
        try h.exchange()
        try h.advance(by: .seconds(60))
        #expect(h.channel.isActive)
    }

    @Test func idleConnectionGetsGoAwayAndCloses() throws {
        var configuration = GRPCServerConfiguration()
        configuration.idleTimeout = .seconds(30)
        let h = try EmbeddedHarness(configuration: configuration)
        let id = try h.request("/t.S/Echo")
        h.end(id)
        try h.exchange()
        #expect(h.status(id) == "0")
        try h.advance(by: .seconds(29))
        #expect(h.goAway == nil)
        try h.advance(by: .seconds(1))
        #expect(h.goAway?.errorCode == 0)
        #expect(!h.channel.isActive)
    }

    @Test func deadlineEndsAQuietStreamWithDeadlineExceeded() throws {
        let h = try EmbeddedHarness()
        let id = try h.request("/t.S/Hold", extra: [("grpc-timeout", "100m")])
        try h.exchange()
        try h.advance(by: .milliseconds(99))
        #expect(h.status(id) == nil)
        try h.advance(by: .milliseconds(1))
        #expect(h.status(id) == "\(GRPCStatus.Code.deadlineExceeded.rawValue)")
        #expect(h.service.closed[id] == 1)
    }

    @Test func forcedShutdownEndsOpenStreamsWithUnavailable() throws {
        let h = try EmbeddedHarness()
        let id = try h.request("/t.S/Hold")
        try h.exchange()
        h.channel.pipeline.fireUserInboundEventTriggered(ServerShutdownEvent.force)
        try h.exchange()
        #expect(h.status(id) == "\(GRPCStatus.Code.unavailable.rawValue)")
        #expect(!h.channel.isActive)
        #expect(h.service.closed[id] == 1)
    }

    @Test func readsAreHeldWhileTheChannelIsNotWritable() throws {
        let h = try EmbeddedHarness()
        let id = try h.request("/t.S/Echo")
        try h.exchange()
        h.channel.isWritable = false
        h.channel.read()
        #expect(h.handler.machine.readHeld)
        // Still backed up: a pump does not release the read.
        h.send(id, [1], end: false)
        try h.exchange()
        #expect(h.handler.machine.readHeld)
        h.channel.isWritable = true
        h.channel.pipeline.fireChannelWritabilityChanged()
        #expect(!h.handler.machine.readHeld)
        try h.exchange()
        #expect(h.messages(id) == [[1]])
    }
}
