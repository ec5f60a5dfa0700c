import Foundation
import Synchronization
import Translate

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

    public init() {}

    public func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).newValue }

    public func upsert(_ info: StreamInfo) {
        streams.withLock { $0[info.id] = info }
    }

    public func update(_ id: UInt64, _ change: (inout StreamInfo) -> Void) {
        streams.withLock { streams in
            if var info = streams[id] {
                change(&info)
                streams[id] = info
            }
        }
    }

    public func remove(_ id: UInt64) {
        _ = streams.withLock { $0.removeValue(forKey: id) }
    }

    public var all: [StreamInfo] { streams.withLock { Array($0.values) }.sorted { $0.id < $1.id } }
    public var count: Int { streams.withLock { $0.count } }
}
