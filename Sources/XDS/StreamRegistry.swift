import Foundation
import Synchronization
import Vocabulary

/// What the admin endpoint shows of one connected stream.
public struct StreamInfo: Hashable, Sendable {
    public struct TypeInfo: Hashable, Sendable {
        /// Up to 100 of the subscribed names; `subscribedCount` has the total.
        public var subscribed: [String] = []
        public var subscribedCount = 0
        public var wildcard = false
        public var sentVersion: String?
        public var sentNonce: String?
        public var ackedVersion: String?
        public var nackedVersion: String?
        public var nackMessage: String?
        public var nackAt: Date?
        /// When `sentVersion` was first sent on this stream: `chancery status` shows how old the last push is.
        public var sentAt: Date?

        public init() {}

        /// What a state machine shows of a type, read on the stream's event loop before the registry's lock is
        /// taken; `mirror(_:at:)` copies it in.
        struct MachineSide {
            var subscribed: [String]
            var subscribedCount: Int
            var wildcard: Bool
            var sentVersion: String?
            var sentNonce: String?
            var ackedVersion: String?

            /// `listed`: up to 100 of the state's names, sorted (`listed(_:)`), which the caller may keep between
            /// calls while the names stay the same.
            init(_ state: some AdminVisibleTypeState, listed: [String]) {
                subscribed = listed
                subscribedCount = state.names.count
                wildcard = state.wildcard
                sentVersion = state.lastVersion
                sentNonce = state.lastNonce
                ackedVersion = state.acked
            }
        }

        /// Takes the machine's side in place. The last NACK stays (the machine forgets it at the next ACK; the
        /// admin endpoint still shows it and when it happened), and so does the send time while the version sent
        /// is the same.
        mutating func mirror(_ side: MachineSide, at now: Date) {
            sentAt = side.sentVersion == nil ? nil : (side.sentVersion == sentVersion ? sentAt : now)
            subscribed = side.subscribed
            subscribedCount = side.subscribedCount
            wildcard = side.wildcard
            sentVersion = side.sentVersion
            sentNonce = side.sentNonce
            ackedVersion = side.ackedVersion
        }

        /// Keeps the send time of `previous` while the version sent is the same, else stamps `now`.
        mutating func stampSent(previous: TypeInfo?, now: Date) {
            guard let sentVersion else { return }
            sentAt = previous?.sentVersion == sentVersion ? previous?.sentAt : now
        }

        mutating func recordNack(version: String, message: String, at time: Date) {
            nackedVersion = version
            nackMessage = message
            nackAt = time
        }
    }

    public var id: UInt64
    public var nodeID: String
    public var group: String
    /// "ads", "ads-delta", or the per-type service, e.g. "clusters" / "clusters-delta".
    public var kind: String
    public var peer: String?
    public var userAgent: String
    public var connectedAt: Date
    public var types: [ResourceType: TypeInfo] = [:]
}

/// Every open xDS stream, for `/clients` and for leak checks in tests.
public final class StreamRegistry: Sendable {
    private let streams = Mutex<[UInt64: StreamInfo]>([:])
    private let nextID = Atomic<UInt64>(0)
    /// Bumped on every change, so a reader can tell whether its last copy is still exact.
    private let changes = Atomic<UInt64>(0)

    public init() {}

    public func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).newValue }

    public func upsert(_ info: StreamInfo) {
        streams.withLock { $0[info.id] = info }
        changes.add(1, ordering: .relaxed)
    }

    public func update(_ id: UInt64, _ change: (inout StreamInfo) -> Void) {
        streams.withLock { streams in
            // In place: copying the entry out and back would copy its per-type table on every ACK.
            if streams[id] != nil { change(&streams[id]!) }
        }
        changes.add(1, ordering: .relaxed)
    }

    public func remove(_ id: UInt64) {
        _ = streams.withLock { $0.removeValue(forKey: id) }
        changes.add(1, ordering: .relaxed)
    }

    /// How many changes the registry has seen; equal values mean nothing changed in between.
    public var generation: UInt64 { changes.load(ordering: .relaxed) }

    /// A copy of every entry, taken under the lock without sorting or formatting: the caller (the admin event loop)
    /// does the expensive work, so xDS loops wait on the lock only for the copy.
    public func copyEntries() -> (generation: UInt64, streams: [StreamInfo]) {
        // Read the generation first: a change racing the copy then makes the next reader copy again.
        let generation = self.generation
        return (generation, streams.withLock { Array($0.values) })
    }

    public var all: [StreamInfo] { streams.withLock { Array($0.values) }.sorted { $0.id < $1.id } }
    public var count: Int { streams.withLock { $0.count } }
}
