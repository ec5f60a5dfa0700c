import Foundation
import Snapshot

/// The certificate list on `/status`: what is served, from where, until when (`/metrics` has the expiry gauges).
enum CertificatesPage {
    static func json(_ report: CertificateReport) -> [[String: Any]] {
        let formatter = ISO8601DateFormatter()
        return report.entries.map { info in
            var entry: [String: Any] = [
                "name": info.name, "state": info.state.rawValue, "dns_names": info.dnsNames,
                "serial": info.serialNumber, "issuer": info.issuer, "source_path": info.sourcePath,
            ]
            if let notAfter = info.notAfter { entry["not_after"] = formatter.string(from: notAfter) }
            if let days = info.daysLeft { entry["days_left"] = days }
            if let modified = info.modified { entry["last_change"] = formatter.string(from: modified) }
            if let problem = info.problem { entry["problem"] = problem }
            return entry
        }
    }
}
