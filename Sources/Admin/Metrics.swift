import Prometheus
import Snapshot
import Synchronization
import XDS

/// The `/metrics` page: one Prometheus registry, rendered by swift-prometheus.
///
/// Counters and histograms on the hot paths (xDS pushes, ACKs, limits, reloads) are fed through `factory` by the
/// modules that count them, as swift-metrics handlers. What is a state rather than an event (streams by group and
/// kind, certificate expiries, the last load) is read at scrape time into gauges here, from the bounded stream summary
/// and the store, so no proxy's request pays for it.
public final class MetricsExposition: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory over `registry`, with duration buckets that fit both a snapshot build
    /// (milliseconds) and a slow proxy's ACK (up to a minute).
    public let factory: PrometheusMetricsFactory
    /// Scrapes come from the admin's one event loop, but tests may render from anywhere.
    private let scrape: Mutex<ScrapeState>

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        self.factory = factory
        self.scrape = Mutex(ScrapeState(registry))
    }

    /// Refreshes the scrape-time gauges from `store`, `summary` and `admin`, then renders the whole registry.
    func render(_ store: SnapshotStore, _ summary: StreamSummary, admin: AdminStats? = nil) -> String {
        scrape.withLock { $0.refresh(store, summary, admin: admin) }
        return registry.emitToString()
    }
}

/// The gauges set at scrape time, and the admin counters' values already added to their Prometheus counters.
private struct ScrapeState {
    let streams: GaugeFamily
    let certificateExpired: GaugeFamily
    let certificateNotAfter: GaugeFamily
    let nacking: Gauge
    let configOK: Gauge
    let snapshots: Gauge
    let reloadStalled: Gauge
    let registry: PrometheusCollectorRegistry
    /// Made on the first scrape that has admin stats (an admin without its own counters shows none).
    var admin: AdminMetrics?

    init(_ registry: PrometheusCollectorRegistry) {
        self.registry = registry
        streams = GaugeFamily(
            registry, "chancery_streams", help: "Open xDS streams (connected proxies) by group and stream kind.",
            labels: ["group", "kind"])
        certificateExpired = GaugeFamily(
            registry, "chancery_certificate_expired",
            help: "Whether a served certificate is past its notAfter (1) or not (0).", labels: ["name"])
        certificateNotAfter = GaugeFamily(
            registry, "chancery_certificate_not_after_seconds",
            help: "A served certificate's notAfter, Unix time.", labels: ["name"])
        nacking = registry.makeGauge(
            name: "chancery_streams_nacking", help: "Streams whose last response for some type was rejected.")
        configOK = registry.makeGauge(
            name: "chancery_config_ok", help: "Whether the last load of the routes file and certificates succeeded.")
        snapshots = registry.makeGauge(name: "chancery_snapshots_published", help: "Snapshots kept in history.")
        reloadStalled = registry.makeGauge(
            name: "chancery_reload_stalled", help: "Whether a reload has been running longer than its deadline.")
    }

    mutating func refresh(_ store: SnapshotStore, _ summary: StreamSummary, admin stats: AdminStats?) {
        var byGroupAndKind: [[String]: Double] = [:]
        for entry in summary.entries { byGroupAndKind[[entry.info.group, entry.info.kind], default: 0] += 1 }
        streams.set(byGroupAndKind)
        nacking.set(to: Double(summary.everNacked))
        configOK.set(to: store.status.ok ? 1 : 0)
        snapshots.set(to: Double(store.history.count))
        var expired: [[String]: Double] = [:]
        var notAfter: [[String]: Double] = [:]
        for info in store.certificates.entries {
            guard let date = info.notAfter else { continue }
            expired[[info.name]] = info.state == .expired ? 1 : 0
            notAfter[[info.name]] = date.timeIntervalSince1970.rounded(.down)
        }
        certificateExpired.set(expired)
        certificateNotAfter.set(notAfter)
        reloadStalled.set(to: store.certificates.stalledReload == nil ? 0 : 1)
        if let stats {
            if admin == nil { admin = AdminMetrics(registry) }
            admin?.refresh(stats)
        }
    }
}

/// One labelled gauge family whose label sets come and go: a set no longer present is unregistered, so a removed
/// group or certificate disappears from the page instead of lingering at its last value.
private final class GaugeFamily {
    let registry: PrometheusCollectorRegistry
    let name: String
    let help: String
    let labels: [String]
    var gauges: [[String]: Gauge] = [:]

    init(_ registry: PrometheusCollectorRegistry, _ name: String, help: String, labels: [String]) {
        self.registry = registry
        self.name = name
        self.help = help
        self.labels = labels
    }

    /// Sets every given label set's value, keyed by label values in `labels` order.
    func set(_ values: [[String]: Double]) {
        for (key, gauge) in gauges where values[key] == nil {
            registry.unregisterGauge(gauge)
            gauges[key] = nil
        }
        for (key, value) in values {
            let gauge =
                gauges[key] ?? registry.makeGauge(name: name, labels: Array(zip(labels, key)), help: help)
            gauges[key] = gauge
            gauge.set(to: value)
        }
    }
}

/// The admin server's own limits, as counters: `AdminCounters` keeps plain totals, added here by difference.
private struct AdminMetrics {
    let connections: Gauge
    let rejected: Counter
    let headerTimeouts: Counter
    let idleTimeouts: Counter
    let refused: Counter
    var added = AdminStats()

    init(_ registry: PrometheusCollectorRegistry) {
        connections = registry.makeGauge(name: "chancery_admin_connections", help: "Open admin connections.")
        rejected = registry.makeCounter(
            name: "chancery_admin_rejected_connections_total", help: "Admin connections closed at the connection cap.")
        let timeouts = "Admin connections closed by a timeout."
        headerTimeouts = registry.makeCounter(
            name: "chancery_admin_timeouts_total", labels: [("kind", "header")], help: timeouts)
        idleTimeouts = registry.makeCounter(
            name: "chancery_admin_timeouts_total", labels: [("kind", "idle")], help: timeouts)
        refused = registry.makeCounter(
            name: "chancery_admin_refused_requests_total",
            help: "Admin requests refused (head too large, body, bad).")
    }

    mutating func refresh(_ stats: AdminStats) {
        connections.set(to: Double(stats.openConnections))
        rejected.increment(by: Int64(max(0, stats.rejectedConnections - added.rejectedConnections)))
        headerTimeouts.increment(by: Int64(max(0, stats.headerTimeouts - added.headerTimeouts)))
        idleTimeouts.increment(by: Int64(max(0, stats.idleTimeouts - added.idleTimeouts)))
        refused.increment(by: Int64(max(0, stats.refusedRequests - added.refusedRequests)))
        added = stats
    }
}
