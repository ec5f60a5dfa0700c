import Foundation
import Vocabulary

/// Where one resource type of a stream stands.
public enum TypeStatus: Hashable, Sendable {
    /// The version sent was ACKed.
    case synced
    /// A version was sent and is not ACKed yet (nor rejected).
    case stale
    /// The proxy rejected the version last sent; the message is Envoy's.
    case nacked(message: String)
    /// Not subscribed, or nothing sent and nothing owed.
    case none

    /// The same rule as `/clients?status=`: a NACK counts only while it names the version last sent.
    public init(_ state: ProxyStream.TypeState?) {
        guard let state else {
            self = .none
            return
        }
        if let nacked = state.nackedVersion, nacked == state.sentVersion, state.ackedVersion != nacked {
            self = .nacked(message: state.nackMessage ?? "")
        } else if state.sentVersion == nil && state.ackedVersion == nil {
            self = .none
        } else if state.sentVersion != state.ackedVersion {
            self = .stale
        } else {
            self = .synced
        }
    }

    /// The word shown in a table cell; a NACK's message goes beside it, cut.
    public var word: String {
        switch self {
        case .synced: return "SYNCED"
        case .stale: return "STALE"
        case .nacked: return "NACKED"
        case .none: return "-"
        }
    }
}

/// A whole stream's standing: the worst of its types.
public enum RowStatus: String, Hashable, Sendable, Comparable {
    case synced, stale, nacked

    public static func < (a: RowStatus, b: RowStatus) -> Bool { a.rank < b.rank }

    private var rank: Int {
        switch self {
        case .synced: return 0
        case .stale: return 1
        case .nacked: return 2
        }
    }
}

/// One row of the fleet table: a stream, the standing of each type in xDS order, and how old its newest push is.
public struct FleetRow: Hashable, Sendable {
    /// The column order of the table: LDS RDS CDS EDS SDS.
    public static let columns: [(ResourceType, String)] = [
        (.listener, "LDS"), (.route, "RDS"), (.cluster, "CDS"), (.endpoint, "EDS"), (.secret, "SDS"),
    ]

    public let stream: ProxyStream
    public let types: [TypeStatus]
    public let status: RowStatus
    /// When the most recent of the versions sent went out, if the server says.
    public let lastSent: Date?

    public init(_ stream: ProxyStream) {
        self.stream = stream
        types = Self.columns.map { TypeStatus(stream.types[$0.0]) }
        var status: RowStatus = stream.types.isEmpty ? .stale : .synced
        for type in types {
            switch type {
            case .nacked: status = max(status, .nacked)
            case .stale: status = max(status, .stale)
            case .synced, .none: break
            }
        }
        self.status = status
        lastSent = stream.types.values.compactMap(\.sentAt).max()
    }

    /// `status`'s exit code: 0 when every stream is synced (or none is connected), 1 otherwise.
    public static func exitCode(_ rows: [FleetRow]) -> Int32 {
        rows.allSatisfy { $0.status == .synced } ? 0 : 1
    }

    /// How long ago the newest push was, as `45s`, `12m`, `3h` or `2d`; `-` when unknown.
    public func age(now: Date) -> String {
        guard let lastSent else { return "-" }
        return Self.duration(max(0, now.timeIntervalSince(lastSent)))
    }

    public static func duration(_ seconds: TimeInterval) -> String {
        let whole = Int(seconds)
        if whole < 120 { return "\(whole)s" }
        if whole < 2 * 3600 { return "\(whole / 60)m" }
        if whole < 2 * 86400 { return "\(whole / 3600)h" }
        return "\(whole / 86400)d"
    }
}
