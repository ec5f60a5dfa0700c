import GRPCServer
import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

extension XDSStream {
    /// Sends a SotW request, reads the reply and ACKs it.
    func subscribe(_ type: ResourceType, _ names: [String] = [], node: XDSNode? = nil) async throws -> SotWReply {
        try await send(.sotw(type, names, node: node))
        let reply = try await response()
        try await ack(reply)
        return reply
    }
}

/// State-of-the-world rules of `docs/PROTOCOL.md` §3 over ADS, driven through a real loopback connection.
@Suite("Protocol: SotW over ADS")
struct SotWProtocolTests {
    @Test func rule01_nodeIsCachedFromTheFirstRequest() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let clusters = try await s.subscribe(.cluster, node: .envoy("n1"))
            try await s.send(.sotw(.listener))  // no node: only the first request must carry it
            let listeners = try await s.response()
            #expect(clusters.names == ["dav", "www"])
            #expect(listeners.names == ["https"])
            #expect(await xdsEventually { h.info(node: "n1")?.group == "default" })
        }
    }

    @Test func rule01_firstRequestWithoutNodeIsInvalidArgument() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster))
            let end = try await s.end()
            #expect(end.code == .invalidArgument)
            #expect(end.message.contains("node"))
        }
    }

    @Test func rule02_adsRequestWithoutTypeURLIsInvalidArgument() async throws {
        try await withXDSServer { h in
            let first = try await h.open()
            try await first.send(.sotw(typeURL: "", node: .default))
            #expect(try await first.end().code == .invalidArgument)
            // Also later on a stream that was working.
            let second = try await h.open()
            _ = try await second.subscribe(.cluster, node: .default)
            try await second.send(.sotw(typeURL: "", ["www"]))
            let end = try await second.end()
            #expect(end.code == .invalidArgument)
            #expect(end.message.contains("type_url"))
        }
    }

    @Test func rule02_eachTypeHasItsOwnVersionNonceAndSubscription() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster, node: .envoy("n2")))
            let clusters = try await s.response()
            try await s.send(.sotw(.endpoint, ["www"]))
            let endpoints = try await s.response()
            try await s.ack(clusters)
            try await s.nack(endpoints, message: "bad endpoints")
            #expect(
                await xdsEventually {
                    let info = h.info(node: "n2")
                    return info?.types[.cluster]?.ackedVersion == clusters.version
                        && info?.types[.endpoint]?.nackedVersion == endpoints.version
                })
            let info = try #require(h.info(node: "n2"))
            #expect(info.types[.cluster]?.nackedVersion == nil)
            #expect(info.types[.endpoint]?.ackedVersion == nil)
            #expect(info.types[.endpoint]?.subscribed == ["www"])
            #expect(info.types[.cluster]?.wildcard == true)
            #expect(clusters.nonce != endpoints.nonce)
        }
    }

    @Test func rule04_noncesAreNonEmptyAndUniqueWithinTheStream() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            var nonces: [String] = []
            nonces.append(try await s.subscribe(.cluster, node: .default).nonce)
            nonces.append(try await s.subscribe(.endpoint, ["www", "dav"]).nonce)
            nonces.append(try await s.subscribe(.secret, ["example.test"]).nonce)
            nonces.append(try await s.subscribe(.listener).nonce)
            nonces.append(try await s.subscribe(.route, ["https"]).nonce)
            h.publish(
                XDSSnap.make([
                    .cluster: ["www": "2"], .endpoint: ["www": "2"], .listener: ["https": "2"],
                    .route: ["https": "2"], .secret: ["example.test": "2"],
                ]))
            for _ in 0..<5 { nonces.append(try await s.response().nonce) }
            #expect(!nonces.contains(""))
            #expect(Set(nonces).count == nonces.count)
        }
    }

    @Test func rule05_ackEchoesVersionAndNonceAndGetsNoReply() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let reply = try await s.subscribe(.cluster, node: .envoy("n5"))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "n5")?.types[.cluster]?.ackedVersion == reply.version })
            #expect(await xdsEventually { h.info(node: "n5")?.types[.cluster]?.sentNonce == reply.nonce })
            // A NACK of the next version echoes the previously accepted one.
            h.publish(XDSSnap.base(with: [.cluster: ["www": "2", "dav": ""]]))
            let next = try await s.response()
            try await s.nack(next, acceptedVersion: reply.version, message: "no")
            #expect(await xdsEventually { h.info(node: "n5")?.types[.cluster]?.nackedVersion == next.version })
            #expect(await xdsEventually { h.info(node: "n5")?.types[.cluster]?.ackedVersion == reply.version })
        }
    }

    @Test(arguments: [(Int64(13), "envoy INTERNAL"), (3, "grpc-go INVALID_ARGUMENT"), (0, "")])
    func rule06_nackIsKnownByErrorDetailAlone(code: Int64, message: String) async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster, node: .envoy("n6")))
            let reply = try await s.response()
            // Echoing the new version (as some clients do) does not make it an ACK: error_detail is present.
            try await s.send(.sotw(.cluster, version: reply.version, nonce: reply.nonce, nack: message, nackCode: code))
            #expect(await xdsEventually { h.info(node: "n6")?.types[.cluster]?.nackedVersion == reply.version })
            #expect(await xdsEventually { h.info(node: "n6")?.types[.cluster]?.ackedVersion == nil })
            #expect(await xdsEventually { h.info(node: "n6")?.types[.cluster]?.nackMessage == message })
        }
    }

    @Test func rule07_nackedContentIsNotPushedAgain() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster, node: .default))
            let reply = try await s.response()
            try await s.nack(reply)
            try await s.expectNoResponse()
            // Another type changes: the rejected clusters are not re-sent.
            h.publish(XDSSnap.base(with: [.listener: ["https": "2"]]))
            try await s.expectNoResponse()
            // New cluster content is.
            h.publish(XDSSnap.base(with: [.listener: ["https": "2"], .cluster: ["www": "fixed", "dav": ""]]))
            let fixed = try await s.response()
            #expect(fixed.type == .cluster)
            #expect(fixed.version != reply.version)
        }
    }

    @Test func rule08_staleNonceIsNotAnswered() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let first = try await s.subscribe(.endpoint, ["www"], node: .envoy("n8"))
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "2", "dav": ""]]))
            let second = try await s.response()
            try await s.send(.sotw(.endpoint, ["www"], version: first.version, nonce: first.nonce))
            try await s.expectNoResponse()
            try await s.ack(second)
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "n8")?.types[.endpoint]?.ackedVersion == second.version })
        }
    }

    @Test func rule08_emptyNonceIsNeverStale() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let first = try await s.subscribe(.endpoint, ["www"], node: .default)
            try await s.send(.sotw(.endpoint, ["www"], version: first.version))
            let again = try await s.response()
            #expect(again.names == ["www"])
            #expect(again.version == first.version)
            #expect(again.nonce != first.nonce)
        }
    }

    @Test func rule09_onlyChangesAreSent() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            _ = try await s.subscribe(.cluster, node: .default)
            _ = try await s.subscribe(.route, ["https"])
            h.publish(XDSSnap.base(with: [.secret: ["example.test": "2"]]))  // not subscribed
            h.publish(XDSSnap.base(with: [.secret: ["example.test": "2"]]))  // identical
            try await s.expectNoResponse()
            h.publish(XDSSnap.base(with: [.secret: ["example.test": "2"], .route: ["https": "2"]]))
            let route = try await s.response()
            #expect(route.type == .route)
            try await s.ack(route)
            try await s.expectNoResponse()
        }
    }

    @Test func rule10_newStreamWithTheCurrentVersionIsAnswered() async throws {
        try await withXDSServer { h in
            let old = try await h.open()
            let clusters = try await old.subscribe(.cluster, node: .default)
            let endpoints = try await old.subscribe(.endpoint, ["www"])
            await old.client.close()
            let fresh = try await h.open()
            try await fresh.send(.sotw(.cluster, version: clusters.version, node: .default))
            let again = try await fresh.response()
            #expect(again.version == clusters.version)
            #expect(again.names == clusters.names)
            try await fresh.send(.sotw(.endpoint, ["www"], version: endpoints.version))
            #expect(try await fresh.response().names == ["www"])
        }
    }

    @Test func rule11_legacyWildcardThenNamesThenEmptyMeansNone() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let all = try await s.subscribe(.cluster, node: .default)
            #expect(all.names == ["dav", "www"])
            let one = try await s.subscribe(.cluster, ["www"])
            #expect(one.names == ["www"])
            let none = try await s.subscribe(.cluster, [])
            #expect(none.names.isEmpty)
            // Still none after a publish: the empty list was "unsubscribe all", not a return to wildcard.
            h.publish(XDSSnap.base(with: [.cluster: ["www": "2", "dav": "", "dl": ""]]))
            try await s.expectNoResponse()
        }
    }

    @Test func rule11_explicitStarIsWildcardAndFollowsPublishes() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let first = try await s.subscribe(.cluster, ["*"], node: .default)
            #expect(first.names == ["dav", "www"])
            h.publish(XDSSnap.base(with: [.cluster: ["www": "", "dav": "", "dl": ""]]))
            #expect(try await s.response().names == ["dav", "dl", "www"])
        }
    }

    @Test func rule13_newlyAddedNameIsSentWithUnchangedVersion() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let first = try await s.subscribe(.endpoint, ["www"], node: .default)
            try await s.send(.sotw(.endpoint, ["www", "dav"], version: first.version, nonce: first.nonce))
            #expect(try await s.response().names == ["dav", "www"])
        }
    }

    @Test func rule14_namedTypesAcceptSeveralNamesPerRequest() async throws {
        try await withXDSServer(XDSSnap.site) { h in
            let s = try await h.open()
            #expect(try await s.subscribe(.route, ["http", "https"], node: .default).names == ["http", "https"])
            #expect(try await s.subscribe(.endpoint, ["www", "dav", "dl"]).names == ["dav", "dl", "www"])
            #expect(try await s.subscribe(.secret, ["example.test"]).names == ["example.test"])
        }
    }

    @Test func rule15_returnedNamesAreExactlyTheRequestedOnesOnce() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            try await s.send(.sotw(.endpoint, ["www", "www", "dav", "nope", "dav"], node: .default))
            #expect(try await s.response().names == ["dav", "www"])
            try await s.send(.sotw(.cluster, ["www"]))
            #expect(try await s.response().names == ["www"])
        }
    }

    @Test func rule16_everyAnyTypeURLEqualsTheResponseTypeURL() async throws {
        try await withXDSServer(XDSSnap.site) { h in
            let s = try await h.open()
            let requests: [(ResourceType, [String])] = [
                (.cluster, []), (.endpoint, ["www", "dav", "dl", "git-ssh"]), (.secret, ["example.test"]),
                (.listener, []), (.route, ["http", "https"]),
            ]
            for (type, names) in requests {
                let reply = try await s.subscribe(type, names, node: .default)
                #expect(reply.typeURL == type.typeURL)
                #expect(!reply.anyTypeURLs.isEmpty)
                #expect(reply.anyTypeURLs.allSatisfy { $0 == type.typeURL })
                #expect(reply.controlPlane == "chancery")
            }
        }
    }

    @Test func rule17_typesNotSubscribedAreNeverSent() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            _ = try await s.subscribe(.cluster, node: .default)
            h.publish(
                XDSSnap.make([
                    .cluster: ["www": "2"], .endpoint: ["www": "2"], .listener: ["https": "2"],
                    .route: ["https": "2"], .secret: ["example.test": "2"],
                ]))
            #expect(try await s.response().type == .cluster)
            try await s.expectNoResponse()
        }
    }
}
