import Foundation
import Operations
import Testing

/// `chancery status diff`: the entries between two versions and their net effect.
@Suite struct HistoryDiffTests {
    /// As `/history` serves it: newest first.
    static let history = """
        [
          {"version": "v4", "at": "2026-11-30T20:04:00Z", "changes": {"edge/cluster": ["-old", "+tmp"]}},
          {"version": "v3", "at": "2026-11-30T20:03:00Z", "changes": {"edge/cluster": ["-tmp", "~www"]}},
          {"version": "v2", "at": "2026-11-30T20:02:00Z",
           "changes": {"edge/cluster": ["+tmp", "~www"], "edge/route": ["+api"]}},
          {"version": "v1", "at": "2026-11-30T20:01:00Z", "changes": {"edge/cluster": ["+old", "+www"]}}
        ]
        """

    func records() throws -> [HistoryRecord] { try HistoryRecord.decode(Data(Self.history.utf8)) }

    @Test func stepsAfterTheFirstVersionUpToTheSecond() throws {
        let diff = try HistoryDiff.between("v1", "v3", in: records()).get()
        #expect(diff.steps.map(\.version) == ["v2", "v3"])
        #expect(!diff.backwards)
        // tmp was added then removed: nothing; www changed twice: changed once.
        #expect(diff.net == ["edge/cluster": ["~www"], "edge/route": ["+api"]])
        let text = diff.render(from: "v1", to: "v3")
        #expect(text.contains("v1 → v3: 2 snapshots"))
        #expect(text.contains("edge/route    +api"))
    }

    @Test func removedThenAddedIsChanged() throws {
        let diff = try HistoryDiff.between("v2", "v4", in: records()).get()
        #expect(diff.net == ["edge/cluster": ["-old", "~tmp", "~www"]])
    }

    @Test func backwardsUndoes() throws {
        let diff = try HistoryDiff.between("v3", "v1", in: records()).get()
        #expect(diff.backwards)
        #expect(diff.steps.map(\.version) == ["v3", "v2"])
        #expect(diff.net == ["edge/cluster": ["~www"], "edge/route": ["-api"]])
    }

    @Test func sameVersionIsNoChange() throws {
        let diff = try HistoryDiff.between("v2", "v2", in: records()).get()
        #expect(diff.steps.isEmpty)
        #expect(diff.render(from: "v2", to: "v2").hasSuffix("no changes\n"))
    }

    @Test func aVersionOutsideHistoryIsAClearError() throws {
        let result = HistoryDiff.between("v0", "v2", in: try records())
        guard case .failure(let missing) = result else {
            Issue.record("expected an error")
            return
        }
        #expect(
            missing.description == "version v0 is not in history (it keeps the last 4 snapshots: oldest v1, newest v4)")
        guard case .failure(let none) = HistoryDiff.between("a", "b", in: []) else {
            Issue.record("expected an error")
            return
        }
        #expect(none.description.contains("no snapshot has been published"))
    }

    @Test func refusesWhatIsNotHistory() {
        #expect(throws: ClientsFormatError.self) { try HistoryRecord.decode(Data("{}".utf8)) }
        #expect(throws: ClientsFormatError.self) { try HistoryRecord.decode(Data("[{\"at\": \"x\"}]".utf8)) }
    }
}
