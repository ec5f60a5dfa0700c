import Foundation
import Snapshot

/// The certificate list on `/status` and the expiry gauges on `/metrics`: what is served, from where, until when.
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

    static func metrics(_ report: CertificateReport) -> [String] {
        var lines = [
            "# HELP chancery_certificate_expired Whether a served certificate is past its notAfter (1) or not (0).",
            "# TYPE chancery_certificate_expired gauge",
        ]
        let entries = report.entries.filter { $0.notAfter != nil }
        for info in entries {
            lines.append("chancery_certificate_expired{name=\"\(label(info.name))\"} \(info.state == .expired ? 1 : 0)")
        }
        lines.append("# HELP chancery_certificate_not_after_seconds A served certificate's notAfter, Unix time.")
        lines.append("# TYPE chancery_certificate_not_after_seconds gauge")
        for info in entries {
            let seconds = Int(info.notAfter?.timeIntervalSince1970 ?? 0)
            lines.append("chancery_certificate_not_after_seconds{name=\"\(label(info.name))\"} \(seconds)")
        }
        lines.append("# HELP chancery_reload_stalled Whether a reload has been running longer than its deadline.")
        lines.append("# TYPE chancery_reload_stalled gauge")
        lines.append("chancery_reload_stalled \(report.stalledReload == nil ? 0 : 1)")
        return lines
    }

    private static func label(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
