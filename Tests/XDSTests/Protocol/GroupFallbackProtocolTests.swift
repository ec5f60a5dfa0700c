import TestSupport
import Testing

@testable import XDS

/// Which group a proxy gets when its node.cluster is not a group of the routes file.
@Suite("Group fallback")
struct GroupFallbackProtocolTests {
    @Test func fileWithoutGroupsServesAnyServiceCluster() async throws {
        // `XDSSnap.make` with no groups is what a routes file without `groups:` loads to: the one group `default`.
        try await withXDSServer { h in
            let s = try await h.open()
            #expect(
                try await s.subscribe(.listener, node: .envoy("front-1", cluster: "front-proxy")).names == ["https"])
            #expect(await xdsEventually { h.info(node: "front-1")?.group == "default" })
        }
    }

    @Test func declaredGroupsStillRefuseUnknownOnesWithoutDefaultGroup() async throws {
        let snapshot = XDSSnap.make(perGroup: ["edge": [.listener: ["e": ""]], "ingress": [.listener: ["i": ""]]])
        try await withXDSServer(snapshot) { h in
            let s = try await h.open()
            try await s.send(.sotw(.listener, node: .envoy("lost", cluster: "front-proxy")))
            let end = try await s.end()
            #expect(end.code == .failedPrecondition)
            #expect(end.message.contains("\"front-proxy\""))
            #expect(end.message.contains("--default-group"))
        }
    }

    @Test func defaultGroupTakesUnknownOnesButNotKnownOnes() async throws {
        let snapshot = XDSSnap.make(perGroup: ["edge": [.listener: ["e": ""]], "ingress": [.listener: ["i": ""]]])
        try await withXDSServer(snapshot, defaultGroup: "edge") { h in
            let unknown = try await h.open()
            #expect(try await unknown.subscribe(.listener, node: .envoy("u1", cluster: "front-proxy")).names == ["e"])
            #expect(await xdsEventually { h.info(node: "u1")?.group == "edge" })
            let known = try await h.open()
            #expect(try await known.subscribe(.listener, node: .envoy("k1", cluster: "ingress")).names == ["i"])
        }
    }

    @Test func defaultGroupMissingFromTheFileRefusesLikeBefore() async throws {
        let snapshot = XDSSnap.make(perGroup: ["edge": [.listener: ["e": ""]], "ingress": [.listener: ["i": ""]]])
        try await withXDSServer(snapshot, defaultGroup: "gone") { h in
            let s = try await h.open()
            try await s.send(.sotw(.listener, node: .envoy("lost", cluster: "front-proxy")))
            #expect(try await s.end().code == .failedPrecondition)
        }
    }

    @Test func resolveRules() {
        #expect(GroupSelector.resolve("x", known: ["default"], fallback: nil) == "default")
        #expect(GroupSelector.resolve("edge", known: ["edge", "web"], fallback: "web") == "edge")
        #expect(GroupSelector.resolve("x", known: ["edge", "web"], fallback: "web") == "web")
        #expect(GroupSelector.resolve("x", known: ["edge", "web"], fallback: nil) == "x")
        #expect(GroupSelector.resolve("x", known: [], fallback: "web") == "x")
    }
}
