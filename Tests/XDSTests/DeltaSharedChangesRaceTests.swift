import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// The shared delta changes (`DeltaSharedChangesTests`) under what that test does not generate: endpoint contents
/// that change in place (SnapshotFactory's endpoint bytes depend only on the content's length), publishes a stream
/// never sees (coalesced, or held back by the group guard), snapshots linked after something other than what the
/// stream last saw (two publishes racing), a return to an earlier snapshot (A→B→A), reconnects with
/// `initial_resource_versions`, and a switch to another group's chain. Besides comparing with a stream that works
/// everything out itself, a model proxy applies every response and must end up holding what the server thinks it
/// holds, is never told to remove what it does not hold, and is sent every changed cluster's endpoints (rule 31).
@Suite struct DeltaSharedChangesRaceTests {
    typealias F = SnapshotFactory
    typealias Generator = DeltaChangesTests.Generator

    static func snapshot(_ random: inout Generator, group: String = "default") -> GroupSnapshot {
        var spec: [ResourceType: [String: String]] = [:]
        for type in [ResourceType.listener, .cluster, .endpoint] {
            var resources: [String: String] = [:]
            for name in ["a", "b", "c", "d"] where random.next(6) > 0 {
                resources[name] = String(repeating: "x", count: 1 + random.next(3))
            }
            spec[type] = resources
        }
        return F.group(spec, name: group)
    }

    @Test func sharedChangesAgreeUnderCoalescingRacesReconnectsAndGroupSwitches() {
        var sharedResponses = 0
        var skippedThenShared = 0
        var kinds: [String: Int] = [:]
        var bodies: [String: [String]] = [:]
        let types = [ResourceType.listener, .cluster, .endpoint]
        for seed in 0..<400 {
            var random = Generator(state: UInt64(seed) &+ 0x0BAD_5EED)
            let fixed: ResourceType? = seed % 4 == 0 ? types[random.next(3)] : nil
            var shared = DeltaStream(fixedType: fixed)
            var plain = DeltaStream(fixedType: fixed)
            var built = Self.snapshot(&random)
            var published = built.linked(after: nil)
            var history: [(built: GroupSnapshot, published: GroupSnapshot)] = [(built, published)]
            // Another group's chain.
            var otherBuilt = Self.snapshot(&random, group: "other")
            var otherPublished = otherBuilt.linked(after: nil)
            shared.attach(published)
            plain.attach(built)
            // What the proxy behind `shared` holds, applying every response.
            var proxy: [ResourceType: [String: String]] = [:]
            var skipped = false
            let names = ["a", "b", "c", "d", "*", "x"]
            var nonces: [ResourceType: String] = [:]
            for step in 0..<50 {
                let type = fixed ?? types[random.next(3)]
                let label = "seed \(seed) step \(step)"
                var sharedActions: [DeltaStream.Action] = []
                var plainActions: [DeltaStream.Action] = []
                var isUpdate = false
                var afterSkip = false
                switch random.next(9) {
                case 0, 1:
                    // Publish and deliver: new contents, or back to an earlier snapshot (A→B→A).
                    if random.next(4) == 0, history.count > 1 {
                        built = history[random.next(history.count)].built
                    } else {
                        built = Self.snapshot(&random)
                    }
                    // Now and then linked after an older snapshot than the last (two publishes racing).
                    let after = random.next(5) == 0 ? history[random.next(history.count)].published : published
                    published = built.linked(after: after)
                    history.append((built, published))
                    afterSkip = skipped
                    skipped = false
                    sharedActions = shared.update(published)
                    plainActions = plain.update(built)
                    isUpdate = true
                case 2:
                    // Published, never delivered (backlog kept only the newest, or the group guard held it back).
                    built = Self.snapshot(&random)
                    published = built.linked(after: published)
                    history.append((built, published))
                    skipped = true
                    continue
                case 3:
                    // Switch to another group's chain (and advance that chain).
                    otherBuilt = Self.snapshot(&random, group: "other")
                    otherPublished = otherBuilt.linked(after: otherPublished)
                    swap(&built, &otherBuilt)
                    swap(&published, &otherPublished)
                    sharedActions = shared.update(published)
                    plainActions = plain.update(built)
                    isUpdate = true
                case 4:
                    // Reconnect: the proxy reports (most of) what it holds, maybe a stale version or a gone name.
                    shared = DeltaStream(fixedType: fixed)
                    plain = DeltaStream(fixedType: fixed)
                    shared.attach(published)
                    plain.attach(built)
                    nonces = [:]
                    for t in (fixed.map { [$0] } ?? types) where random.next(3) > 0 {
                        var initial = proxy[t] ?? [:]
                        for name in initial.keys where random.next(6) == 0 { initial[name] = nil }
                        if random.next(6) == 0, let name = initial.keys.first { initial[name] = "stale" }
                        if random.next(8) == 0 { initial["gone"] = "old" }
                        proxy[t] = initial
                        let request = DeltaDiscoveryRequest(
                            node: NodeInfo(id: "n"), typeURL: t.typeURL,
                            subscribe: random.next(2) == 0 ? [] : names.filter { _ in random.next(2) == 0 },
                            initialResourceVersions: initial)
                        sharedActions += shared.receive(request)
                        plainActions += plain.receive(request)
                    }
                    for t in types where (fixed.map { $0 != t } ?? false) || shared.types[t] == nil { proxy[t] = nil }
                case 5:
                    let request = DeltaSharedChangesTests.subscriptionChange(type, names, &random)
                    (sharedActions, plainActions) = (shared.receive(request), plain.receive(request))
                    // Unsubscribed names are dropped by the proxy (rule 29), unless still wanted by the wildcard.
                    if let state = shared.types[type] {
                        for name in request.unsubscribe where name != "*" && !state.wildcard {
                            proxy[type]?[name] = nil
                        }
                        if request.unsubscribe.contains("*") {
                            proxy[type] = (proxy[type] ?? [:]).filter { state.names.contains($0.key) }
                        }
                    }
                default:
                    let request = DeltaSharedChangesTests.verdict(type, nonce: nonces[type], &random)
                    (sharedActions, plainActions) = (shared.receive(request), plain.receive(request))
                }
                // The proxy applies what it is sent.
                var sentClusters: [String] = []
                for action in sharedActions {
                    guard case .send(let response) = action else { continue }
                    let proxyBefore = proxy[response.type] ?? [:]
                    nonces[response.type] = response.nonce
                    for resource in response.resources {
                        proxy[response.type, default: [:]][resource.name] = resource.version
                    }
                    for name in response.removed {
                        if isUpdate {
                            #expect(proxy[response.type]?[name] != nil, "\(label): removes \(name) never held")
                        }
                        proxy[response.type]?[name] = nil
                    }
                    // Rule 31 on ADS: every cluster sent in a push is followed by its endpoints when wanted.
                    if isUpdate, fixed == nil {
                        if response.type == .cluster { sentClusters += response.resources.map(\.name) }
                        if response.type == .endpoint {
                            sentClusters.removeAll { name in response.resources.contains { $0.name == name } }
                        }
                    }
                    guard let key = response.shareKey else { continue }
                    sharedResponses += 1
                    if afterSkip { skippedThenShared += 1 }
                    if key.hasPrefix("all ") { kinds["all", default: 0] += 1 }
                    if key.hasPrefix("warm") {
                        kinds[key.split(separator: " ").count == 3 ? "warm+changes" : "warm", default: 0] += 1
                    }
                    if response.type == .endpoint, !key.hasPrefix("warm"),
                        response.resources.contains(where: { proxyBefore[$0.name] != nil })
                    {
                        kinds["endpoint changed in place", default: 0] += 1
                    }
                    let carried =
                        response.resources.map { "\($0.name)@\($0.version)" } + response.removed.map { "-\($0)" }
                    let named = "\(response.type) \(response.systemVersion) \(key)"
                    #expect(bodies[named, default: carried] == carried, "\(label): \(named)")
                    bodies[named] = carried
                }
                if isUpdate, fixed == nil, let endpoints = shared.types[.endpoint] {
                    let wanted = sentClusters.filter {
                        (endpoints.wildcard || endpoints.names.contains($0))
                            && published[.endpoint].resources[$0] != nil
                    }
                    #expect(wanted.isEmpty, "\(label): clusters \(wanted) sent without their endpoints")
                }
                DeltaSharedChangesTests.expectSameOutcome(shared, sharedActions, plain, plainActions, label)
                for (kind, state) in shared.types {
                    #expect(state.known == (proxy[kind] ?? [:]), "\(label) \(kind): server and proxy disagree")
                }
            }
        }
        // The paths this test is for were taken.
        #expect(sharedResponses > 500)
        #expect(skippedThenShared > 50)
        #expect(kinds["warm+changes", default: 0] > 20)
        #expect(kinds["all", default: 0] > 20)
        #expect(kinds["endpoint changed in place", default: 0] > 20)
    }
}
