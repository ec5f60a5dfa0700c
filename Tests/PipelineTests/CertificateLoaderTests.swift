import Certs
import Config
import Foundation
import Pipeline
import Snapshot
import TestSupport
import Testing
import Translate

/// One certificate's problem stays local: the load succeeds, and only what needs that certificate is left out.
@Suite("Certificate problems stay local")
struct CertificateLoaderTests {
    let site = "\(FixturePaths.fixtures)/example-site"
    let bad = "\(FixturePaths.fixtures)/bad/certs"

    /// A certificate directory whose `example.test` is a copy of `source` (a folder under Fixtures).
    func certs(withExampleFrom source: String) throws -> String {
        let dir = NSTemporaryDirectory() + "chancery-loader-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source, toPath: dir + "/example.test")
        return dir
    }

    func listeners(_ result: Loader.Result) throws -> [String] {
        let group = try #require(result.snapshot.group("default", mode: .ads))
        return group[.listener].sortedNames
    }

    @Test func expiredCertificateIsServedWithALoudWarning() throws {
        let dir = try certs(withExampleFrom: "\(bad)/expired")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Loader.load(configPath: "\(site)/routes.yaml", certsPath: dir)
        #expect(try listeners(result) == ["http", "https", "ssh"])
        #expect(result.skipped.isEmpty)
        let group = try #require(result.snapshot.group("default", mode: .ads))
        #expect(group[.secret].sortedNames == ["example.test"])
        #expect(
            result.warnings.contains { $0.hasPrefix("EXPIRED: certificate \"example.test\" expired on 2001-01-02") },
            "\(result.warnings)")
    }

    @Test func brokenCertificateLeavesOutOnlyItsListenerAndSaysWhy() throws {
        let dir = try certs(withExampleFrom: "\(bad)/key-mismatch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Loader.load(configPath: "\(site)/routes.yaml", certsPath: dir)
        #expect(try listeners(result) == ["http", "ssh"], "the redirect and the TCP listener stay")
        #expect(result.skipped.map(\.listener) == ["https"])
        let line = try #require(result.warnings.first { $0.contains("listener \"https\" left out") })
        #expect(line.contains("does not match the leaf certificate"), "\(line)")
        #expect(!line.contains("not in the certificate directory"), "\(line)")
        #expect(!line.contains("did you mean"), "\(line)")
    }

    @Test func absentCertificateKeepsTheDidYouMeanHint() throws {
        let dir = NSTemporaryDirectory() + "chancery-loader-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "\(site)/certs/example.test", toPath: dir + "/example.tset")
        let result = try Loader.load(configPath: "\(site)/routes.yaml", certsPath: dir)
        #expect(try listeners(result) == ["http", "ssh"])
        let line = try #require(result.warnings.first { $0.contains("listener \"https\" left out") })
        #expect(line.contains("is not in the certificate directory"), "\(line)")
        #expect(line.contains("did you mean \"example.tset\""), "\(line)")
    }

    /// A routed cluster whose upstream CA folder is missing: the load succeeds, the cluster stays (its routes
    /// answer 503) without endpoints and without TLS settings, which would name a secret the snapshot does not hold.
    @Test func aRoutedClusterWithAMissingUpstreamCAIsLoadedWithoutEndpoints() throws {
        let dir = NSTemporaryDirectory() + "chancery-loader-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/certs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "\(site)/certs/example.test", toPath: dir + "/certs/example.test")
        let yaml = """
            listeners:
              - name: https
                port: 8443
                tls: { certificate: example.test }
                hosts:
                  - domains: [nas.example.test]
                    routes: [{ prefix: /, cluster: nas }]
            clusters:
              - name: nas
                endpoints: [nas.lan:5001]
                tls: { ca: nas-ca, certificate: example.test }
            """
        try yaml.write(toFile: dir + "/routes.yaml", atomically: true, encoding: .utf8)
        let result = try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs")
        let group = try #require(result.snapshot.group("default", mode: .ads))
        #expect(group[.cluster].sortedNames == ["nas"])
        #expect(group[.secret].sortedNames == ["example.test"])
        #expect(result.skipped.map(\.cluster) == ["nas"])
        #expect(result.leftOut.count == 1)
        let line = try #require(result.leftOut.first)
        #expect(line.hasPrefix("\(dir)/routes.yaml:11:16: cluster \"nas\" gets no endpoints"), "\(line)")
        #expect(line.contains("upstream TLS needs nas-ca/ca.crt in the certificate directory"), "\(line)")
        #expect(line.components(separatedBy: "routes.yaml:").count == 2, "the position is said once: \(line)")
    }

    @Test func folderGoneForAMomentKeepsItsLastGoodVersion() throws {
        let dir = try certs(withExampleFrom: "\(site)/certs/example.test")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try Loader.load(configPath: "\(site)/routes.yaml", certsPath: dir)
        try FileManager.default.moveItem(atPath: dir + "/example.test", toPath: dir + "/.old")
        let during = try Loader.load(configPath: "\(site)/routes.yaml", certsPath: dir, lastGood: first.certificates)
        #expect(try listeners(during) == ["http", "https", "ssh"])
        #expect(during.snapshot.version == first.snapshot.version)
        #expect(during.warnings.contains { $0.contains("serving its last good version") })
    }

    /// The periodic rescan reloads only when this digest moves: same files, same digest; a renewal moves it.
    @Test func inputDigestFollowsContentOnly() throws {
        let dir = try certs(withExampleFrom: "\(site)/certs/example.test")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try Loader.read(configPath: "\(site)/routes.yaml", certsPath: dir)
        let again = try Loader.read(configPath: "\(site)/routes.yaml", certsPath: dir)
        #expect(first.digest == again.digest)
        // Rewritten with the same bytes (a touch, a copy): no change.
        let crt = dir + "/example.test/tls.crt"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: crt))
        try bytes.write(to: URL(fileURLWithPath: crt))
        #expect(try Loader.read(configPath: "\(site)/routes.yaml", certsPath: dir).digest == first.digest)
        // Another certificate in its place: a change.
        try FileManager.default.removeItem(atPath: dir + "/example.test")
        try FileManager.default.copyItem(atPath: "\(bad)/expired", toPath: dir + "/example.test")
        #expect(try Loader.read(configPath: "\(site)/routes.yaml", certsPath: dir).digest != first.digest)
    }

    @Test func oversizeRoutesFileIsRefusedBeforeReading() throws {
        let dir = NSTemporaryDirectory() + "chancery-loader-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/routes.yaml"
        try FileManager.default.copyItem(atPath: "\(site)/routes.yaml", toPath: path)
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        do {
            _ = try Loader.load(
                configPath: path, certsPath: "\(site)/certs",
                limits: Loader.Limits(maxConfigBytes: size - 1))
            Issue.record("a routes file over the cap was loaded")
        } catch {
            // Typed up to here: the kind of failure, then the line printed for it.
            guard case .unreadable(let failedPath, let failure) = error else {
                Issue.record("expected an unreadable routes file, got \(error)")
                return
            }
            #expect(failedPath == path && failure.kind == .tooLarge)
            #expect(error.lines.count == 1)
            #expect(
                error.lines.first?.contains("file is too large (\(size) bytes, limit \(size - 1) bytes)") == true,
                "\(error)")
        }
        #expect(throws: Never.self) {
            try Loader.load(configPath: path, certsPath: "\(site)/certs", limits: Loader.Limits(maxConfigBytes: size))
        }
    }

    @Test func selectionDropsOnlyTheHostWhoseOverrideIsUnusable() throws {
        let yaml = """
            listeners:
              - name: https
                port: 8443
                tls: { certificate: main }
                hosts:
                  - name: a
                    domains: [a.test]
                    routes: [{ prefix: /, cluster: c }]
                  - name: b
                    domains: [b.test]
                    certificate: other
                    routes: [{ prefix: /, cluster: c }]
            clusters:
              - name: c
                endpoints: [127.0.0.1:1]
            """
        let config = try RoutesFile.parse(yaml, file: "routes.yaml")
        let (kept, skipped) = CertificateSelection.apply(config, usable: ["main"])
        #expect(kept.listeners.count == 1)
        guard case .http(let http) = kept.listeners[0].kind else {
            Issue.record("not http")
            return
        }
        #expect(http.hosts.map(\.name) == ["a"])
        #expect(skipped.map(\.host) == ["b"])
        #expect(skipped.first?.certificate == "other")
        #expect(CertificateSelection.apply(config, usable: []).config.listeners.isEmpty)
    }
}
