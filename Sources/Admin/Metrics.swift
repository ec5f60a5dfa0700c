import Snapshot
import XDS

/// Prometheus text exposition of the few numbers an operator alerts on.
enum Metrics {
    /// Stream counts come from `summary` (refreshed at most every second), never from a walk of every stream.
    static func render(_ store: SnapshotStore, _ summary: StreamSummary, admin: AdminStats? = nil) -> String {
        let status = store.status
        let nacking = summary.everNacked
        var lines: [String] = []
        lines.append("# HELP chancery_streams Open xDS streams.")
        lines.append("# TYPE chancery_streams gauge")
        let byKind = summary.countByKind
        for (kind, count) in byKind.sorted(by: { $0.key < $1.key }) {
            lines.append("chancery_streams{kind=\"\(kind)\"} \(count)")
        }
        if byKind.isEmpty { lines.append("chancery_streams{kind=\"ads\"} 0") }
        lines.append("# HELP chancery_streams_nacking Streams whose last response for some type was rejected.")
        lines.append("# TYPE chancery_streams_nacking gauge")
        lines.append("chancery_streams_nacking \(nacking)")
        lines.append("# HELP chancery_config_ok Whether the last load of the routes file and certificates succeeded.")
        lines.append("# TYPE chancery_config_ok gauge")
        lines.append("chancery_config_ok \(status.ok ? 1 : 0)")
        lines.append("# HELP chancery_snapshots_published Snapshots kept in history.")
        lines.append("# TYPE chancery_snapshots_published gauge")
        lines.append("chancery_snapshots_published \(store.history.count)")
        lines += CertificatesPage.metrics(store.certificates)
        if let admin {
            lines.append("# HELP chancery_admin_connections Open admin connections.")
            lines.append("# TYPE chancery_admin_connections gauge")
            lines.append("chancery_admin_connections \(admin.openConnections)")
            lines.append(
                "# HELP chancery_admin_rejected_connections_total Admin connections closed at the connection cap.")
            lines.append("# TYPE chancery_admin_rejected_connections_total counter")
            lines.append("chancery_admin_rejected_connections_total \(admin.rejectedConnections)")
            lines.append("# HELP chancery_admin_timeouts_total Admin connections closed by a timeout.")
            lines.append("# TYPE chancery_admin_timeouts_total counter")
            lines.append("chancery_admin_timeouts_total{kind=\"header\"} \(admin.headerTimeouts)")
            lines.append("chancery_admin_timeouts_total{kind=\"idle\"} \(admin.idleTimeouts)")
            lines.append(
                "# HELP chancery_admin_refused_requests_total Admin requests refused (head too large, body, bad).")
            lines.append("# TYPE chancery_admin_refused_requests_total counter")
            lines.append("chancery_admin_refused_requests_total \(admin.refusedRequests)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
