import Foundation
import Logging
import Snapshot

/// What changed between two loads' certificate lists, one log line per certificate: added, removed, renewed (a new
/// serial or expiry) or a change of state (expired, kept at its last good version, broken). Key material never
/// appears: a `CertificateInfo` holds only the certificate's public facts.
enum CertificateChanges {
    struct Change: Equatable {
        enum Kind: String { case added, removed, renewed, state }
        let kind: Kind
        let info: CertificateInfo
    }

    static func between(_ before: [CertificateInfo], _ after: [CertificateInfo]) -> [Change] {
        let old = Dictionary(before.map { ($0.name, $0) }) { first, _ in first }
        let new = Dictionary(after.map { ($0.name, $0) }) { first, _ in first }
        var changes: [Change] = []
        for info in after {
            guard let previous = old[info.name] else {
                changes.append(Change(kind: .added, info: info))
                continue
            }
            if previous.serialNumber != info.serialNumber || previous.notAfter != info.notAfter {
                changes.append(Change(kind: .renewed, info: info))
            } else if previous.state != info.state {
                changes.append(Change(kind: .state, info: info))
            }
        }
        for info in before where new[info.name] == nil {
            changes.append(Change(kind: .removed, info: info))
        }
        return changes
    }

    static func log(_ changes: [Change], to logger: Logger) {
        let formatter = ISO8601DateFormatter()
        for change in changes {
            let info = change.info
            var metadata: Logger.Metadata = [
                "name": "\(info.name)", "change": "\(change.kind.rawValue)", "state": "\(info.state.rawValue)",
                "serial": "\(info.serialNumber)", "dns_names": "\(info.dnsNames.joined(separator: ","))",
            ]
            if let notAfter = info.notAfter { metadata["not_after"] = "\(formatter.string(from: notAfter))" }
            if let problem = info.problem { metadata["problem"] = "\(problem)" }
            let level: Logger.Level = info.state == .ok || change.kind == .removed ? .info : .warning
            logger.log(level: level, "certificate changed", metadata: metadata)
        }
    }
}
