import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// The delta state machine, driven with plain values. Rule numbers: `docs/PROTOCOL.md` §3.
@Suite struct DeltaStreamTests {
    typealias F = SnapshotFactory
    let node = NodeInfo(id: "envoy-1", cluster: "default")
    static let site = SotWStreamTests.site

    func sends(_ actions: [DeltaStream.Action]) -> [DeltaStream.Response] {
        actions.compactMap { if case .send(let response) = $0 { return response } else { return nil } }
    }

    func request(
        _ type: ResourceType, subscribe: [String] = [], unsubscribe: [String] = [],
        initial: [String: String] = [:], nonce: String = "", nack: String? = nil,
        node: NodeInfo? = nil
    ) -> DeltaDiscoveryRequest {
        DeltaDiscoveryRequest(
            node: node, typeURL: type.typeURL, subscribe: subscribe, unsubscribe: unsubscribe,
            initialResourceVersions: initial, responseNonce: nonce,
            errorDetail: nack.map { ErrorDetail(code: 13, message: $0) })
    }

    func started(_ snapshot: GroupSnapshot = Self.site) -> DeltaStream {
        var stream = DeltaStream()
        stream.attach(snapshot)
        return stream
    }

    @Test func rule24_emptyFirstRequestIsLegacyWildcard() {
        var stream = started()
        let first = sends(stream.receive(request(.cluster, node: node)))
        #expect(first.count == 1)
        #expect(first[0].resources.map(\.name) == ["dav", "www"])
        #expect(first[0].removed.isEmpty)
        // Later empty requests (ACKs) change nothing and send nothing.
        #expect(sends(stream.receive(request(.cluster, nonce: first[0].nonce))).isEmpty)
        #expect(stream.types[.cluster]?.wildcard == true)
    }

    @Test func rule22_ackAndNackByNonceAndErrorDetail() {
        var stream = started()
        let first = sends(stream.receive(request(.cluster, node: node)))[0]
        _ = stream.receive(request(.cluster, nonce: first.nonce, nack: "bad"))
        #expect(stream.types[.cluster]?.nacked == first.systemVersion)
        #expect(stream.types[.cluster]?.nackMessage == "bad")
        // Rule 7: the rejected resources are not pushed again while unchanged.
        #expect(sends(stream.update(Self.site)).isEmpty)
    }

    @Test func ackAndNackAreReportedAsActionsWithTheVersionOfTheirNonce() {
        var stream = started()
        let first = sends(stream.receive(request(.cluster, node: node)))[0]
        let changed = F.group([.cluster: ["www": "2", "dav": ""], .endpoint: ["www": "", "dav": ""]])
        let second = sends(stream.update(changed)).first { $0.type == .cluster }!
        // Each answer is matched to the response its nonce names, even out of order.
        #expect(
            stream.receive(request(.cluster, nonce: second.nonce, nack: "bad"))
                == [.nacked(.cluster, version: second.systemVersion, message: "bad")])
        #expect(
            stream.receive(request(.cluster, nonce: first.nonce))
                == [.acked(.cluster, version: first.systemVersion)])
        // A nonce answered already, or never sent, reports nothing.
        #expect(stream.receive(request(.cluster, nonce: first.nonce)).isEmpty)
        #expect(stream.receive(request(.cluster, nonce: "999")).isEmpty)
    }

    @Test func rule23_subscriptionsApplyEvenWithStaleNonce() {
        var stream = started()
        _ = stream.receive(request(.endpoint, subscribe: ["www"], node: node))
        let answer = sends(stream.receive(request(.endpoint, subscribe: ["dav"], nonce: "stale-or-unknown")))
        #expect(answer.first?.resources.map(\.name) == ["dav"])
    }

    @Test func rule25_subscribedNameIsAlwaysSent() {
        var stream = started()
        let first = sends(stream.receive(request(.endpoint, subscribe: ["www"], node: node)))[0]
        _ = stream.receive(request(.endpoint, unsubscribe: ["www"], nonce: first.nonce))
        // Removed and added again: sent again even though its version did not change.
        let again = sends(stream.receive(request(.endpoint, subscribe: ["www"])))
        #expect(again.first?.resources.map(\.name) == ["www"])
    }

    @Test func rule26_reconnectSkipsUnchangedAndRemovesGone() {
        var stream = started()
        let www = F.resource(.cluster, "www")
        let answer = sends(
            stream.receive(
                request(
                    .cluster, initial: ["www": www.version, "old": "123", "dav": "stale"],
                    node: node)))
        #expect(answer.count == 1)
        #expect(answer[0].resources.map(\.name) == ["dav"])  // changed
        #expect(answer[0].removed == ["old"])  // istio#41494
    }

    @Test func rule26_reconnectWithEverythingCurrentGetsNothing() {
        var stream = started()
        var initial: [String: String] = [:]
        for (name, resource) in Self.site[.cluster].resources { initial[name] = resource.version }
        #expect(sends(stream.receive(request(.cluster, initial: initial, node: node))).isEmpty)
    }

    @Test func rule27_notFoundGoesToRemovedAndStaysSubscribed() {
        var stream = started()
        let answer = sends(stream.receive(request(.secret, subscribe: ["other.test"], node: node)))
        #expect(answer.first?.removed == ["other.test"])
        #expect(stream.types[.secret]?.names.contains("other.test") == true)
        var types = Self.site.types
        types[.secret] = TypeSnapshot(type: .secret, resources: ["other.test": F.resource(.secret, "other.test")])
        let appeared = sends(stream.update(GroupSnapshot(group: "default", mode: .ads, types: types)))
        #expect(appeared.first?.resources.map(\.name) == ["other.test"])  // gcp PR#488
    }

    @Test func rule28_unsubscribingANameStillCoveredByWildcardIsAnswered() {
        var stream = started()
        _ = stream.receive(request(.cluster, subscribe: ["*", "www"], node: node))
        let answer = sends(stream.receive(request(.cluster, unsubscribe: ["www"])))
        #expect(answer.first?.resources.map(\.name) == ["www"])
    }

    @Test func rule29_unsubscribeOnlyNeedsNoResponse() {
        var stream = started()
        _ = stream.receive(request(.endpoint, subscribe: ["www", "dav"], node: node))
        #expect(sends(stream.receive(request(.endpoint, unsubscribe: ["dav"]))).isEmpty)
        #expect(stream.types[.endpoint]?.names == ["www"])
    }

    @Test func deletedResourceIsRemovedFromWildcardSubscribers() {
        var stream = started()
        _ = stream.receive(request(.listener, node: node))
        var types = Self.site.types
        types[.listener] = TypeSnapshot(type: .listener, resources: [:])
        let pushed = sends(stream.update(GroupSnapshot(group: "default", mode: .ads, types: types)))
        #expect(pushed.first?.removed == ["https"])
        #expect(pushed.first?.resources.isEmpty == true)
    }

    @Test func onlyChangedResourcesArePushed() {
        var stream = started()
        _ = stream.receive(request(.cluster, node: node))
        var types = Self.site.types
        types[.cluster] = TypeSnapshot(
            type: .cluster,
            resources: [
                "www": F.resource(.cluster, "www", content: "v2"), "dav": F.resource(.cluster, "dav"),
            ])
        let pushed = sends(stream.update(GroupSnapshot(group: "default", mode: .ads, types: types)))
        #expect(pushed.first?.resources.map(\.name) == ["www"])
    }

    @Test func rule30_31_clusterUpdateResendsItsEndpointsAndRemovalsGoLast() {
        var stream = started()
        _ = stream.receive(request(.cluster, node: node))
        _ = stream.receive(request(.endpoint, subscribe: ["www", "dav"]))
        _ = stream.receive(request(.listener))
        let next = F.group([.cluster: ["www": "v2"], .endpoint: ["www": ""], .listener: ["https": "v2"]])
        let pushed = sends(stream.update(next))
        #expect(pushed.map(\.type) == [.cluster, .endpoint, .listener, .cluster, .endpoint])
        #expect(pushed[0].resources.map(\.name) == ["www"])
        #expect(pushed[0].removed.isEmpty)
        #expect(pushed[1].resources.map(\.name) == ["www"])  // unchanged endpoints, re-sent for warming
        #expect(pushed[1].removed.isEmpty)
        #expect(pushed[3].removed == ["dav"])  // clusters removed last…
        #expect(pushed[4].removed == ["dav"])  // …then their endpoints
    }

    @Test func versionsArePerResourceContentHashes() {
        var stream = started()
        let answer = sends(stream.receive(request(.cluster, node: node)))[0]
        for resource in answer.resources {
            #expect(resource.version == F.resource(.cluster, resource.name).version)
        }
    }

    @Test func rule29_unsubscribingTheWildcardNeedsNoAnswerAndSubscribingAgainResends() {
        var stream = started()
        _ = stream.receive(request(.endpoint, subscribe: ["www"], node: node))
        _ = stream.receive(request(.endpoint, subscribe: ["*"]))
        #expect(sends(stream.receive(request(.endpoint, unsubscribe: ["*"]))).isEmpty)
        #expect(stream.types[.endpoint]?.known.keys.sorted() == ["www"])
        // Back on the wildcard: what the proxy dropped is sent again.
        #expect(sends(stream.receive(request(.endpoint, subscribe: ["*"]))).first?.resources.map(\.name) == ["dav"])
    }
}
