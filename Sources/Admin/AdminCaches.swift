import NIOCore
import Snapshot
import Synchronization
import XDS

/// The registry summary behind `/clients` and `/metrics`: rebuilt when the registry changed and the copy is older
/// than `maxAge`, so a client polling those pages costs one copy of the registry per `maxAge`, not one per request.
/// A registry of at most `freshUpTo` streams is cheap to copy and is always shown as it is now.
final class SummaryCache: Sendable {
    private let registry: StreamRegistry
    private let maxAge: TimeAmount
    private let freshUpTo: Int
    private let cached = Mutex<(summary: StreamSummary, at: NIODeadline)?>(nil)

    init(registry: StreamRegistry, maxAge: TimeAmount, freshUpTo: Int) {
        self.registry = registry
        self.maxAge = maxAge
        self.freshUpTo = freshUpTo
    }

    var current: StreamSummary {
        let now = NIODeadline.now()
        if let (summary, at) = cached.withLock({ $0 }),
            summary.generation == registry.generation || (now - at < maxAge && summary.entries.count > freshUpTo)
        {
            return summary
        }
        // Built outside the lock: the registry copy is the only part that holds a lock the xDS loops take.
        let summary = StreamSummary(registry)
        cached.withLock { $0 = (summary, now) }
        return summary
    }
}

/// `/snapshot` rendered once per snapshot version: a snapshot never changes once published.
final class SnapshotPageCache: Sendable {
    private let cached = Mutex<(version: String, body: String)?>(nil)

    func body(for snapshot: Snapshot, render: (Snapshot) -> String) -> String {
        if let hit = cached.withLock({ $0 }), hit.version == snapshot.version { return hit.body }
        let body = render(snapshot)
        cached.withLock { $0 = (snapshot.version, body) }
        return body
    }
}
