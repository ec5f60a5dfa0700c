import Snapshot
import XDS

/// Prometheus text exposition of the few numbers an operator alerts on.
enum Metrics {
    static func render(_ store: SnapshotStore, _ registry: StreamRegistry) -> String {
        let streams = registry.all
        let status = store.status
        let nacking = streams.filter { stream in stream.types.values.contains { $0.nackedVersion != nil } }.count
        var lines: [String] = []
        lines.append("# HELP chancery_streams Open xDS streams.")
        lines.append("# TYPE chancery_streams gauge")
        var byKind: [String: Int] = [:]
        for stream in streams { byKind[stream.kind, default: 0] += 1 }
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
        return lines.joined(separator: "\n") + "\n"
    }
}
