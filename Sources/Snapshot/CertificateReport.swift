import Certs
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

    /// Records the certificates of a load: the served ones and the broken ones.
    public func update(served: [String: CertificateBundle], kept: [String: CertificateError], broken: [String: CertificateError],
                       now: Date = Date()) {
        var entries: [CertificateInfo] = served.values.map { bundle in
            let state: CertificateInfo.State =
                kept[bundle.name] != nil ? .lastGood : (bundle.isExpired(at: now) ? .expired : .ok)
            return CertificateInfo(
                name: bundle.name, state: state, dnsNames: bundle.dnsNames, serialNumber: bundle.serialNumber,
                issuer: bundle.issuer, notAfter: bundle.notAfter, daysLeft: bundle.daysLeft(at: now),
                sourcePath: bundle.sourcePath, modified: bundle.modified, problem: kept[bundle.name]?.description)
        }
        for (name, error) in broken {
            entries.append(CertificateInfo(name: name, state: .broken, dnsNames: [], serialNumber: "", issuer: "",
                                           notAfter: nil, daysLeft: nil, sourcePath: error.path, modified: nil,
                                           problem: error.description))
        }
        entries.sort { $0.name < $1.name }
        state.withLock { $0.entries = entries }
    }
}
