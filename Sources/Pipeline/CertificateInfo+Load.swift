import Certs
import Foundation
import Snapshot

extension CertificateInfo {
    /// What `/status` lists for a load: every served certificate (current, expired or last good) and every broken
    /// one. Carries names, paths, dates and problems only, never key material.
    static func entries(
        served: [String: CertificateBundle], kept: [String: CertificateError],
        broken: [String: CertificateError], now: Date
    ) -> [CertificateInfo] {
        var entries: [CertificateInfo] = served.values.map { bundle in
            let state: CertificateInfo.State =
                kept[bundle.name] != nil ? .lastGood : (bundle.isExpired(at: now) ? .expired : .ok)
            return CertificateInfo(
                name: bundle.name, state: state, dnsNames: bundle.dnsNames, serialNumber: bundle.serialNumber,
                issuer: bundle.issuer, notAfter: bundle.notAfter, daysLeft: bundle.daysLeft(at: now),
                sourcePath: bundle.sourcePath, modified: bundle.modified, problem: kept[bundle.name]?.description)
        }
        for (name, error) in broken {
            entries.append(
                CertificateInfo(
                    name: name, state: .broken, dnsNames: [], serialNumber: "", issuer: "",
                    notAfter: nil, daysLeft: nil, sourcePath: error.path, modified: nil,
                    problem: error.description))
        }
        return entries.sorted { $0.name < $1.name }
    }
}

extension CertificateReport {
    /// Records the certificates of a load.
    public func update(with result: Loader.Result, now: Date = Date()) {
        set(CertificateInfo.entries(served: result.certificates, kept: result.kept, broken: result.broken, now: now))
    }

    /// Records certificates directly (tests and tools that did not run a whole load).
    public func update(
        served: [String: CertificateBundle], kept: [String: CertificateError],
        broken: [String: CertificateError], now: Date = Date()
    ) {
        set(CertificateInfo.entries(served: served, kept: kept, broken: broken, now: now))
    }
}
