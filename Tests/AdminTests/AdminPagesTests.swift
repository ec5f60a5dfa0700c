import CoreMetrics
import Foundation
import Pipeline
import Snapshot
import TestSupport
import Testing

@testable import Admin
@testable import XDS

/// The admin endpoint's pages, rendered straight from a store and a registry.
@Suite struct AdminPagesTests {
    func pages(loaded: Bool = true) throws -> (AdminPages, SnapshotStore, StreamRegistry) {
        let store = SnapshotStore()
        if loaded {
            let dir = "\(FixturePaths.fixtures)/example-site"
            store.publish(try Loader.load(configPath: "\(dir)/routes.yaml", certsPath: "\(dir)/certs").snapshot)
        }
        let registry = StreamRegistry()
        return (AdminPages(store: store, registry: registry, groupGuard: GroupGuard()), store, registry)
    }

    @Test func readinessFollowsTheFirstSnapshot() throws {
        let (empty, _, _) = try pages(loaded: false)
        #expect(empty.page(for: "/readyz").status == .serviceUnavailable)
        #expect(empty.page(for: "/healthz").status == .ok)
        let (loaded, _, _) = try pages()
        #expect(loaded.page(for: "/readyz").status == .ok)
    }

    @Test func snapshotPageRedactsTheKeyAndCarriesVersions() throws {
        let (admin, store, _) = try pages()
        let page = admin.page(for: "/snapshot")
        #expect(page.contentType == "application/json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(page.body.utf8)) as? [String: Any])
        #expect(json["version"] as? String == store.current.version)
        #expect(page.body.contains("[redacted]"))
        #expect(!page.body.contains("PRIVATE KEY"))
    }

    @Test func clientsPageShowsNacks() throws {
        let (admin, _, registry) = try pages()
        var info = StreamInfo(
            id: 7, nodeID: "edge-1", group: "default", kind: "ads", peer: "127.0.0.1:5000",
            userAgent: "envoy 1.40.0", connectedAt: Date())
        var listener = StreamInfo.TypeInfo()
        listener.sentVersion = "b"
        listener.ackedVersion = "a"
        listener.nackedVersion = "b"
        listener.nackMessage = "cannot bind"
        info.types[.listener] = listener
        registry.upsert(info)
        let body = admin.page(for: "/clients").body
        let clients = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])
        let types = try #require(clients.first?["types"] as? [String: Any])
        let entry = try #require(types["listener"] as? [String: Any])
        #expect(entry["acked_version"] as? String == "a")
        #expect((entry["last_nack"] as? [String: Any])?["message"] as? String == "cannot bind")
    }

    @Test func metricsAreValidPrometheusText() throws {
        let (admin, _, registry) = try pages()
        registry.upsert(
            StreamInfo(
                id: 1, nodeID: "n", group: "default", kind: "ads-delta", peer: nil, userAgent: "",
                connectedAt: Date()))
        let page = admin.page(for: "/metrics")
        #expect(page.contentType == "text/plain; version=0.0.4")
        let metrics = PrometheusText(page.body)
        #expect(metrics.value("chancery_streams", ["group": "default", "kind": "ads-delta"]) == 1)
        #expect(metrics.value("chancery_config_ok") == 1)
        #expect(page.body.contains("# TYPE chancery_streams gauge"))
        #expect(page.body.contains("# HELP chancery_config_ok "))
        for line in page.body.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2, "\(line)")
        }
        // The stream closes: its series goes, rather than staying at 1.
        registry.remove(1)
        #expect(PrometheusText(admin.page(for: "/metrics").body).value("chancery_streams") == nil)
    }

    @Test func metricsPageRendersTheSharedRegistryAndTheAdminCounters() throws {
        let store = SnapshotStore()
        let exposition = MetricsExposition()
        let counters = AdminCounters()
        let admin = AdminPages(
            store: store, registry: StreamRegistry(), groupGuard: nil, counters: counters, metrics: exposition)
        // What another module counted through the factory shows on the same page.
        Counter(label: "chancery_test_events_total", dimensions: [("kind", "x")], factory: exposition.factory)
            .increment(by: 3)
        counters.update { stats in
            stats.openConnections = 2
            stats.rejectedConnections = 5
            stats.idleTimeouts = 1
        }
        var metrics = PrometheusText(admin.page(for: "/metrics").body)
        #expect(metrics.value("chancery_test_events_total", ["kind": "x"]) == 3)
        #expect(metrics.value("chancery_config_ok") == 0)
        #expect(metrics.value("chancery_admin_connections") == 2)
        #expect(metrics.value("chancery_admin_rejected_connections_total") == 5)
        #expect(metrics.value("chancery_admin_timeouts_total", ["kind": "idle"]) == 1)
        #expect(metrics.value("chancery_admin_timeouts_total", ["kind": "header"]) == 0)
        // Counters carry the admin's totals, however many scrapes read them.
        counters.update { $0.rejectedConnections = 7 }
        _ = admin.page(for: "/metrics")
        metrics = PrometheusText(admin.page(for: "/metrics").body)
        #expect(metrics.value("chancery_admin_rejected_connections_total") == 7)
    }

    @Test func statusShowsTheLastFailure() throws {
        let (admin, store, _) = try pages()
        store.recordFailure(["routes.yaml:3:5: bad"])
        let status = try #require(
            try JSONSerialization.jsonObject(with: Data(admin.page(for: "/status").body.utf8))
                as? [String: Any])
        #expect(status["ok"] as? Bool == false)
        #expect(status["errors"] as? [String] == ["routes.yaml:3:5: bad"])
        #expect(admin.page(for: "/nope").status == .notFound)
    }
}
