import GRPCServer
import Pipeline
import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

extension XDSStream {
    /// Sends a delta request, reads the reply and ACKs it.
    func deltaSubscribe(
        _ type: ResourceType, _ names: [String] = [], initial: [String: String] = [:],
        node: XDSNode? = nil
    ) async throws -> DeltaReply {
        try await send(.delta(type, subscribe: names, initial: initial, node: node))
        let reply = try await deltaResponse()
        try await ack(reply)
        return reply
    }
}

/// Delta rules 22–29 (and 30/31 for delta ADS) of `docs/PROTOCOL.md` §3 over a real delta ADS stream.
@Suite("Protocol: delta over ADS")
struct DeltaProtocolTests {
    @Test func deltaFirstRequestWithoutNodeOrTypeURLIsInvalidArgument() async throws {
        try await withXDSServer { h in
            let noNode = try await h.open(XDSPath.deltaADS)
            try await noNode.send(.delta(.cluster))
            #expect(try await noNode.end().code == .invalidArgument)
            let noType = try await h.open(XDSPath.deltaADS)
            try await noType.send(.delta(typeURL: "", node: .default))
            #expect(try await noType.end().code == .invalidArgument)
        }
    }

    @Test func rule22_everyResponseHasANonceAndAckNackGoByNonceAndErrorDetail() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            try await s.send(.delta(.cluster, node: .envoy("d22")))
            let first = try await s.deltaResponse()
            #expect(!first.nonce.isEmpty)
            #expect(first.names == ["dav", "www"])
            try await s.ack(first)
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "d22")?.types[.cluster]?.ackedVersion == first.systemVersion })
            h.publish(XDSSnap.base(with: [.cluster: ["www": "2", "dav": ""]]))
            let second = try await s.deltaResponse()
            #expect(second.nonce != first.nonce)
            #expect(second.names == ["www"])
            try await s.send(.delta(.cluster, nonce: second.nonce, nack: "bad www"))
            try await s.expectNoResponse()  // a NACK is never a reason to re-send
            #expect(await xdsEventually { h.info(node: "d22")?.types[.cluster]?.nackedVersion == second.systemVersion })
            #expect(await xdsEventually { h.info(node: "d22")?.types[.cluster]?.nackMessage == "bad www" })
        }
    }

    @Test func rule23_subscriptionChangesApplyEvenWithAStaleNonce() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            let first = try await s.deltaSubscribe(.endpoint, ["www"], node: .default)
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "2", "dav": ""]]))
            _ = try await s.deltaResponse()  // not ACKed: first.nonce is now stale
            try await s.send(.delta(.endpoint, subscribe: ["dav"], nonce: first.nonce))
            let reply = try await s.deltaResponse()
            #expect(reply.names == ["dav"])
        }
    }

    @Test func rule24_emptyListsChangeNothingAfterTheFirstRequest() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            let all = try await s.deltaSubscribe(.cluster, node: .envoy("d24"))  // empty first request: wildcard
            #expect(all.names == ["dav", "www"])
            try await s.send(.delta(.cluster))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "d24")?.types[.cluster]?.wildcard == true })
            h.publish(XDSSnap.base(with: [.cluster: ["www": "", "dav": "", "dl": ""]]))
            #expect(try await s.deltaResponse().names == ["dl"])
        }
    }

    @Test func rule24_explicitStarSubscribeAndUnsubscribe() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            #expect(try await s.deltaSubscribe(.endpoint, ["www"], node: .envoy("d24b")).names == ["www"])
            let star = try await s.deltaSubscribe(.endpoint, ["*"])
            #expect(star.names == ["dav"])  // www is already held at this version
            #expect(await xdsEventually { h.info(node: "d24b")?.types[.endpoint]?.wildcard == true })
            try await s.send(.delta(.endpoint, unsubscribe: ["*"]))
            try await s.expectNoResponse()  // unsubscribing needs no answer (rule 29), "*" included
            #expect(await xdsEventually { h.info(node: "d24b")?.types[.endpoint]?.wildcard == false })
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "", "dav": "", "dl": ""]]))
            try await s.expectNoResponse()
        }
    }

    @Test func rule25_aSubscribedNameIsAlwaysSentEvenWhenCurrent() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            let first = try await s.deltaSubscribe(.route, ["https"], node: .default)
            let again = try await s.deltaSubscribe(.route, ["https"])
            #expect(again.names == ["https"])
            #expect(again.versions == first.versions)
        }
    }

    @Test func rule26_reconnectWithInitialVersionsGetsOnlyWhatChanged() async throws {
        try await withXDSServer { h in
            let old = try await h.open(XDSPath.deltaADS)
            let clusters = try await old.deltaSubscribe(.cluster, node: .default)
            let endpoints = try await old.deltaSubscribe(.endpoint, ["www", "dav"])
            await old.client.close()

            // Nothing changed: nothing is sent, for the wildcard and for names re-listed as Envoy does.
            let same = try await h.open(XDSPath.deltaADS)
            try await same.send(.delta(.cluster, initial: clusters.versions, node: .default))
            try await same.send(.delta(.endpoint, subscribe: ["www", "dav"], initial: endpoints.versions))
            try await same.expectNoResponse()

            // One changed, one gone, one the server never had.
            h.publish(XDSSnap.base(with: [.cluster: ["www": "2"], .endpoint: ["www": "2"]]))
            let later = try await h.open(XDSPath.deltaADS)
            var held = clusters.versions
            held["ghost"] = "0123456789abcdef"
            try await later.send(.delta(.cluster, initial: held, node: .default))
            let reply = try await later.deltaResponse()
            #expect(reply.names == ["www"])
            #expect(reply.removed == ["dav", "ghost"])
        }
    }

    @Test func rule26_versionsAreContentHashesStableAcrossARestart() async throws {
        func load() throws -> Snapshot {
            let dir = FixturePaths.fixtures + "/example-site"
            return try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs").snapshot
        }
        let names = ["www", "dav", "dl", "git-ssh"]
        var before: [ResourceType: [String: String]] = [:]
        try await withXDSServer(try load()) { h in
            let s = try await h.open(XDSPath.deltaADS)
            before[.cluster] = try await s.deltaSubscribe(.cluster, node: .default).versions
            before[.endpoint] = try await s.deltaSubscribe(.endpoint, names).versions
            before[.listener] = try await s.deltaSubscribe(.listener).versions
            before[.secret] = try await s.deltaSubscribe(.secret, ["example.test"]).versions
        }
        #expect(before[.cluster]?.count == 4)
        try await withXDSServer(try load()) { h in
            let fresh = try await h.open(XDSPath.deltaADS)
            #expect(try await fresh.deltaSubscribe(.cluster, node: .default).versions == before[.cluster])
            #expect(try await fresh.deltaSubscribe(.secret, ["example.test"]).versions == before[.secret])
            let reconnect = try await h.open(XDSPath.deltaADS)
            try await reconnect.send(.delta(.cluster, initial: before[.cluster] ?? [:], node: .default))
            try await reconnect.send(.delta(.endpoint, subscribe: names, initial: before[.endpoint] ?? [:]))
            try await reconnect.send(.delta(.listener, initial: before[.listener] ?? [:]))
            try await reconnect.expectNoResponse()
        }
    }

    @Test func rule27_missingNameIsRemovedAndStaysSubscribed() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            let reply = try await s.deltaSubscribe(.endpoint, ["nope"], node: .envoy("d27"))
            #expect(reply.names.isEmpty)
            #expect(reply.removed == ["nope"])
            #expect(await xdsEventually { h.info(node: "d27")?.types[.endpoint]?.subscribed == ["nope"] })
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "", "dav": "", "nope": ""]]))
            #expect(try await s.deltaResponse().names == ["nope"])
        }
    }

    @Test func rule28_wildcardPlusNameThenUnsubscribeOfThatNameIsAnswered() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            #expect(try await s.deltaSubscribe(.cluster, ["*", "www"], node: .default).names == ["dav", "www"])
            try await s.send(.delta(.cluster, unsubscribe: ["www"]))
            let reply = try await s.deltaResponse()
            #expect(reply.names.contains("www") || reply.removed.contains("www"))
        }
    }

    @Test func rule29_unsubscribeOnlyGetsNoResponse() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            _ = try await s.deltaSubscribe(.endpoint, ["www", "dav"], node: .default)
            try await s.send(.delta(.endpoint, unsubscribe: ["dav"]))
            try await s.expectNoResponse()
            // Publish only once the server has read the unsubscribe: "no response yet" does not mean "processed",
            // and a loaded machine can run the publish's push before it reads that request.
            #expect(await xdsEventually { h.info(node: "envoy-1")?.types[.endpoint]?.subscribedCount == 1 })
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "", "dav": "2"]]))  // dav is no longer wanted
            try await s.expectNoResponse()
        }
    }

    @Test func rule30_deltaAdsRemovesClustersAfterEverythingElse() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            _ = try await s.deltaSubscribe(.cluster, node: .default)
            _ = try await s.deltaSubscribe(.endpoint, ["www", "dav"])
            _ = try await s.deltaSubscribe(.listener)
            _ = try await s.deltaSubscribe(.route, ["https"])
            h.publish(
                XDSSnap.make([
                    .cluster: ["www": "", "dl": ""], .endpoint: ["www": "", "dl": ""],
                    .listener: ["https": "2"], .route: ["https": "2"],
                ]))
            // The first reply may be slow on a loaded machine; the rest of the push follows it at once.
            var replies: [DeltaReply] = [try await s.deltaResponse()]
            while replies.count < 10, let next = try? await s.deltaResponse(timeout: .milliseconds(500)) {
                replies.append(next)
            }
            let added = try #require(replies.firstIndex { $0.type == .cluster && $0.names.contains("dl") })
            let listener = try #require(replies.firstIndex { $0.type == .listener })
            let route = try #require(replies.firstIndex { $0.type == .route })
            let removed = try #require(replies.firstIndex { $0.type == .cluster && $0.removed == ["dav"] })
            #expect(added < listener && listener < route && route < removed, "\(replies)")
            #expect(replies.contains { $0.type == .endpoint && $0.removed == ["dav"] })
        }
    }

    @Test func rule31_deltaEndpointsAreResentAfterAClusterUpdate() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            _ = try await s.deltaSubscribe(.cluster, node: .default)
            let endpoints = try await s.deltaSubscribe(.endpoint, ["www", "dav"])
            h.publish(XDSSnap.base(with: [.cluster: ["www": "changed", "dav": ""]]))
            let clusters = try await s.deltaResponse()
            #expect(clusters.type == .cluster && clusters.names == ["www"])
            let resent = try await s.deltaResponse()
            #expect(resent.type == .endpoint)
            #expect(resent.names == ["www"])
            #expect(resent.versions["www"] == endpoints.versions["www"])
        }
    }
}
