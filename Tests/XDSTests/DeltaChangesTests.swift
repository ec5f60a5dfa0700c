import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// The fast path of a delta push (no forced names) against the general one, on generated states: both must send the
/// same resources in the same order and report the same removals.
@Suite struct DeltaChangesTests {
    typealias F = SnapshotFactory

    /// A small deterministic generator, so a failure names a seed that reproduces it.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }

        /// A group snapshot of `types`, each holding some of the names a–d (a name is left out when a roll of
        /// `keep` comes up 0), each with one of `contents` contents.
        mutating func snapshot(_ types: [ResourceType], keep: Int, contents: Int) -> GroupSnapshot {
            var spec: [ResourceType: [String: String]] = [:]
            for type in types {
                var resources: [String: String] = [:]
                for name in ["a", "b", "c", "d"] where next(keep) > 0 { resources[name] = "\(next(contents))" }
                spec[type] = resources
            }
            return SnapshotFactory.group(spec)
        }
    }

    @Test(arguments: 0..<400)
    func fastPathAgreesWithTheGeneralOne(seed: Int) {
        var random = Generator(state: UInt64(seed) &+ 0x9E37_79B9)
        let universe = (0..<12).map { "r\($0)" }
        var spec: [String: String] = [:]
        for name in universe where random.next(3) > 0 { spec[name] = "\(random.next(3))" }
        let typeSnapshot = F.group([.cluster: spec])[.cluster]
        var state = DeltaStream.TypeState()
        state.wildcard = random.next(3) == 0
        for name in universe + ["missing"] where random.next(2) == 0 { state.names.insert(name) }
        for name in universe + ["gone"] where random.next(2) == 0 {
            // Held at the current version, at an older one, or at one the snapshot never had.
            let current = typeSnapshot.resources[name]?.version
            state.known[name] = random.next(2) == 0 ? (current ?? "old") : "stale"
        }
        for includeRemovals in [true, false] {
            let fast = DeltaStream.changes(typeSnapshot, state, includeRemovals: includeRemovals)
            let general = DeltaStream.changes(typeSnapshot, state, forcing: [], includeRemovals: includeRemovals)
            #expect(fast.send.map(\.name) == general.send.map(\.name), "seed \(seed)")
            #expect(fast.removed.sorted() == general.removed.sorted(), "seed \(seed)")
        }
    }
}

/// The general form of a push (forced names) against the rule as plainly stated: every name wanted or forced, in
/// name order, is sent when forced or not held at its version, and reported removed when the snapshot does not
/// have it and it is forced or held; then every held name no longer wanted or forced is reported removed.
@Suite struct DeltaForcedChangesTests {
    typealias F = SnapshotFactory

    static func plainRule(
        _ typeSnapshot: TypeSnapshot, _ state: DeltaStream.TypeState, forcing: Set<String>, includeRemovals: Bool
    ) -> (send: [String], removed: [String]) {
        let resources = typeSnapshot.resources
        var wanted = state.names
        if state.wildcard { wanted.formUnion(resources.keys) }
        var send: [String] = []
        var removed: [String] = []
        for name in wanted.union(forcing).sorted() {
            if let resource = resources[name] {
                if forcing.contains(name) || state.known[name] != resource.version { send.append(name) }
            } else if includeRemovals, forcing.contains(name) || state.known[name] != nil {
                removed.append(name)
            }
        }
        if includeRemovals {
            for name in state.known.keys.sorted() where !wanted.contains(name) && !forcing.contains(name) {
                removed.append(name)
            }
        }
        return (send, removed)
    }

    /// Sizes and densities vary so that both the walk over the snapshot and the sort of a sparse subscription run.
    @Test(arguments: 0..<600)
    func generalFormFollowsThePlainRule(seed: Int) {
        var random = DeltaChangesTests.Generator(state: UInt64(seed) &+ 0xF0_4CED)
        let universe = (0..<(4 + random.next(60))).map { "r\($0)" }
        let density = 2 + random.next(20)  // one name in `density` is subscribed, forced or held
        var spec: [String: String] = [:]
        for name in universe where random.next(4) > 0 { spec[name] = "\(random.next(3))" }
        let typeSnapshot = F.group([.cluster: spec])[.cluster]
        var state = DeltaStream.TypeState()
        state.wildcard = random.next(4) == 0
        let extra = ["missing", "gone", "zz"]
        for name in universe + extra where random.next(density) == 0 { state.names.insert(name) }
        var forcing = Set<String>()
        for name in universe + extra where random.next(density) == 0 { forcing.insert(name) }
        for name in universe + extra where random.next(density) == 0 {
            let current = typeSnapshot.resources[name]?.version
            state.known[name] = random.next(2) == 0 ? (current ?? "old") : "stale"
        }
        for includeRemovals in [true, false] {
            let got = DeltaStream.changes(typeSnapshot, state, forcing: forcing, includeRemovals: includeRemovals)
            let expected = Self.plainRule(typeSnapshot, state, forcing: forcing, includeRemovals: includeRemovals)
            #expect(got.send.map(\.name) == expected.send, "seed \(seed)")
            #expect(got.removed == expected.removed, "seed \(seed)")
        }
    }
}

/// A push skips a type whose version the subscription is already settled with. On generated sequences of
/// subscription changes, ACKs, NACKs and snapshots, the skip must never hide a change: after every push, each
/// subscribed type has nothing left to send or remove.
@Suite struct DeltaSettledTests {
    typealias F = SnapshotFactory
    typealias Generator = DeltaChangesTests.Generator

    static func snapshot(_ random: inout Generator) -> GroupSnapshot {
        // Few contents, so successive snapshots often leave a type exactly as it was.
        random.snapshot([.listener, .cluster, .endpoint], keep: 4, contents: 2)
    }

    @Test(arguments: 0..<200)
    func aSettledTypeNeverHidesAChange(seed: Int) {
        var random = Generator(state: UInt64(seed) &+ 0x5E77_1ED)
        var stream = DeltaStream()
        stream.attach(Self.snapshot(&random))
        let names = ["a", "b", "c", "d", "*", "x"]
        var nonces: [ResourceType: String] = [:]
        for step in 0..<40 {
            let type = [ResourceType.listener, .cluster, .endpoint][random.next(3)]
            var actions: [DeltaStream.Action] = []
            switch random.next(4) {
            case 0:
                actions = stream.update(Self.snapshot(&random))
                // The invariant: after a push every type is up to date with its subscription.
                for (checked, state) in stream.types {
                    let left = DeltaStream.changes(stream.snapshot![checked], state, includeRemovals: true)
                    #expect(left.send.isEmpty && left.removed.isEmpty, "seed \(seed) step \(step) \(checked)")
                }
            case 1:
                let subscribe = names.filter { _ in random.next(3) == 0 }
                let unsubscribe = names.filter { _ in random.next(4) == 0 }
                actions = stream.receive(
                    DeltaDiscoveryRequest(
                        node: NodeInfo(id: "n"), typeURL: type.typeURL, subscribe: subscribe,
                        unsubscribe: unsubscribe))
            default:
                // An ACK, or now and then a NACK, of the type's last nonce: neither changes what must be sent.
                actions = stream.receive(
                    DeltaDiscoveryRequest(
                        typeURL: type.typeURL, responseNonce: nonces[type] ?? "",
                        errorDetail: random.next(5) == 0 ? ErrorDetail(code: 13, message: "no") : nil))
            }
            for action in actions {
                if case .send(let response) = action { nonces[response.type] = response.nonce }
            }
            // A subscription change is answered in full (forced names and all), so it leaves its type settled too:
            // after every step, not only after a push, nothing is left to send or remove.
            for (checked, state) in stream.types {
                let left = DeltaStream.changes(stream.snapshot![checked], state, includeRemovals: true)
                #expect(left.send.isEmpty && left.removed.isEmpty, "seed \(seed) step \(step) \(checked) after any")
            }
            // The budget's charge is kept as the state changes; it must equal a count from scratch.
            let recounted = stream.types.values.reduce(0) {
                $0 + retainedCost(of: $1.names) + retainedCost(of: $1.known)
            }
            #expect(stream.retainedBytes == recounted, "seed \(seed) step \(step)")
        }
    }
}
