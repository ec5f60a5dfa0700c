import GRPCServer
import NIOCore
import Protobuf
import Snapshot
import TestSupport
import Testing

@testable import XDS

/// Deterministic pseudo-random bytes, so a failing abuse replays exactly.
struct XDSLCG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = XDSLCG(state: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

/// Abuse at the HTTP/2 and message level: raw sockets, slow readers, oversized and odd requests.
@Suite("Protocol: raw wire abuse")
struct RawAbuseProtocolTests {
    @Test func garbageInsteadOfTheHTTP2PrefaceClosesTheConnection() async throws {
        try await abuse { h in
            let raw = try await h.raw()
            try? await raw.write(XDSLCG.bytes(4096, seed: 1))
            #expect(await raw.closes())
        }
    }

    @Test func http1RequestOnTheGRPCPortClosesTheConnection() async throws {
        try await abuse { h in
            let raw = try await h.raw()
            try? await raw.write(Array("POST \(XDSPath.ads) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8))
            #expect(await raw.closes())
            #expect(!String(decoding: raw.received, as: UTF8.self).contains("HTTP/1.1 200"))
        }
    }

    @Test func validPrefaceThenRandomFramesClosesTheConnection() async throws {
        try await abuse { h in
            let raw = try await h.raw()
            try? await raw.write(H2.preface + H2.settings() + XDSLCG.bytes(8192, seed: 42))
            #expect(await raw.closes())
        }
    }

    @Test func streamOpenedByRawHTTP2IsServed() async throws {
        // The raw client itself is sound: the same bytes with a proper request get a DiscoveryResponse back.
        try await abuse { h in
            let raw = try await h.raw()
            let request = XDSRequest.sotw(.cluster, node: .envoy("raw"))
            try await raw.write(
                H2.preface + H2.settings() + H2.headers(stream: 1, H2.grpcHeaders(path: XDSPath.ads))
                    + H2.data(stream: 1, H2.grpcMessage(request.bytes)))
            #expect(await xdsEventually { h.info(node: "raw")?.types[.cluster]?.sentNonce != nil })
            #expect(raw.channel.isActive)
        }
    }

    @Test func clientThatNeverReadsDoesNotBlockOthersAndIsFreedOnClose() async throws {
        try await abuse { h in
            let watcher = try await h.open()
            _ = try await watcher.subscribe(.listener, node: .envoy("watcher"))
            let stuck = try await h.raw(autoRead: false)
            let request = XDSRequest.sotw(.listener, node: .envoy("stuck"))
            try await stuck.write(
                H2.preface + H2.settings() + H2.headers(stream: 1, H2.grpcHeaders(path: XDSPath.ads))
                    + H2.data(stream: 1, H2.grpcMessage(request.bytes)))
            #expect(await xdsEventually { h.info(node: "stuck")?.types[.listener]?.sentNonce != nil })
            let padding = String(repeating: "x", count: 64 << 10)
            for round in 0..<60 {
                h.publish(XDSSnap.base(with: [.listener: ["https": "\(round)" + padding]]))
                let reply = try await watcher.response()  // the well-behaved client keeps getting every push
                try await watcher.ack(reply)
            }
            h.publish(XDSSnap.base(with: [.listener: ["https": "final"]]))
            #expect(try await watcher.response(timeout: .seconds(5)).type == .listener)
            // Flow control holds the stuck stream's data on the server (the client's 64 KiB window is used up)...
            // (Its event loop may lag behind the publishes on a loaded machine: wait until the backlog limit is hit.)
            let maxPending = { h.recorder.streams.map(\.pendingOutboundBytes).max() ?? 0 }
            #expect(await xdsEventually { maxPending() > 1 << 20 })
            // ...but bounded: past the backlog limit only the newest snapshot waits, not one response per publish.
            try await watcher.expectNoResponse()
            let pending = maxPending()
            #expect(
                pending < (1 << 20) + 4 * (70 << 10), "stuck stream holds \(pending) unsent bytes after 60 publishes")
            // ...and all of it is released when that client goes away.
            await stuck.close()
            #expect(await xdsEventually { h.recorder.streams.allSatisfy { $0.pendingOutboundBytes == 0 } })
        }
    }

    @Test func hugeNodeIDIsAccepted() async throws {
        try await abuse { h in
            let s = try await h.open()
            let id = String(repeating: "n", count: 1 << 20)
            #expect(try await s.subscribe(.cluster, node: XDSNode(id: id, cluster: "default")).names == ["dav", "www"])
            #expect(h.xds.registry.all.first?.nodeID.utf8.count == 1 << 20)
        }
    }

    @Test func thousandsOfNamesWithDuplicatesAreAnsweredOncePerResource() async throws {
        var limits = XDSLimits()
        limits.maxNamesPerType = 20_000  // above the default: this test is about duplicates, not the name limit
        try await abuse(limits: limits) { h in
            let s = try await h.open()
            let names =
                Array(repeating: "www", count: 5000) + Array(repeating: "dav", count: 5000)
                + (0..<10_000).map { "missing-\($0)" }
            var generator = XDSLCG(state: 7)
            try await s.send(.sotw(.endpoint, names.shuffled(using: &generator), node: .envoy("many")))
            #expect(try await s.response().names == ["dav", "www"])
            #expect(await xdsEventually { h.info(node: "many")?.types[.endpoint]?.subscribedCount == 10_002 })
        }
    }

    @Test func deeplyNestedAnyInErrorDetailIsInvalidArgument() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster, node: .default))
            let reply = try await s.response()
            try await s.raw.send(Self.nack(reply, detailDepth: 1000))
            let end = try await s.end()
            #expect(end.code == .invalidArgument)
            #expect(end.message.contains("nested too deeply"))
        }
    }

    @Test func nestedAnyInErrorDetailWithinTheLimitIsANack() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster, node: .envoy("nest")))
            let reply = try await s.response()
            try await s.raw.send(Self.nack(reply, detailDepth: 8))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "nest")?.types[.cluster]?.nackedVersion == reply.version })
        }
    }

    @Test func deltaUnsubscribeOfNamesNeverSubscribedIsQuiet() async throws {
        try await abuse { h in
            let s = try await h.open(XDSPath.deltaADS)
            try await s.send(.delta(.endpoint, unsubscribe: ["never-1"], node: .default))
            try await s.send(.delta(.endpoint, unsubscribe: ["never-2", "never-3"]))
            try await s.expectNoResponse()
            #expect(try await s.deltaSubscribe(.endpoint, ["www"]).names == ["www"])
        }
    }

    @Test func deltaStarUnsubscribeFirstIsQuietAndNotWildcard() async throws {
        try await abuse { h in
            let s = try await h.open(XDSPath.deltaADS)
            try await s.send(.delta(.cluster, unsubscribe: ["*"], node: .envoy("nostar")))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "nostar")?.types[.cluster]?.wildcard == false })
            h.publish(XDSSnap.base(with: [.cluster: ["www": "", "dav": "", "dl": ""]]))
            try await s.expectNoResponse()
            #expect(try await s.deltaSubscribe(.cluster, ["dl"]).names == ["dl"])
        }
    }

    @Test func perTypeServiceCarryingAnotherTypeURLIsInvalidArgument() async throws {
        try await abuse { h in
            let sotw = try await h.open(XDSPath.listeners)
            try await sotw.send(.sotw(.cluster, node: .default))
            #expect(try await sotw.end().code == .invalidArgument)
            let delta = try await h.open(XDSPath.deltaClusters)
            try await delta.send(.delta(.route, subscribe: ["https"], node: .default))
            #expect(try await delta.end().code == .invalidArgument)
        }
    }

    @Test func twoThousandRequestsInOneWriteKeepTheStreamResponsive() async throws {
        try await abuse { h in
            let s = try await h.open()
            let first = try await s.subscribe(.cluster, node: .default)
            var burst: [UInt8] = []
            for i in 0..<2000 {
                let nonce = i % 2 == 0 ? first.nonce : "stale-\(i)"
                burst += H2.grpcMessage(XDSRequest.sotw(.cluster, version: first.version, nonce: nonce).bytes)
            }
            try await s.raw.sendRaw(burst)
            try await s.expectNoResponse()
            #expect(try await s.subscribe(.endpoint, ["www"]).names == ["www"])
        }
    }

    /// A NACK whose error_detail nests `google.rpc.Status` in its own `details` Any, `detailDepth` times.
    static func nack(_ reply: SotWReply, detailDepth: Int) -> [UInt8] {
        var status: [UInt8] = []
        for level in 0...detailDepth {
            var next: [UInt8] = []
            ProtoWire.appendTag(field: 1, .varint, to: &next)
            ProtoWire.appendVarint(13, to: &next)
            ProtoWire.appendString(field: 2, "level \(level)", to: &next)
            if level > 0 {
                var any: [UInt8] = []
                ProtoWire.appendString(field: 1, "type.googleapis.com/google.rpc.Status", to: &any)
                ProtoWire.appendLengthDelimited(field: 2, status, to: &any)
                ProtoWire.appendLengthDelimited(field: 3, any, to: &next)
            }
            status = next
        }
        var out: [UInt8] = []
        ProtoWire.appendString(field: 4, reply.typeURL, to: &out)
        ProtoWire.appendString(field: 5, reply.nonce, to: &out)
        ProtoWire.appendLengthDelimited(field: 6, status, to: &out)
        return out
    }
}
