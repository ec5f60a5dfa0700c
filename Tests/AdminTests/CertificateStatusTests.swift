import Certs
import Foundation
import Pipeline
import Snapshot
import TestSupport
import Testing

@testable import Admin
@testable import XDS

/// `/status` lists every certificate with its expiry and where it really lives; `/metrics` flags expired ones.
@Suite struct CertificateStatusTests {
    @Test func statusListsCertificatesAndMetricsFlagExpiry() throws {
        let site = "\(FixturePaths.fixtures)/example-site/certs"
        let bad = "\(FixturePaths.fixtures)/bad/certs"
        let good = CertificateDirectory.scan(path: site)
        let broken = CertificateDirectory.scan(path: bad)
        var served = good.bundles
        served["expired"] = try #require(broken.bundles["expired"])
        let store = SnapshotStore()
        store.certificates.update(
            served: served, kept: [:], broken: ["mismatch": try #require(broken.broken["key-mismatch"])])
        let admin = AdminPages(store: store, registry: StreamRegistry(), groupGuard: GroupGuard())

        let status = try #require(
            try JSONSerialization.jsonObject(with: Data(admin.page(for: "/status").body.utf8))
                as? [String: Any])
        let list = try #require(status["certificates"] as? [[String: Any]])
        #expect(list.map { $0["name"] as? String } == ["example.test", "expired", "mismatch"])
        let example = list[0]
        let bundle = try #require(good.bundles["example.test"])
        #expect(example["state"] as? String == "ok")
        #expect(example["serial"] as? String == bundle.serialNumber)
        #expect(example["dns_names"] as? [String] == ["example.test", "*.example.test"])
        #expect((example["days_left"] as? Int ?? 0) > 30000)
        #expect(example["source_path"] as? String == "\(site)/example.test/tls.crt")
        #expect((example["issuer"] as? String)?.contains("example.test") == true)
        #expect(example["not_after"] is String && example["last_change"] is String)
        #expect(list[1]["state"] as? String == "expired")
        #expect((list[1]["days_left"] as? Int ?? 0) < 0)
        #expect(list[2]["state"] as? String == "broken")
        #expect((list[2]["problem"] as? String)?.contains("does not match") == true)
        #expect(!admin.page(for: "/status").body.contains("PRIVATE KEY"))

        let metrics = PrometheusText(admin.page(for: "/metrics").body)
        #expect(metrics.value("chancery_certificate_expired", ["name": "expired"]) == 1)
        #expect(metrics.value("chancery_certificate_expired", ["name": "example.test"]) == 0)
        #expect(metrics.value("chancery_reload_stalled") == 0)
        let notAfter = try #require(list[0]["not_after"] as? String)
        let expiry = try #require(ISO8601DateFormatter().date(from: notAfter))
        #expect(
            metrics.value("chancery_certificate_not_after_seconds", ["name": "example.test"])
                == expiry.timeIntervalSince1970)
        // The broken one has no expiry to show.
        #expect(metrics.value("chancery_certificate_not_after_seconds", ["name": "mismatch"]) == nil)

        // A certificate no longer served leaves the page instead of lingering at its last value.
        store.certificates.update(served: good.bundles, kept: [:], broken: [:])
        let after = PrometheusText(admin.page(for: "/metrics").body)
        #expect(after.value("chancery_certificate_expired", ["name": "expired"]) == nil)
        #expect(after.value("chancery_certificate_not_after_seconds", ["name": "expired"]) == nil)
        #expect(after.value("chancery_certificate_expired", ["name": "example.test"]) == 0)
    }
}
