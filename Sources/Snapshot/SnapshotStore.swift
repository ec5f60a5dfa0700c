import Foundation
import Synchronization
import Vocabulary

/// The outcome of the last attempt to load the routes file and certificates.
public struct LoadStatus: Hashable, Sendable {
    public var ok: Bool
    public var errors: [String]
    public var warnings: [String]
    public var at: Date
    public var snapshotVersion: String?

    public init(
        ok: Bool, errors: [String] = [], warnings: [String] = [], at: Date = Date(), snapshotVersion: String? = nil
    ) {
        self.ok = ok
        self.errors = errors
        self.warnings = warnings
        self.at = at
        self.snapshotVersion = snapshotVersion
    }
}

/// One published snapshot and what it changed, for `/history`.
public struct HistoryEntry: Hashable, Sendable {
    public var version: String
    public var at: Date
    /// "group/type": names added, changed or removed, e.g. `["default/cluster": ["+dl", "~www", "-old"]]`.
    public var changes: [String: [String]]
}

/// Holds the current snapshot and tells observers when a new one is published.
///
/// A failed load never replaces the snapshot: it is recorded in `status` and the proxies keep the last good one.
public final class SnapshotStore: Sendable {
    public typealias Observer = @Sendable (Snapshot) -> Void

    private struct State {
        var current = Snapshot.empty
        var status = LoadStatus(ok: false, errors: ["not loaded yet"])
        var history: [HistoryEntry] = []
        var observers: [UInt64: Observer] = [:]
        var nextObserver: UInt64 = 0
    }

    private let state = Mutex(State())
    private let historyLimit: Int
    /// The certificates of the last load, for `/status` and `/metrics`.
    public let certificates = CertificateReport()

    public init(historyLimit: Int = 50) {
        self.historyLimit = historyLimit
    }

    public var current: Snapshot { state.withLock { $0.current } }
    public var status: LoadStatus { state.withLock { $0.status } }
    public var history: [HistoryEntry] { state.withLock { $0.history } }

    /// Publishes `snapshot` if it differs from the current one; returns whether it did.
    @discardableResult
    public func publish(_ snapshot: Snapshot, warnings: [String] = []) -> Bool {
        // What delta streams share is worked out here, once, outside the lock the admin endpoint also takes. Were
        // another publish to come between, streams would find the changes lead from a version they do not hold
        // and work them out themselves: slower, not wrong.
        let previous = current
        let snapshot = snapshot.version == previous.version ? snapshot : snapshot.linked(after: previous)
        let (changed, observers): (Bool, [Observer]) = state.withLock { state in
            state.status = LoadStatus(ok: true, warnings: warnings, snapshotVersion: snapshot.version)
            guard snapshot.version != state.current.version else { return (false, []) }
            let entry = HistoryEntry(version: snapshot.version, at: Date(), changes: Self.diff(state.current, snapshot))
            state.history.append(entry)
            if state.history.count > historyLimit { state.history.removeFirst(state.history.count - historyLimit) }
            state.current = snapshot
            // In registration order: an observer registered early (the group guard) acts before later ones.
            return (true, state.observers.sorted { $0.key < $1.key }.map(\.value))
        }
        for observer in observers { observer(snapshot) }
        return changed
    }

    /// Records a failed load; the current snapshot stays in force.
    public func recordFailure(_ errors: [String], warnings: [String] = []) {
        state.withLock { state in
            state.status = LoadStatus(
                ok: false, errors: errors, warnings: warnings,
                snapshotVersion: state.current.version)
        }
    }

    /// Registers `observer`, called after every publish with the new snapshot (on the publishing thread, in the
    /// order observers were registered).
    public func observe(_ observer: @escaping Observer) -> UInt64 {
        state.withLock { state in
            state.nextObserver += 1
            state.observers[state.nextObserver] = observer
            return state.nextObserver
        }
    }

    public func stopObserving(_ id: UInt64) {
        _ = state.withLock { $0.observers.removeValue(forKey: id) }
    }

    static func diff(_ old: Snapshot, _ new: Snapshot) -> [String: [String]] {
        var changes: [String: [String]] = [:]
        let keys = Set(old.groups.keys).union(new.groups.keys).filter { $0.mode == .ads }
        for key in keys {
            for type in ResourceType.allCases {
                let before = old.groups[key]?[type].resources ?? [:]
                let after = new.groups[key]?[type].resources ?? [:]
                var lines: [String] = []
                for name in Set(before.keys).union(after.keys).sorted() {
                    switch (before[name]?.version, after[name]?.version) {
                    case (nil, _?): lines.append("+" + name)
                    case (_?, nil): lines.append("-" + name)
                    case (let a?, let b?) where a != b: lines.append("~" + name)
                    default: break
                    }
                }
                if !lines.isEmpty { changes["\(key.group)/\(type.rawValue)"] = lines }
            }
        }
        return changes
    }
}
