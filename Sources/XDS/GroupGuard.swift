import Snapshot
import Synchronization
import Vocabulary

/// Remembers, per node group, which content a proxy rejected and which versions proxies accepted.
///
/// When any proxy of a group NACKs a version, new and reconnecting proxies of that group are given the most recent
/// version a proxy of the group ACKed, until different content is published: one bad edit reaches at most the
/// proxies that were connected when it was pushed, not every proxy that starts afterwards. A rejection is about
/// content, and it ends when the group's content changes; the same content published again later is tried again.
public final class GroupGuard: Sendable {
    private struct Entry {
        /// Accepted snapshots, most recent last (a few, so a rejection can fall back past a recent acceptance).
        var accepted: [Snapshot] = []
        var rejected: String?
    }

    private static let history = 8
    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// The group's identity in a snapshot: its ADS-mode content version (the same edit gives the same version).
    static func key(_ snapshot: Snapshot, group: String) -> String {
        snapshot.group(group, mode: .ads)?.version ?? ""
    }

    /// A proxy of `group` ACKed what it was served from `snapshot`.
    public func accept(_ snapshot: Snapshot, group: String) {
        let key = Self.key(snapshot, group: group)
        entries.withLock { entries in
            // Every proxy of a group ACKs the same version after a push: after the first, nothing changes.
            if let latest = entries[group]?.accepted.last, Self.key(latest, group: group) == key { return }
            var entry = entries[group, default: Entry()]
            guard entry.rejected != key else { return }
            entry.accepted.removeAll { Self.key($0, group: group) == key }
            entry.accepted.append(snapshot)
            if entry.accepted.count > Self.history { entry.accepted.removeFirst() }
            entries[group] = entry
        }
    }

    /// A proxy of `group` NACKed what it was served from `snapshot`.
    public func reject(_ snapshot: Snapshot, group: String) {
        let key = Self.key(snapshot, group: group)
        entries.withLock { entries in
            var entry = entries[group, default: Entry()]
            entry.rejected = key
            entry.accepted.removeAll { Self.key($0, group: group) == key }
            entries[group] = entry
        }
    }

    /// A snapshot was published: a rejection ends for every group whose content it changes.
    public func published(_ snapshot: Snapshot) {
        entries.withLock { entries in
            for (group, entry) in entries
            where entry.rejected != nil && entry.rejected != Self.key(snapshot, group: group) {
                entries[group]?.rejected = nil
            }
        }
    }

    public func isRejected(_ snapshot: Snapshot, group: String) -> Bool {
        let key = Self.key(snapshot, group: group)
        return entries.withLock { $0[group]?.rejected == key }
    }

    /// What a new stream of `group` should be served: `current`, unless a proxy rejected it and an accepted one exists.
    public func snapshot(for group: String, current: Snapshot) -> Snapshot {
        entries.withLock { entries in
            guard let entry = entries[group], entry.rejected == Self.key(current, group: group),
                let accepted = entry.accepted.last
            else { return current }
            return accepted
        }
    }

    /// The rejected version of each group that has one, for the admin endpoint.
    public var rejections: [String: [String]] {
        entries.withLock { entries in entries.compactMapValues { $0.rejected.map { [$0] } } }
    }
}
