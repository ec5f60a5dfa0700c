import Snapshot
import Synchronization
import Translate

/// Remembers, per node group, which snapshot a proxy rejected and which one proxies accepted.
///
/// When any proxy of a group NACKs a version, new and reconnecting proxies of that group are given the last version
/// a proxy of the group ACKed, until a newer version is published: one bad edit reaches at most the proxies that
/// were connected when it was pushed, not every proxy that restarts afterwards.
public final class GroupGuard: Sendable {
    private struct Entry {
        var accepted: Snapshot?
        var rejected: Set<String> = []
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// The group's identity in a snapshot: its ADS-mode content version (the same edit gives the same version).
    static func key(_ snapshot: Snapshot, group: String) -> String {
        snapshot.group(group, mode: .ads)?.version ?? ""
    }

    public func accept(_ snapshot: Snapshot, group: String) {
        let key = Self.key(snapshot, group: group)
        entries.withLock { entries in
            if entries[group, default: Entry()].rejected.contains(key) { return }
            entries[group, default: Entry()].accepted = snapshot
        }
    }

    public func reject(_ snapshot: Snapshot, group: String) {
        let key = Self.key(snapshot, group: group)
        entries.withLock { entries in
            entries[group, default: Entry()].rejected.insert(key)
            if let accepted = entries[group]?.accepted, Self.key(accepted, group: group) == key {
                entries[group]?.accepted = nil
            }
        }
    }

    public func isRejected(_ snapshot: Snapshot, group: String) -> Bool {
        let key = Self.key(snapshot, group: group)
        return entries.withLock { $0[group]?.rejected.contains(key) ?? false }
    }

    /// What a new stream of `group` should be served: `current`, unless a proxy rejected it and an accepted one exists.
    public func snapshot(for group: String, current: Snapshot) -> Snapshot {
        entries.withLock { entries in
            guard let entry = entries[group], entry.rejected.contains(Self.key(current, group: group)),
                  let accepted = entry.accepted else { return current }
            return accepted
        }
    }

    /// The rejected versions of each group, for the admin endpoint.
    public var rejections: [String: [String]] {
        entries.withLock { $0.mapValues { $0.rejected.sorted() } }
    }
}
