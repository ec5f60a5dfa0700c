import NIOCore
import Snapshot
import Synchronization

/// Something on an event loop that follows published snapshots (a stream handler).
protocol SnapshotFollower: AnyObject {
    /// Called on the follower's event loop with each newly published snapshot.
    func snapshotChanged(_ snapshot: Snapshot)
}

/// Hands each published snapshot to every stream with one task per event loop, not one per stream.
///
/// With thousands of streams a publish used to schedule a closure per stream on its loop (an allocation, a lock on
/// the loop's task queue and often a wake-up each); here each loop gets one task that walks its own streams. A stream
/// joins and leaves on its own loop, so each loop's list is touched only there; the table of loops is locked, and
/// changes only when a loop serves its first stream.
final class SnapshotFanOut: Sendable {
    /// The followers of one event loop. Mutable state is confined to `eventLoop`.
    private final class LoopFollowers: @unchecked Sendable {
        let eventLoop: any EventLoop
        var members: [UInt64: any SnapshotFollower] = [:]

        init(eventLoop: any EventLoop) {
            self.eventLoop = eventLoop
        }

        func deliver(_ snapshot: Snapshot) {
            eventLoop.preconditionInEventLoop()
            // A copy: a follower may leave (or another join) while the list is walked.
            for follower in Array(members.values) { follower.snapshotChanged(snapshot) }
        }
    }

    private let loops = Mutex<[ObjectIdentifier: LoopFollowers]>([:])

    /// Starts following; call on `eventLoop`.
    func add(_ id: UInt64, _ follower: any SnapshotFollower, on eventLoop: any EventLoop) {
        eventLoop.preconditionInEventLoop()
        let followers = loops.withLock { loops in
            let key = ObjectIdentifier(eventLoop)
            if let existing = loops[key] { return existing }
            let created = LoopFollowers(eventLoop: eventLoop)
            loops[key] = created
            return created
        }
        followers.members[id] = follower
    }

    /// Stops following; call on `eventLoop`.
    func remove(_ id: UInt64, on eventLoop: any EventLoop) {
        eventLoop.preconditionInEventLoop()
        let followers = loops.withLock { $0[ObjectIdentifier(eventLoop)] }
        followers?.members.removeValue(forKey: id)
    }

    /// Delivers `snapshot` to every follower, on each one's loop (from any thread).
    func publish(_ snapshot: Snapshot) {
        for followers in loops.withLock({ Array($0.values) }) {
            followers.eventLoop.execute { followers.deliver(snapshot) }
        }
    }
}
