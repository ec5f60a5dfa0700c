import GRPCServer
import Snapshot
import TestSupport
import Testing

@testable import XDS

/// SotW state, deletion, ordering and warming rules (12, 18–21, 30, 31) and node groups, over a real ADS stream.
@Suite("Protocol: SotW state, ordering and groups")
struct SotWStateProtocolTests {
    @Test func rule03_grpcClientUsesFourTypesByNameAndGetsNoSecrets() async throws {
        try await withXDSServer(XDSSnap.site) { h in
            let s = try await h.open()
            let node = XDSNode.grpc("grpc-1")
            #expect(try await s.subscribe(.listener, ["https"], node: node).names == ["https"])
            #expect(try await s.subscribe(.route, ["https"]).names == ["https"])
            #expect(try await s.subscribe(.cluster, ["www"]).names == ["www"])
            #expect(try await s.subscribe(.endpoint, ["www"]).names == ["www"])
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "grpc-1")?.types[.secret] == nil })
            #expect(await xdsEventually { h.info(node: "grpc-1")?.userAgent.hasPrefix("gRPC Go") == true })
        }
    }

    @Test func rule12_grpcEmptyListAfterNamesUnsubscribesAll() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let named = try await s.subscribe(.listener, ["https"], node: .grpc("grpc-12"))
            #expect(named.names == ["https"])
            let none = try await s.subscribe(.listener, [])
            #expect(none.names.isEmpty)  // a full-state LDS response with nothing: not a wildcard
            #expect(await xdsEventually { h.info(node: "grpc-12")?.types[.listener]?.wildcard == false })
        }
    }

    @Test func rule18_ldsAndCdsResponsesCarryTheFullState() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            #expect(try await s.subscribe(.cluster, node: .default).names == ["dav", "www"])
            h.publish(XDSSnap.base(with: [.cluster: ["www": ""], .endpoint: ["www": ""]]))
            let fewer = try await s.response()
            #expect(fewer.names == ["www"])
            try await s.ack(fewer)
            h.publish(XDSSnap.base(with: [.cluster: [:], .endpoint: [:]]))
            let empty = try await s.response()
            #expect(empty.type == .cluster)
            #expect(empty.names.isEmpty)  // an empty CDS response deletes every cluster
        }
    }

    @Test func rule19_namedTypesMaySendASubsetAndEmptyIsNoOp() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            #expect(try await s.subscribe(.endpoint, ["www", "dav"], node: .default).names == ["dav", "www"])
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "2"]]))
            let subset = try await s.response()
            #expect(subset.names == ["www"])
            try await s.ack(subset)
            h.publish(XDSSnap.base(with: [.endpoint: [:]]))
            try await s.expectNoResponse()
        }
    }

    @Test func rule20_missingNameGetsNothingAndIsPushedWhenItAppears() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            try await s.send(.sotw(.route, ["later"], node: .envoy("n20")))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "n20")?.types[.route]?.subscribed == ["later"] })
            h.publish(XDSSnap.base(with: [.route: ["https": "", "later": ""]]))
            #expect(try await s.response().names == ["later"])
        }
    }

    @Test func rule21_noWaitingForTheClientToNameEveryResource() async throws {
        try await withXDSServer(XDSSnap.site) { h in
            let s = try await h.open()
            // The snapshot holds four clusters and four CLAs; asking for one of each is answered at once.
            try await s.send(.sotw(.cluster, ["dl"], node: .grpc("grpc-21")))
            #expect(try await s.response().names == ["dl"])
            try await s.send(.sotw(.endpoint, ["dl"]))
            #expect(try await s.response().names == ["dl"])
        }
    }

    @Test func rule30_adsPushOrderAfterAPublishWithClusterRemovalsLast() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            _ = try await s.subscribe(.cluster, node: .default)
            _ = try await s.subscribe(.endpoint, ["www", "dav"])
            _ = try await s.subscribe(.secret, ["example.test"])
            _ = try await s.subscribe(.listener)
            _ = try await s.subscribe(.route, ["https"])
            try await s.expectNoResponse()
            h.publish(
                XDSSnap.make([
                    .cluster: ["www": "2", "dl": ""], .endpoint: ["www": "2", "dl": ""], .listener: ["https": "2"],
                    .route: ["https": "2"], .secret: ["example.test": "2"],
                ]))
            // The first reply may be slow on a loaded machine; the rest of the push follows it at once.
            var replies: [SotWReply] = [try await s.response()]
            while replies.count < 10, let next = try? await s.response(timeout: .milliseconds(500)) {
                replies.append(next)
            }
            let types = replies.compactMap(\.type)
            #expect(Array(types.prefix(5)) == [.cluster, .endpoint, .secret, .listener, .route], "\(replies)")
            // Make before break: the first CDS response adds dl and still holds dav; a later one drops dav.
            #expect(replies.first?.names == ["dav", "dl", "www"])
            let routeIndex = try #require(types.firstIndex(of: .route))
            let removal = try #require(replies.lastIndex { $0.type == .cluster })
            #expect(removal > routeIndex)
            #expect(replies[removal].names == ["dl", "www"])
        }
    }

    @Test func rule31_endpointsAreResentAfterEveryClusterUpdate() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            _ = try await s.subscribe(.cluster, node: .default)
            let endpoints = try await s.subscribe(.endpoint, ["www", "dav"])
            h.publish(XDSSnap.base(with: [.cluster: ["www": "changed", "dav": ""]]))
            let clusters = try await s.response()
            #expect(clusters.type == .cluster)
            let resent = try await s.response()
            #expect(resent.type == .endpoint)
            #expect(resent.version == endpoints.version)  // unchanged, sent anyway so the cluster can warm
            #expect(resent.names == ["dav", "www"])
        }
    }

    @Test func nodeClusterSelectsTheGroup() async throws {
        let snapshot = XDSSnap.make(perGroup: [
            "edge": [.listener: ["edge-http": ""], .cluster: ["edge-up": ""]],
            "ingress": [.listener: ["ingress-https": ""], .cluster: ["app": ""]],
        ])
        try await withXDSServer(snapshot) { h in
            let edge = try await h.open()
            #expect(try await edge.subscribe(.listener, node: .envoy("e1", cluster: "edge")).names == ["edge-http"])
            let ingress = try await h.open()
            #expect(
                try await ingress.subscribe(.listener, node: .envoy("i1", cluster: "ingress")).names
                    == ["ingress-https"])
            #expect(await xdsEventually { h.info(node: "e1")?.group == "edge" })
            #expect(await xdsEventually { h.info(node: "i1")?.group == "ingress" })
        }
    }

    @Test func unknownGroupFailsNamingTheExistingGroups() async throws {
        let snapshot = XDSSnap.make(perGroup: ["edge": [.listener: ["a": ""]], "ingress": [.listener: ["b": ""]]])
        try await withXDSServer(snapshot) { h in
            let s = try await h.open()
            try await s.send(.sotw(.listener, node: .envoy("lost", cluster: "nope")))
            let end = try await s.end()
            #expect(end.code == .failedPrecondition)
            #expect(end.message.contains("\"nope\""))
            #expect(end.message.contains("edge, ingress"))
            await h.expectNoLeaks()
        }
    }

    @Test func emptyNodeClusterMeansTheDefaultGroup() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            #expect(try await s.subscribe(.listener, node: .envoy("anon", cluster: "")).names == ["https"])
            #expect(await xdsEventually { h.info(node: "anon")?.group == "default" })
        }
    }

    @Test func metadataKeySelectorPicksTheGroup() async throws {
        let snapshot = XDSSnap.make(perGroup: ["default": [.listener: ["d": ""]], "edge": [.listener: ["e": ""]]])
        try await withXDSServer(snapshot, selector: .metadataKey("role")) { h in
            // No metadata: the default group, whatever node.cluster says.
            let s = try await h.open()
            #expect(try await s.subscribe(.listener, node: .envoy("m1", cluster: "edge")).names == ["d"])
            var tagged = XDSNode.envoy("m2", cluster: "default")
            tagged.metadata = ["role": "edge"]
            let other = try await h.open()
            #expect(try await other.subscribe(.listener, node: tagged).names == ["e"])
            #expect(await xdsEventually { h.info(node: "m2")?.group == "edge" })
        }
    }

    @Test func noSnapshotYetFailsWithAClearMessage() async throws {
        try await withXDSServer(nil) { h in
            let s = try await h.open()
            try await s.send(.sotw(.listener, node: .default))
            let end = try await s.end()
            #expect(end.code == .failedPrecondition)
            #expect(end.message.contains("no configuration"))
        }
    }

    @Test func groupRemovedByAPublishEndsTheStreamUnavailable() async throws {
        let both = XDSSnap.make(perGroup: ["default": [.listener: ["d": ""]], "edge": [.listener: ["e": ""]]])
        try await withXDSServer(both) { h in
            let s = try await h.open()
            _ = try await s.subscribe(.listener, node: .envoy("e2", cluster: "edge"))
            h.publish(XDSSnap.make([.listener: ["d": ""]]))
            let end = try await s.end()
            #expect(end.code == .unavailable)
            #expect(end.message.contains("edge"))
            await h.expectNoLeaks()
        }
    }

    // Found in review: a named type unsubscribed to nothing and subscribed again must be answered.
    @Test func rule13_resubscribeAfterUnsubscribingEverythingIsAnswered() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let first = try await s.subscribe(.route, ["https"], node: .default)
            try await s.send(.sotw(.route, [], version: first.version, nonce: first.nonce))
            try await s.expectNoResponse()
            try await s.send(.sotw(.route, ["https"], version: first.version, nonce: first.nonce))
            // A bound, not a goal: a loaded machine can stall seconds.
            let again = try await s.response(timeout: .seconds(15))
            #expect(again.names == ["https"])
        }
    }

    @Test func rule13_grpcEndpointsResubscribedAfterEmptyListAreAnswered() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let first = try await s.subscribe(.endpoint, ["www"], node: .grpc("g1"))
            try await s.send(.sotw(.endpoint, [], version: first.version, nonce: first.nonce))
            try await s.expectNoResponse()
            try await s.send(.sotw(.endpoint, ["www"], version: first.version, nonce: first.nonce))
            // A bound, not a goal: a loaded machine can stall seconds.
            let again = try await s.response(timeout: .seconds(15))
            #expect(again.names == ["www"])
        }
    }

}
