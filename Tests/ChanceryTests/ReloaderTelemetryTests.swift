import Foundation
import Prometheus
import Snapshot
import TestSupport
import Testing

@testable import chancery

/// What a reload counts and logs: loads, refusals with their first error, build time, certificate changes.
@Suite struct ReloaderTelemetryTests {
    /// A copy of the example site in a fresh directory, so the test can break its routes file.
    func site() throws -> (routes: String, certs: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reloader-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let source = FixturePaths.path("example-site")
        try FileManager.default.copyItem(atPath: "\(source)/routes.yaml", toPath: "\(dir)/routes.yaml")
        try FileManager.default.copyItem(atPath: "\(source)/certs", toPath: "\(dir)/certs")
        return ("\(dir)/routes.yaml", "\(dir)/certs")
    }

    @Test func reloadsErrorsAndBuildTimeAreCountedAndLogged() throws {
        let (routes, certs) = try site()
        defer { try? FileManager.default.removeItem(atPath: (routes as NSString).deletingLastPathComponent) }
        let registry = PrometheusCollectorRegistry()
        let telemetry = Telemetry(registry: registry)
        let captured = CapturedLines()
        let store = SnapshotStore()
        let reloader = Reloader(
            configPath: routes, certsPath: certs, store: store, logger: captured.logger(),
            metrics: telemetry.reloads)
        func page() -> PrometheusText { PrometheusText(registry.emitToString()) }

        #expect(reloader.reload())
        var metrics = page()
        #expect(metrics.value("chancery_reloads_total") == 1)
        #expect(metrics.value("chancery_reload_errors_total") == 0)
        #expect(metrics.value("chancery_snapshot_build_seconds_count") == 1)
        #expect((metrics.value("chancery_snapshot_build_seconds_sum") ?? 0) > 0)
        var lines = captured.objects()
        let published = try #require(lines.first { $0["message"] as? String == "published snapshot" })
        #expect(published["version"] as? String == store.current.version)
        let added = try #require(lines.first { $0["message"] as? String == "certificate changed" })
        #expect(added["name"] as? String == "example.test")
        #expect(added["change"] as? String == "added")
        #expect(added["serial"] is String && added["not_after"] is String)

        // A rescan of unchanged inputs is not a load.
        #expect(reloader.reload(.rescan))
        #expect(page().value("chancery_reloads_total") == 1)

        try Data("listeners: [unclosed\n".utf8).write(to: URL(fileURLWithPath: routes))
        #expect(!reloader.reload(.fileEvent))
        metrics = page()
        #expect(metrics.value("chancery_reloads_total") == 2)
        #expect(metrics.value("chancery_reload_errors_total") == 1)
        #expect(metrics.value("chancery_snapshot_build_seconds_count") == 1)
        lines = captured.objects()
        let refused = lines.filter { ($0["message"] as? String)?.hasPrefix("reload refused") == true }
        #expect(refused.count == 1)
        let first = try #require(store.status.errors.first)
        #expect(refused.first?["error"] as? String == first)
        #expect(refused.first?["level"] as? String == "error")
        #expect(refused.first?["trigger"] as? String == "file change")
        #expect(!captured.all.joined().contains("PRIVATE KEY"))
    }

    @Test func certificateChangesNameWhatChanged() {
        func info(_ name: String, serial: String, state: CertificateInfo.State = .ok) -> CertificateInfo {
            CertificateInfo(
                name: name, state: state, dnsNames: [name], serialNumber: serial, issuer: "ca",
                notAfter: Date(timeIntervalSince1970: 2_000_000_000), daysLeft: 100, sourcePath: "/c/\(name)",
                modified: nil, problem: nil)
        }
        let before = [info("a", serial: "1"), info("b", serial: "1"), info("c", serial: "1")]
        let after = [
            info("a", serial: "1"), info("b", serial: "2"), info("c", serial: "1", state: .lastGood),
            info("d", serial: "9"),
        ]
        let changes = CertificateChanges.between(before, after).map { "\($0.kind.rawValue) \($0.info.name)" }
        #expect(changes == ["renewed b", "state c", "added d"])
        #expect(
            CertificateChanges.between(after, [info("a", serial: "1")]).map(\.kind) == [.removed, .removed, .removed])
        #expect(CertificateChanges.between(before, before).isEmpty)
    }
}
