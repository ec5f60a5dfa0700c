import GRPCServer
import TestSupport
import Testing

@testable import XDS

/// Runs `body` against a server with these limits, then checks that a fresh client is served and nothing leaked.
func limited(
    configuration: GRPCServerConfiguration = .init(), limits: XDSLimits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation, _ body: (XDSHarness) async throws -> Void
) async throws {
    try await withXDSServer(configuration: configuration, limits: limits) { h in
        try await body(h)
        try await h.expectServesFreshClient(sourceLocation: sourceLocation)
        await h.expectNoLeaks(sourceLocation: sourceLocation)
        #expect(
            await xdsEventually { h.server.memoryBudget.charged == 0 },
            "budget still charged: \(h.server.memoryBudget.charged)", sourceLocation: sourceLocation)
    }
}

/// Each limit on what a proxy can make the server hold, with its defined answer (README, Limits).
@Suite("Protocol: limits")
struct LimitsProtocolTests {
    static func names(_ count: Int, length: Int = 100) -> [String] {
        (0..<count).map { index in
            let stem = "name-\(index)-"
            return stem + String(repeating: "x", count: max(0, length - stem.utf8.count))
        }
    }

    @Test func sotwRequestOverTheNameLimitIsResourceExhausted() async throws {
        var limits = XDSLimits()
        limits.maxNamesPerType = 5
        try await limited(limits: limits) { h in
            let s = try await h.open()
            try await s.send(.sotw(.endpoint, Self.names(6), node: .default))
            let end = try await s.end()
            #expect(end.code == .resourceExhausted, "\(end)")
            #expect(end.message.contains("--max-names-per-type"), "\(end)")
            let fine = try await h.open()
            #expect(try await fine.subscribe(.endpoint, ["www"] + Self.names(4), node: .default).names == ["www"])
        }
    }

    @Test func deltaSubscriptionsAddingUpPastTheNameLimitAreResourceExhausted() async throws {
        var limits = XDSLimits()
        limits.maxNamesPerType = 5
        try await limited(limits: limits) { h in
            let s = try await h.open(XDSPath.deltaADS)
            try await s.send(.delta(.endpoint, subscribe: ["www", "a", "b"], node: .default))
            _ = try await s.deltaResponse()
            try await s.send(.delta(.endpoint, subscribe: ["c", "d", "e"]))
            let end = try await s.end()
            #expect(end.code == .resourceExhausted, "\(end)")
            #expect(end.message.contains("6 endpoint names"), "\(end)")
        }
    }

    /// The finding: completed requests kept as subscription state were outside every budget.
    @Test func subscribedNamesAreChargedToTheServerBudgetAndReleased() async throws {
        try await limited { h in
            let budget = h.server.memoryBudget
            let s = try await h.open()
            #expect(try await s.subscribe(.endpoint, ["www"] + Self.names(1000), node: .default).names == ["www"])
            #expect(await xdsEventually { budget.charged >= 1000 * 100 }, "charged \(budget.charged)")
            // Fewer names: the difference is given back.
            try await s.send(.sotw(.endpoint, ["www", "dav"]))
            #expect(await xdsEventually { (1..<1000).contains(budget.charged) }, "charged \(budget.charged)")
            await h.closeClients()
            #expect(await xdsEventually { budget.charged == 0 }, "charged \(budget.charged)")
        }
    }

    @Test func deltaSubscriptionsAreChargedAndUnsubscribingGivesBack() async throws {
        try await limited { h in
            let budget = h.server.memoryBudget
            let s = try await h.open(XDSPath.deltaADS)
            let names = Self.names(500)
            try await s.send(XDSRequest.delta(.endpoint, subscribe: ["www"] + names, node: .default))
            _ = try await s.deltaResponse()
            #expect(await xdsEventually { budget.charged >= 500 * 100 }, "charged \(budget.charged)")
            try await s.send(XDSRequest.delta(.endpoint, unsubscribe: names))
            #expect(await xdsEventually { (1..<1000).contains(budget.charged) }, "charged \(budget.charged)")
        }
    }

    @Test func subscriptionsPastTheServerBudgetEndTheStream() async throws {
        var configuration = GRPCServerConfiguration()
        // The holder's ~50 KB of names fit (with its request, which is still counted while it is decoded);
        // the greedy stream's ~165 KB do not.
        configuration.memoryBudget = MemoryBudget(limit: 128 << 10)
        try await limited(configuration: configuration) { h in
            let holder = try await h.open()
            #expect(
                try await holder.subscribe(.endpoint, ["www"] + Self.names(300), node: .envoy("holder")).names == [
                    "www"
                ])
            let greedy = try await h.open()
            try await greedy.send(.sotw(.endpoint, Self.names(1000), node: .envoy("greedy")))
            let end = try await greedy.end()
            #expect(end.code == .resourceExhausted, "\(end)")
            #expect(end.message.contains("server-wide budget"), "\(end)")
            // The holder keeps its subscription and its pushes.
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "changed"]]))
            #expect(try await holder.response().names == ["www"])
        }
    }

    /// 101 streams on one connection with the default limit (the peer never acknowledges our SETTINGS): the last is
    /// refused with RST_STREAM(REFUSED_STREAM), the others and the connection keep working.
    @Test func streamPastThePerConnectionLimitIsRefused() async throws {
        try await limited { h in
            let limit = GRPCServerConfiguration().maxConcurrentStreams
            #expect(limit <= 100)
            let raw = try await h.raw()
            var bytes = H2.preface + H2.settings()
            for index in 0...limit {
                bytes += H2.headers(stream: UInt32(2 * index + 1), H2.grpcHeaders(path: XDSPath.ads))
            }
            try await raw.write(bytes)
            let refused = UInt32(2 * limit + 1)
            #expect(
                await xdsEventually {
                    H2.frames(raw.received).contains { $0.type == 3 && $0.stream == refused && $0.errorCode == 7 }
                })
            #expect(!H2.frames(raw.received).contains { $0.type == 3 && $0.stream != refused })
            let request = XDSRequest.sotw(.cluster, node: .envoy("stream-1"))
            try await raw.write(H2.data(stream: 1, H2.grpcMessage(request.bytes)))
            #expect(await xdsEventually { h.info(node: "stream-1")?.types[.cluster]?.sentNonce != nil })
            #expect(raw.channel.isActive)
        }
    }

    @Test func silentAndPrefaceOnlyConnectionsAreClosedAfterTheHandshakeTimeout() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.handshakeTimeout = .seconds(1)
        try await withXDSServer(configuration: configuration) { h in
            let serving = try await Self.servingStream(h)
            let silent = try await h.raw()
            let prefaceOnly = try await h.raw()
            try await prefaceOnly.write(H2.preface + H2.settings())
            #expect(await silent.closes())
            #expect(await prefaceOnly.closes())
            // The connection that sent its request in time is kept.
            #expect(!serving.client.isClosed)
            h.publish(XDSSnap.base(with: [.cluster: ["www": "later"]]))
            #expect(try await serving.response().type == .cluster)
            // A fresh client is served.
            #expect(try await Self.servingStream(h).client.isClosed == false)
            await h.expectNoLeaks()
        }
    }

    /// A stream subscribed to clusters. The test process shares a loaded machine, so a client can stall past a short
    /// handshake timeout between connecting and sending its request; such an attempt is retried (a few times).
    static func servingStream(_ h: XDSHarness) async throws -> XDSStream {
        for attempt in 1...5 {
            do {
                let stream = try await h.open()
                _ = try await stream.subscribe(.cluster, node: .default)
                return stream
            } catch  where attempt < 5 {
                continue
            }
        }
        fatalError("unreachable")
    }

    @Test func connectionWithoutStreamsGetsGoawayAfterTheIdleTimeout() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.idleTimeout = .milliseconds(300)
        try await limited(configuration: configuration) { h in
            let raw = try await h.raw()
            try await raw.write(
                H2.preface + H2.settings()
                    + H2.headers(stream: 1, H2.grpcHeaders(path: XDSPath.ads), endStream: true))
            #expect(await raw.closes())
            #expect(H2.frames(raw.received).contains { $0.type == 7 && $0.errorCode == 0 })
        }
    }

    @Test func connectionPastTheCapEvictsTheOldestConnectionWithoutAStream() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.maxConnections = 2
        try await limited(configuration: configuration) { h in
            let serving = try await h.open()
            _ = try await serving.subscribe(.cluster, node: .envoy("serving"))
            let idle = try await h.raw()
            try await idle.write(H2.preface + H2.settings())
            #expect(await xdsEventually { h.server.connectionCount == 2 })
            // A proxy connecting now takes the handshake's place, not the serving proxy's.
            let newcomer = try await h.open()
            #expect(try await newcomer.subscribe(.listener, node: .envoy("newcomer")).type == .listener)
            #expect(await idle.closes())
            #expect(!serving.client.isClosed)
            // Both serving: one more connection is closed at once.
            let refused = try await h.raw()
            #expect(await refused.closes())
            #expect(!serving.client.isClosed && !newcomer.client.isClosed)
            await h.closeClients()
            #expect(await xdsEventually { h.server.connectionCount == 0 })
        }
    }
}

extension H2 {
    struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: ArraySlice<UInt8>

        /// RST_STREAM's code, or GOAWAY's (after the last stream ID).
        var errorCode: UInt32? {
            let offset = type == 3 ? 0 : type == 7 ? 4 : -1
            guard offset >= 0, payload.count >= offset + 4 else { return nil }
            let start = payload.startIndex + offset
            return payload[start..<start + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
    }

    /// The complete frames in what the server sent (it sends no preface of its own).
    static func frames(_ bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var index = 0
        while index + 9 <= bytes.count {
            let length = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            guard index + 9 + length <= bytes.count else { break }
            let stream = bytes[index + 5..<index + 9].reduce(0) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
            frames.append(
                Frame(
                    type: bytes[index + 3], flags: bytes[index + 4], stream: stream,
                    payload: bytes[index + 9..<index + 9 + length]))
            index += 9 + length
        }
        return frames
    }
}
