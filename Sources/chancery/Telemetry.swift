import Admin
import CoreMetrics
import GRPCServer
import Prometheus
import XDS

/// Every metric `serve` keeps, over one Prometheus registry made here (never the global `MetricsSystem`): each
/// module gets the swift-metrics factory or the handlers it counts with, and the admin renders the registry.
struct Telemetry {
    let exposition: MetricsExposition
    let xds: XDSMetrics
    let server: ServerMetrics
    let reloads: ReloadMetrics

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        exposition = MetricsExposition(registry: registry)
        xds = XDSMetrics(factory: exposition.factory)
        server = ServerMetrics(factory: exposition.factory)
        reloads = ReloadMetrics(factory: exposition.factory)
    }
}

/// What the reloader counts: loads, failed loads, and how long reading and building a snapshot took.
struct ReloadMetrics: Sendable {
    /// Loads that read the inputs and built (or failed to build) a snapshot; a periodic rescan that found the
    /// inputs unchanged is not one.
    let reloads: CoreMetrics.Counter
    /// Loads refused: the routes file or certificates did not load, or the Envoy check refused the result.
    let errors: CoreMetrics.Counter
    /// Seconds from reading the inputs to a snapshot ready to publish.
    let build: CoreMetrics.Timer

    init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        reloads = CoreMetrics.Counter(label: "chancery_reloads_total", dimensions: [], factory: factory)
        errors = CoreMetrics.Counter(label: "chancery_reload_errors_total", dimensions: [], factory: factory)
        build = CoreMetrics.Timer(label: "chancery_snapshot_build_seconds", dimensions: [], factory: factory)
    }
}
