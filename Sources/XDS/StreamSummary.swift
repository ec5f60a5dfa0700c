import Foundation

/// Where a stream stands with the versions it was sent, for `/clients?status=`.
public enum StreamStatus: String, Sendable, CaseIterable {
    /// The proxy rejected the latest response of some type (its last NACK names the version last sent).
    case nacked
    /// Not NACKed, but some type waits for an ACK of what was sent, or nothing was sent yet.
    case stale
    /// Every type sent has been ACKed at the version sent.
    case synced

    public init(_ info: StreamInfo) {
        var waiting = info.types.isEmpty
        for state in info.types.values {
            if let nacked = state.nackedVersion, nacked == state.sentVersion, state.ackedVersion != nacked {
                self = .nacked
                return
            }
            if state.sentVersion != state.ackedVersion { waiting = true }
        }
        self = waiting ? .stale : .synced
    }
}

/// An immutable, sorted copy of the registry with the counts the admin pages need, built off the xDS loops and
/// reused by every request until it is refreshed.
public struct StreamSummary: Sendable {
    public struct Entry: Sendable {
        public let info: StreamInfo
        public let status: StreamStatus
    }

    /// The registry's generation this copy was taken at.
    public let generation: UInt64
    /// Every stream, by stream id.
    public let entries: [Entry]
    public let countByKind: [String: Int]
    public let countByStatus: [StreamStatus: Int]
    /// Streams that recorded a NACK for some type at any time (the `chancery_streams_nacking` gauge).
    public let everNacked: Int

    public init(generation: UInt64, streams: [StreamInfo]) {
        self.generation = generation
        entries = streams.sorted { $0.id < $1.id }.map { Entry(info: $0, status: StreamStatus($0)) }
        var byKind: [String: Int] = [:]
        var byStatus: [StreamStatus: Int] = [:]
        var nacking = 0
        for entry in entries {
            byKind[entry.info.kind, default: 0] += 1
            byStatus[entry.status, default: 0] += 1
            if entry.info.types.values.contains(where: { $0.nackedVersion != nil }) { nacking += 1 }
        }
        countByKind = byKind
        countByStatus = byStatus
        everNacked = nacking
    }

    /// Takes a copy of `registry` now.
    public init(_ registry: StreamRegistry) {
        let (generation, streams) = registry.copyEntries()
        self.init(generation: generation, streams: streams)
    }

    /// One page of the streams matching every given filter, and how many match in all.
    public func page(
        node: String? = nil, group: String? = nil, status: StreamStatus? = nil,
        offset: Int, limit: Int
    ) -> (total: Int, streams: [StreamInfo]) {
        var total = 0
        var page: [StreamInfo] = []
        page.reserveCapacity(min(limit, entries.count))
        for entry in entries {
            if let node, entry.info.nodeID != node { continue }
            if let group, entry.info.group != group { continue }
            if let status, entry.status != status { continue }
            if total >= offset && page.count < limit { page.append(entry.info) }
            total += 1
        }
        return (total, page)
    }
}
