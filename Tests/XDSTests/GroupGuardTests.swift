import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

@Suite struct GroupGuardTests {
    typealias F = SnapshotFactory

    func snapshot(_ content: String) -> Snapshot {
        let group = F.group([.cluster: ["www": content], .listener: ["https": ""]])
        return Snapshot(groups: [GroupKey(group: "default", mode: .ads): group])
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

    @Test func aRejectionFallsBackPastAVersionAcceptedJustBefore() {
        let guardian = GroupGuard()
        let v1 = snapshot("v1"), v2 = snapshot("v2")
        guardian.accept(v1, group: "default")
        guardian.accept(v2, group: "default")  // one stream ACKed v2 on its types…
        guardian.reject(v2, group: "default")  // …another stream of the group rejected it
        #expect(guardian.snapshot(for: "default", current: v2) == v1)
    }

    @Test func publishingDifferentContentLiftsTheRejection() {
        let guardian = GroupGuard()
        let v1 = snapshot("v1"), v2 = snapshot("v2")
        guardian.accept(v1, group: "default")
        guardian.reject(v2, group: "default")
        guardian.published(v2)  // same content again: still rejected
        #expect(guardian.isRejected(v2, group: "default"))
        guardian.published(v1)  // a revert
        #expect(!guardian.isRejected(v2, group: "default"))
        #expect(guardian.rejections.isEmpty)
        // The same content published again later is tried again.
        #expect(guardian.snapshot(for: "default", current: v2) == v2)
    }
}
