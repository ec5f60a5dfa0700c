import Snapshot
import Testing
import Translate
@testable import XDS

@Suite struct GroupGuardTests {
    typealias F = SnapshotFactory

    func snapshot(_ content: String) -> Snapshot {
        let group = F.group([.cluster: ["www": content], .listener: ["https": ""]])
        return Snapshot(groups: [SnapshotKey(group: "default", mode: .ads): group])
    }

    @Test func currentIsServedWhenNothingWasRejected() {
        let guardian = GroupGuard()
        let current = snapshot("v1")
        #expect(guardian.snapshot(for: "default", current: current) == current)
    }

    @Test func rejectedVersionFallsBackToLastAccepted() {
        let guardian = GroupGuard()
        let good = snapshot("v1"), bad = snapshot("v2")
        guardian.accept(good, group: "default")
        guardian.reject(bad, group: "default")
        #expect(guardian.isRejected(bad, group: "default"))
        #expect(guardian.snapshot(for: "default", current: bad) == good)
        // Another group is unaffected.
        #expect(guardian.snapshot(for: "other", current: bad) == bad)
    }

    @Test func newerVersionIsServedAgain() {
        let guardian = GroupGuard()
        let good = snapshot("v1"), bad = snapshot("v2"), fixed = snapshot("v3")
        guardian.accept(good, group: "default")
        guardian.reject(bad, group: "default")
        #expect(guardian.snapshot(for: "default", current: fixed) == fixed)
    }

    @Test func withoutAnAcceptedVersionTheCurrentOneIsServed() {
        let guardian = GroupGuard()
        let bad = snapshot("v2")
        guardian.reject(bad, group: "default")
        #expect(guardian.snapshot(for: "default", current: bad) == bad)
    }

    @Test func aRejectedVersionIsNeverRecordedAsAccepted() {
        let guardian = GroupGuard()
        let good = snapshot("v1"), bad = snapshot("v2")
        guardian.accept(good, group: "default")
        guardian.reject(bad, group: "default")
        guardian.accept(bad, group: "default")  // another proxy ACKed it: still rejected for new proxies
        #expect(guardian.snapshot(for: "default", current: bad) == good)
        #expect(guardian.rejections["default"]?.count == 1)
    }
}
