import GRPCServer
import Prometheus
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// The counters and histograms the xDS server keeps, read back from a Prometheus registry of the test's own (never
/// the global `MetricsSystem`), after driving real streams through pushes, ACKs, NACKs and limits.
@Suite("Protocol: metrics")
struct MetricsProtocolTests {
    /// A registry, the factory over it, and the registry's page, parsed.
    struct Scrape {
        let registry = PrometheusCollectorRegistry()
        var factory: PrometheusMetricsFactory { PrometheusMetricsFactory(registry: registry) }
        var page: PrometheusText { PrometheusText(registry.emitToString()) }

        func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
            page.value(name, labels) ?? 0
        }
    }

    @Test func pushesAcksNacksAndConvergenceAreCountedByTypeAndGroup() async throws {
        let scrape = Scrape()
        let snapshot = XDSSnap.make(XDSSnap.base, groups: ["default", "edge"])
        try await withXDSServer(snapshot, metrics: XDSMetrics(factory: scrape.factory)) { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster, node: .envoy("m1", cluster: "edge")))
            let clusters = try await s.response()
            try await s.ack(clusters)
            try await s.send(.sotw(.endpoint, ["www"]))
            let endpoints = try await s.response()
            try await s.nack(endpoints, message: "bad endpoints")
            let cluster = ["type": "cluster", "group": "edge"]
            let endpoint = ["type": "endpoint", "group": "edge"]
            #expect(
                await xdsEventually {
                    scrape.value("chancery_xds_acks_total", cluster) == 1
                        && scrape.value("chancery_xds_nacks_total", endpoint) == 1
                }, "\(scrape.registry.emitToString())")
            #expect(scrape.value("chancery_xds_pushes_total", cluster) == 1)
            #expect(scrape.value("chancery_xds_pushes_total", endpoint) == 1)
            #expect(scrape.value("chancery_xds_acks_total", endpoint) == 0)
            #expect(scrape.value("chancery_xds_nacks_total", cluster) == 0)
            // Another group's counters are apart, and none were made for a group no proxy is in.
            #expect(scrape.page.value("chancery_xds_acks_total", ["group": "default"]) == nil)
            // One ACK timed for clusters; a NACK is not convergence.
            #expect(scrape.value("chancery_xds_ack_seconds_count", ["type": "cluster"]) == 1)
            #expect(scrape.value("chancery_xds_ack_seconds_count", ["type": "endpoint"]) == 0)
            #expect(scrape.value("chancery_xds_ack_seconds_sum", ["type": "cluster"]) > 0)

            // A publish is one more push, and its ACK one more ACK and one more observation.
            h.publish(
                XDSSnap.make(
                    XDSSnap.base.merging([.cluster: ["www": "2", "dav": ""]]) { $1 }, groups: ["default", "edge"]))
            let next = try await s.response()
            #expect(next.type == .cluster)
            try await s.ack(next)
            #expect(await xdsEventually { scrape.value("chancery_xds_acks_total", cluster) == 2 })
            #expect(scrape.value("chancery_xds_pushes_total", cluster) == 2)
            #expect(scrape.value("chancery_xds_ack_seconds_count", ["type": "cluster"]) == 2)
        }
    }

    @Test func deltaAcksAreCountedToo() async throws {
        let scrape = Scrape()
        try await withXDSServer(metrics: XDSMetrics(factory: scrape.factory)) { h in
            let s = try await h.open(XDSPath.deltaADS)
            try await s.send(.delta(.cluster, node: .default))
            try await s.ack(try await s.deltaResponse())
            let labels = ["type": "cluster", "group": "default"]
            #expect(await xdsEventually { scrape.value("chancery_xds_acks_total", labels) == 1 })
            #expect(scrape.value("chancery_xds_pushes_total", labels) == 1)
            #expect(scrape.value("chancery_xds_ack_seconds_count", ["type": "cluster"]) == 1)
        }
    }

    @Test func limitHitsAndOpenConnectionsAreCounted() async throws {
        let scrape = Scrape()
        var limits = XDSLimits()
        limits.maxNamesPerType = 2
        var configuration = GRPCServerConfiguration()
        configuration.metrics = ServerMetrics(factory: scrape.factory)
        try await withXDSServer(
            configuration: configuration, limits: limits, metrics: XDSMetrics(factory: scrape.factory)
        ) { h in
            let s = try await h.open()
            #expect(await xdsEventually { scrape.value("chancery_xds_connections") == 1 })
            try await s.send(.sotw(.endpoint, ["a", "b", "c"], node: .default))
            #expect(try await s.end().code == .resourceExhausted)
            #expect(scrape.value("chancery_xds_limit_hits_total", ["limit": "names_per_type"]) == 1)
            #expect(scrape.value("chancery_xds_limit_hits_total", ["limit": "subscription_budget"]) == 0)
            // Every limit has its series from the start, so a dashboard's rate() sees the first hit.
            #expect(scrape.page.value("chancery_xds_limit_hits_total", ["limit": "concurrent_streams"]) == 0)
            await h.closeClients()
            #expect(await xdsEventually { scrape.value("chancery_xds_connections") == 0 })
        }
    }
}
