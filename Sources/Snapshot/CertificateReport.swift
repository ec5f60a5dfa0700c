import Foundation
import Synchronization

/// What an operator needs to know about one certificate: which one is served, from where, and until when.
public struct CertificateInfo: Hashable, Sendable {
    public enum State: String, Hashable, Sendable {
        /// Loaded from the current files and within its validity window.
        case ok
        /// Served, but its notAfter has passed: renew it.
        case expired
        /// The current files are broken; the last good version is still served.
        case lastGood = "last_good"
        /// Present but unusable with no earlier version: what needs it is left out.
        case broken
    }

    public var name: String
    public var state: State
    public var dnsNames: [String]
    public var serialNumber: String
    public var issuer: String
    public var notAfter: Date?
    public var daysLeft: Int?
    /// The chain file after following every link.
    public var sourcePath: String
    public var modified: Date?
    /// The current problem, for `lastGood` and `broken` (never key material).
    public var problem: String?

    public init(
        name: String, state: State, dnsNames: [String], serialNumber: String, issuer: String, notAfter: Date?,
        daysLeft: Int?, sourcePath: String, modified: Date?, problem: String?
    ) {
        self.name = name
        self.state = state
        self.dnsNames = dnsNames
        self.serialNumber = serialNumber
        self.issuer = issuer
        self.notAfter = notAfter
        self.daysLeft = daysLeft
        self.sourcePath = sourcePath
        self.modified = modified
        self.problem = problem
    }
}

/// The certificates of the last load, for `/status` and `/metrics`; updated by whoever loads.
public final class CertificateReport: Sendable {
    private struct State {
        var entries: [CertificateInfo] = []
        var stalledReload: String?
    }

    private let state = Mutex(State())

    public init() {}

    public var entries: [CertificateInfo] { state.withLock { $0.entries } }
    /// Set while a reload has been running longer than its deadline: what it is and since when.
    public var stalledReload: String? { state.withLock { $0.stalledReload } }

    public func setStalledReload(_ text: String?) { state.withLock { $0.stalledReload = text } }

    /// Replaces the entries with those of the latest load (sorted by name here).
    public func set(_ entries: [CertificateInfo]) {
        let sorted = entries.sorted { $0.name < $1.name }
        state.withLock { $0.entries = sorted }
    }
}
