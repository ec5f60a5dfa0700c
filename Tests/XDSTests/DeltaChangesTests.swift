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
