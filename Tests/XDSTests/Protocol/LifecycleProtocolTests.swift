import GRPCServer
import Snapshot
import TestSupport
import Testing

@testable import XDS

/// Stream lifetime over the wire: deadlines, server shutdown, fan-out of one publish.
@Suite("Protocol: stream lifecycle")
struct LifecycleProtocolTests {
    @Test func grpcTimeoutEndsAnXDSStreamAndFreesIt() async throws {
        try await withXDSServer { h in
            // Long enough that a stalled test machine still subscribes before the deadline.
            let s = try await h.open(extraHeaders: [("grpc-timeout", "10S")])
            _ = try await s.subscribe(.cluster, node: .default)
            #expect(h.xds.registry.count == 1)
            let end = try await s.end(timeout: .seconds(20))
            var cancelled = false
            if case .reset(8) = end { cancelled = true }  // RST_STREAM CANCEL when a message was part-way out
            #expect(end.code == .deadlineExceeded || cancelled, "\(end)")
            #expect(await xdsEventually { h.xds.registry.count == 0 && h.server.activeStreamCount == 0 })
        }
    }

    @Test func serverShutdownSendsGoAwayAndEndsOpenStreams() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            _ = try await s.subscribe(.cluster, node: .default)
            let delta = try await h.open(XDSPath.deltaADS)
            _ = try await delta.deltaSubscribe(.listener, node: .default)
            await h.server.shutdown()
            let end = try await s.end()
            #expect(await xdsEventually { s.client.receivedGoAway != nil })
            #expect(end.code == .unavailable || end.code == nil, "\(end)")
            #expect(await xdsEventually { h.xds.registry.count == 0 && h.server.activeStreamCount == 0 })
            #expect(await xdsEventually { s.client.isClosed && delta.client.isClosed })
        }
    }

    @Test func publishWhileManyStreamsAreOpenReachesEveryOne() async throws {
        try await withXDSServer { h in
            var streams: [XDSStream] = []
            for i in 0..<50 {
                let s = try await h.open(i % 2 == 0 ? XDSPath.ads : XDSPath.clusters)
                _ = try await s.subscribe(.cluster, node: .envoy("fan-\(i)"))
                streams.append(s)
            }
            h.publish(XDSSnap.base(with: [.cluster: ["www": "2", "dav": ""]]))
            let expected = XDSSnap.base(with: [.cluster: ["www": "2", "dav": ""]])
                .group("default", mode: .ads)?[.cluster].version
            var versions: Set<String> = []
            for s in streams { versions.insert(try await s.response().version) }
            #expect(versions == [expected ?? "?"])
        }
    }
}
