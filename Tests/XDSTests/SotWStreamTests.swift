import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// The state-of-the-world state machine, driven with plain values. Rule numbers: `docs/PROTOCOL.md` §3.
@Suite struct SotWStreamTests {
    typealias F = SnapshotFactory
    let node = NodeInfo(id: "envoy-1", cluster: "default")

    static let site = F.group([
        .cluster: ["www": "", "dav": ""],
        .endpoint: ["www": "", "dav": ""],
        .listener: ["https": ""],
        .route: ["https": ""],
        .secret: ["example.test": ""],
    ])

    func sends(_ actions: [SotWStream.Action]) -> [SotWStream.Response] {
        actions.compactMap { if case .send(let response) = $0 { return response } else { return nil } }
    }

    func request(
        _ type: ResourceType, _ names: [String] = [], version: String = "", nonce: String = "",
        nack: String? = nil, node: NodeInfo? = nil
    ) -> DiscoveryRequest {
        DiscoveryRequest(
            versionInfo: version, node: node, resourceNames: names, typeURL: type.typeURL,
            responseNonce: nonce, errorDetail: nack.map { ErrorDetail(code: 13, message: $0) })
    }

    func started(_ snapshot: GroupSnapshot = Self.site) -> SotWStream {
        var stream = SotWStream()
        stream.attach(snapshot)
        return stream
    }

    @Test func rule1_nodeIsKeptFromTheFirstRequest() {
        var stream = started()
        _ = stream.receive(request(.cluster, node: node))
        _ = stream.receive(request(.listener))
        #expect(stream.node == node)
    }

    @Test func rule2_adsRequiresTypeURL() {
        var stream = started()
        let actions = stream.receive(DiscoveryRequest(node: node))
        #expect(actions == [.fail(.invalidArgument("type_url is required on the aggregated stream"))])
    }

    @Test func rule2_perTypeServiceRejectsAnotherType() {
        var stream = SotWStream(fixedType: .cluster)
        stream.attach(Self.site)
        #expect(sends(stream.receive(DiscoveryRequest(node: node))).map(\.type) == [.cluster])
        let wrong = stream.receive(request(.listener))
        guard case .fail(let status)? = wrong.first, status.code == .invalidArgument else {
            Issue.record("expected INVALID_ARGUMENT, got \(wrong)")
            return
        }
    }

    @Test func rule4_noncesAreUniqueAndNonEmpty() {
        var stream = started()
        var nonces: [String] = []
        for type in ResourceType.allCases {
            nonces += sends(
                stream.receive(request(type, type.requiresFullStateInSotW ? [] : ["www", "https", "example.test"]))
            )
            .map(\.nonce)
        }
        #expect(nonces.count >= 5)
        #expect(Set(nonces).count == nonces.count)
        #expect(!nonces.contains(""))
    }

    @Test func rule5_6_ackAndNackAreToldApartByErrorDetailOnly() {
        var stream = started()
        let first = sends(stream.receive(request(.cluster, node: node)))[0]
        // A NACK that echoes the new version (wrong but seen in the wild) is still a NACK.
        _ = stream.receive(request(.cluster, version: first.version, nonce: first.nonce, nack: "bad cluster"))
        #expect(stream.types[.cluster]?.nacked == first.version)
        #expect(stream.types[.cluster]?.nackMessage == "bad cluster")
        #expect(stream.types[.cluster]?.acked == nil)
    }

    @Test func ackAndNackAreReportedAsActionsNotInferred() {
        var stream = started()
        let first = sends(stream.receive(request(.cluster, node: node)))[0]
        let nack = stream.receive(request(.cluster, version: "older", nonce: first.nonce, nack: "bad cluster"))
        // The NACK names the version that was sent, not the one the proxy echoes.
        #expect(nack == [.nacked(.cluster, version: first.version, message: "bad cluster")])
        let changed = F.group([.cluster: ["www": "2", "dav": ""], .endpoint: ["www": "", "dav": ""]])
        let pushed = sends(stream.update(changed)).first { $0.type == .cluster }!
        let ack = stream.receive(request(.cluster, version: pushed.version, nonce: pushed.nonce))
        #expect(ack.first == .acked(.cluster, version: pushed.version))
        #expect(sends(ack).isEmpty)
        // An answer to a response that is no longer the latest is neither an ACK nor a NACK (rule 8).
        #expect(stream.receive(request(.cluster, version: first.version, nonce: first.nonce, nack: "late")).isEmpty)
        // A first request (no nonce) is neither.
        var fresh = started()
        #expect(fresh.receive(request(.listener, node: node)).allSatisfy { if case .send = $0 { true } else { false } })
    }

    @Test func rule7_nackedContentIsNotPushedAgain() {
        var stream = started()
        let first = sends(stream.receive(request(.cluster, node: node)))[0]
        #expect(sends(stream.receive(request(.cluster, nonce: first.nonce, nack: "rejected"))).isEmpty)
        // The same snapshot again (e.g. a touch of the routes file) is not a reason to re-push.
        #expect(sends(stream.update(Self.site)).isEmpty)
        // A new version is.
        var changed = Self.site.types
        changed[.cluster] = TypeSnapshot(
            type: .cluster, resources: ["www": F.resource(.cluster, "www", content: "fixed")])
        let next = sends(stream.update(GroupSnapshot(group: "default", mode: .ads, types: changed)))
        #expect(next.first?.type == .cluster)
        #expect(next.first?.version != first.version)
    }

    @Test func rule8_staleNonceGetsNoAnswerButNamesAreKept() {
        var stream = started()
        let first = sends(stream.receive(request(.endpoint, ["www"], node: node)))[0]
        let second = sends(stream.receive(request(.endpoint, ["www"], nonce: first.nonce)))
        #expect(second.isEmpty)  // ACK, nothing new
        var changed = Self.site.types
        changed[.endpoint] = TypeSnapshot(
            type: .endpoint,
            resources: [
                "www": F.resource(.endpoint, "www", content: "v2"), "dav": F.resource(.endpoint, "dav"),
            ])
        let pushed = sends(stream.update(GroupSnapshot(group: "default", mode: .ads, types: changed)))[0]
        // A request still carrying the first nonce is stale: not answered, but its names are recorded.
        #expect(sends(stream.receive(request(.endpoint, ["www", "dav"], nonce: first.nonce))).isEmpty)
        #expect(stream.types[.endpoint]?.names == ["www", "dav"])
        // The ACK of the latest response then brings the added name.
        let after = sends(
            stream.receive(request(.endpoint, ["www", "dav"], version: pushed.version, nonce: pushed.nonce)))
        #expect(after.first?.resources.map(\.name) == ["dav", "www"])
    }

    @Test func rule9_ackWithoutChangeGetsNoResponse() {
        var stream = started()
        let first = sends(stream.receive(request(.listener, node: node)))[0]
        #expect(sends(stream.receive(request(.listener, version: first.version, nonce: first.nonce))).isEmpty)
        #expect(stream.types[.listener]?.acked == first.version)
    }

    @Test func rule10_newStreamIsAnsweredEvenWithCurrentVersion() {
        var stream = started()
        let version = Self.site[.listener].version
        let answer = sends(stream.receive(request(.listener, version: version, node: node)))
        #expect(answer.count == 1)
        #expect(answer.first?.version == version)
    }

    @Test func rule11_legacyWildcardAndExplicitStar() {
        var stream = started()
        #expect(sends(stream.receive(request(.cluster, node: node)))[0].resources.map(\.name) == ["dav", "www"])
        var explicit = started()
        #expect(
            sends(explicit.receive(request(.cluster, ["*"], node: node)))[0].resources.map(\.name) == ["dav", "www"])
    }

    @Test func rule12_emptyListAfterNamesUnsubscribesAndIsNotWildcard() {
        var stream = started()
        let first = sends(stream.receive(request(.cluster, ["www"], node: node)))[0]
        #expect(first.resources.map(\.name) == ["www"])
        let after = sends(stream.receive(request(.cluster, [], version: first.version, nonce: first.nonce)))
        // Full-state type: the answer is an empty set (delete all), never the wildcard set.
        #expect(after.count == 1)
        #expect(after.first?.resources.isEmpty == true)
        #expect(stream.types[.cluster]?.wildcard == false)
    }

    @Test func rule13_addedNameIsSentEvenIfVersionUnchanged() {
        var stream = started()
        let first = sends(stream.receive(request(.route, ["https"], node: node)))[0]
        _ = stream.receive(request(.route, ["https"], version: first.version, nonce: first.nonce))
        var withHTTP = Self.site.types
        withHTTP[.route] = TypeSnapshot(
            type: .route, resources: ["https": F.resource(.route, "https"), "http": F.resource(.route, "http")])
        let group = GroupSnapshot(group: "default", mode: .ads, types: withHTTP)
        #expect(sends(stream.update(group)).isEmpty)  // http not subscribed yet: nothing to send
        let added = sends(
            stream.receive(request(.route, ["https", "http"], version: first.version, nonce: first.nonce)))
        #expect(added.first?.resources.map(\.name) == ["http", "https"])
    }

    @Test func rule14_15_multipleNamesOnlyExistingOnesOnce() {
        var stream = started()
        let answer = sends(stream.receive(request(.endpoint, ["www", "dav", "www", "ghost"], node: node)))[0]
        #expect(answer.resources.map(\.name) == ["dav", "www"])
    }

    @Test func rule16_everyResourceHasTheResponseType() {
        var stream = started()
        for type in ResourceType.allCases {
            for response in sends(
                stream.receive(
                    request(type, type.requiresFullStateInSotW ? [] : ["www", "https", "example.test"], node: node)))
            {
                #expect(response.resources.allSatisfy { $0.type == response.type })
            }
        }
    }

    @Test func rule18_fullStateTypesSendEmptyToDeleteAll() {
        var stream = started()
        let first = sends(stream.receive(request(.listener, node: node)))[0]
        _ = stream.receive(request(.listener, version: first.version, nonce: first.nonce))
        var noListeners = Self.site.types
        noListeners[.listener] = TypeSnapshot(type: .listener, resources: [:])
        let pushed = sends(stream.update(GroupSnapshot(group: "default", mode: .ads, types: noListeners)))
        #expect(pushed.contains { $0.type == .listener && $0.resources.isEmpty })
    }

    @Test func rule19_20_missingNamedResourcesGetNoResponseUntilTheyAppear() {
        var stream = started()
        #expect(sends(stream.receive(request(.secret, ["other.test"], node: node))).isEmpty)
        var withSecret = Self.site.types
        withSecret[.secret] = TypeSnapshot(
            type: .secret,
            resources: [
                "example.test": F.resource(.secret, "example.test"), "other.test": F.resource(.secret, "other.test"),
            ])
        let pushed = sends(stream.update(GroupSnapshot(group: "default", mode: .ads, types: withSecret)))
        #expect(pushed.map(\.type) == [.secret])
        #expect(pushed.first?.resources.map(\.name) == ["other.test"])
    }

    @Test func rule21_eachTypeIsAnsweredWithoutWaitingForOthers() {
        var stream = started()
        // An EDS-only client (never asks for clusters) still gets its endpoints at once.
        #expect(sends(stream.receive(request(.endpoint, ["www"], node: node))).count == 1)
    }

    @Test func rule30_pushOrderIsClustersEndpointsSecretsListenersRoutes() {
        var stream = started()
        _ = stream.receive(request(.listener, node: node))
        _ = stream.receive(request(.route, ["https"]))
        _ = stream.receive(request(.secret, ["example.test"]))
        _ = stream.receive(request(.endpoint, ["www", "dav"]))
        _ = stream.receive(request(.cluster))
        var changed: [ResourceType: [String: String]] = [:]
        for type in ResourceType.allCases { changed[type] = [:] }
        changed[.cluster] = ["www": "2", "dav": "2"]
        changed[.endpoint] = ["www": "2", "dav": "2"]
        changed[.listener] = ["https": "2"]
        changed[.route] = ["https": "2"]
        changed[.secret] = ["example.test": "2"]
        let order = sends(stream.update(F.group(changed))).map(\.type)
        #expect(order == [.cluster, .endpoint, .secret, .listener, .route])
    }

    @Test func rule30_removedClustersGoLastAfterListenersAndRoutes() {
        var stream = started()
        _ = stream.receive(request(.cluster, node: node))
        _ = stream.receive(request(.endpoint, ["www", "dav"]))
        _ = stream.receive(request(.listener))
        _ = stream.receive(request(.route, ["https"]))
        // dav is replaced by dl, and the route changes to use dl.
        let next = F.group([
            .cluster: ["www": "", "dl": ""], .endpoint: ["www": "", "dl": ""], .listener: ["https": ""],
            .route: ["https": "dl instead of dav"], .secret: ["example.test": ""],
        ])
        let pushed = sends(stream.update(next))
        let clusterPushes = pushed.enumerated().filter { $0.element.type == .cluster }
        #expect(clusterPushes.count == 2)
        #expect(clusterPushes.first?.element.resources.map(\.name) == ["dav", "dl", "www"])  // make…
        #expect(clusterPushes.last?.element.resources.map(\.name) == ["dl", "www"])  // …before break
        let routeIndex = try! #require(pushed.firstIndex { $0.type == .route })
        #expect(clusterPushes.first!.offset < routeIndex)
        #expect(clusterPushes.last!.offset > routeIndex)
    }

    @Test func rule30_aPureRemovalIsSentAfterTheRoutes() {
        var stream = started()
        _ = stream.receive(request(.cluster, node: node))
        _ = stream.receive(request(.listener))
        _ = stream.receive(request(.route, ["https"]))
        let next = F.group([
            .cluster: ["www": ""], .endpoint: ["www": ""], .listener: ["https": ""],
            .route: ["https": "no dav"], .secret: ["example.test": ""],
        ])
        let order = sends(stream.update(next)).map(\.type)
        #expect(order == [.route, .cluster])
    }

    @Test func rule31_endpointsFollowEveryClusterPushEvenUnchanged() {
        var stream = started()
        let clusters = sends(stream.receive(request(.cluster, node: node)))[0]
        let endpoints = sends(stream.receive(request(.endpoint, ["www", "dav"])))[0]
        _ = stream.receive(request(.cluster, version: clusters.version, nonce: clusters.nonce))
        _ = stream.receive(request(.endpoint, ["www", "dav"], version: endpoints.version, nonce: endpoints.nonce))
        var changed = Self.site.types
        changed[.cluster] = TypeSnapshot(
            type: .cluster,
            resources: [
                "www": F.resource(.cluster, "www", content: "new timeout"), "dav": F.resource(.cluster, "dav"),
            ])
        let pushed = sends(stream.update(GroupSnapshot(group: "default", mode: .ads, types: changed)))
        #expect(pushed.map(\.type) == [.cluster, .endpoint])
        #expect(pushed[1].version == endpoints.version)  // same content, sent again with a new nonce
        #expect(pushed[1].nonce != endpoints.nonce)
    }

    @Test func grpc5790_largeNamedResponsesGoInPartsUnderTheLimit() {
        let big = String(repeating: "x", count: 1000)
        let group = F.group([.secret: ["a": big, "b": big, "c": big], .listener: ["l1": big, "l2": big, "l3": big]])
        var stream = SotWStream(fixedType: nil, maxResponseBytes: 2500)
        stream.attach(group)
        let parts = sends(stream.receive(request(.secret, ["a", "b", "c"], node: node)))
        #expect(parts.map { $0.resources.map(\.name) } == [["a", "b"], ["c"]])
        #expect(Set(parts.map(\.version)).count == 1)
        #expect(Set(parts.map(\.nonce)).count == 2)
        // The ACK of an earlier part is stale; the ACK of the last part acknowledges the version.
        _ = stream.receive(request(.secret, ["a", "b", "c"], version: parts[0].version, nonce: parts[0].nonce))
        #expect(stream.types[.secret]?.acked == nil)
        _ = stream.receive(request(.secret, ["a", "b", "c"], version: parts[1].version, nonce: parts[1].nonce))
        #expect(stream.types[.secret]?.acked == parts[0].version)
        // Full-state types are never split (rule 18).
        #expect(sends(stream.receive(request(.listener))).map(\.resources.count) == [3])
    }
}

/// A response goes whole exactly when its resources (bytes plus 8 each) fit the limit, whether the stream sends every
/// resource of the type (measured once per snapshot, `TypeSnapshot.sortedBytes`) or a subset (measured per response).
@Suite struct SotWSplitLimitTests {
    typealias F = SnapshotFactory

    @Test(arguments: [["a", "b", "c"], ["a", "c"]])
    func aResponseGoesWholeExactlyWhenItFits(asked: [String]) {
        let group = F.group([.secret: ["a": "one", "b": String(repeating: "y", count: 300), "c": "three"]])
        let size = asked.reduce(0) { $0 + group[.secret].resources[$1]!.anyBytes.count + 8 }
        for (limit, expected) in [(size, 1), (size - 1, 2)] {
            var stream = SotWStream(fixedType: nil, maxResponseBytes: limit)
            stream.attach(group)
            let tests = SotWStreamTests()
            let parts = tests.sends(stream.receive(tests.request(.secret, asked, node: NodeInfo(id: "n"))))
            #expect(parts.count == expected, "limit \(limit)")
            #expect(parts.flatMap { $0.resources.map { $0.name } } == asked.sorted(), "limit \(limit)")
        }
    }
}

/// The budget's charge for subscribed names is kept as subscriptions change; it must equal a count from scratch.
@Suite struct SotWRetainedTests {
    @Test func theKeptChargeMatchesARecount() {
        var random = DeltaChangesTests.Generator(state: 0xC0FFEE)
        var stream = SotWStream()
        stream.attach(SotWStreamTests.site)
        let names = ["www", "dav", "missing", "*", "a-much-longer-name-than-the-others"]
        for step in 0..<300 {
            let type = [ResourceType.cluster, .endpoint, .route, .secret][random.next(4)]
            let asked = names.filter { _ in random.next(2) == 0 }
            _ = stream.receive(
                DiscoveryRequest(
                    node: step == 0 ? NodeInfo(id: "n") : nil, resourceNames: asked, typeURL: type.typeURL))
            let recounted = stream.types.values.reduce(0) { $0 + retainedCost(of: $1.names) }
            #expect(stream.retainedBytes == recounted, "step \(step)")
        }
        #expect(stream.retainedBytes > 0)
    }
}
