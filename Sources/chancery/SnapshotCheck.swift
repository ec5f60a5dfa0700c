import Snapshot

/// A last check of a freshly loaded snapshot before the reloader publishes it.
///
/// Returns nil to let the snapshot through, or the reasons to refuse it; a refused snapshot is treated like a routes
/// file with errors: the last good snapshot stays in force and the reasons go to `/status` and the log.
protocol SnapshotCheck: Sendable {
    func refusal(of snapshot: Snapshot, replacing current: Snapshot) -> [String]?
}
