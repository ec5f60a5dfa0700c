import Foundation
import TestSupport
import Testing

@testable import Certs
@testable import Config

/// `tls.client_certificates` / `tls.client_ca` in the routes file, and `DIR/NAME/ca.crt` in the cert directory.
@Suite("Client certificates")
struct ClientCertificateTests {
    static func yaml(_ tlsLines: String) -> String {
        """
        listeners:
          - name: web
            port: 8443
            tls:
              certificate: example.test
        \(tlsLines)
            hosts:
              - domains: [example.com]
                routes:
                  - prefix: /
                    cluster: app
        clusters:
          - name: app
            endpoints: [127.0.0.1:9000]
        """
    }

    func tls(_ config: RoutesConfig?) -> TLSSettings? {
        guard case .http(let http)? = config?.listeners.first?.kind else { return nil }
        return http.tls
    }

    @Test func requiredDefaultsToTheServingCertificatesFolder() throws {
        let settings = try #require(tls(parseValid(Self.yaml("      client_certificates: required"))))
        #expect(settings.clientCertificates == .required)
        #expect(settings.trustedCA == "example.test")
        #expect(settings.clientCAPosition?.line == 6)
    }

    @Test func optionalWithAnotherFolder() throws {
        let settings = try #require(
            tls(
                parseValid(
                    Self.yaml(
                        "      client_certificates: optional\n      client_ca: clients"))))
        #expect(settings.clientCertificates == .optional)
        #expect(settings.trustedCA == "clients")
        #expect(settings.clientCAPosition?.line == 7 && settings.clientCAPosition?.column == 18)
    }

    @Test func withoutTheKeyNoClientCertificateIsAskedFor() throws {
        let settings = try #require(tls(parseValid(Self.yaml(""))))
        #expect(settings.clientCertificates == nil && settings.trustedCA == nil)
    }

    @Test func unknownModeSuggestsTheNearestOne() {
        expectSingleError(
            Self.yaml("      client_certificates: requird"), .invalidValue,
            key: "listeners[0].tls.client_certificates", line: 6, column: 28,
            messageContains: "\"client_certificates\" is \"requird\"; expected required or optional",
            hintContains: "did you mean \"required\"?")
    }

    @Test func misspeltKeyGetsDidYouMean() {
        expectSingleError(
            Self.yaml("      client_certificate: required"), .unknownKey,
            key: "listeners[0].tls.client_certificate", line: 6, column: 7,
            hintContains: "client_certificates")
    }

    @Test func clientCAWithoutClientCertificatesIsRefused() {
        expectSingleError(
            Self.yaml("      client_ca: clients"), .invalidValue,
            key: "listeners[0].tls.client_ca", line: 6, column: 18,
            messageContains: "\"client_ca\" only applies with \"client_certificates\"")
    }

    @Test func missingCAFolderIsReportedWhereItIsNamed() throws {
        let config = try #require(
            parseValid(
                Self.yaml(
                    "      client_certificates: required\n      client_ca: client")))
        let errors = RoutesFile.checkClientAuthorities(config, available: ["clients"])
        #expect(
            errors.map(\.description) == [
                "routes.yaml:7:18: client certificates need client/ca.crt in the certificate directory, which is "
                    + "missing or not valid "
                    + "(did you mean \"clients\"?)"
            ], "\(errors)")
        #expect(errors.first?.key == "listeners[0].tls.client_ca")
        #expect(RoutesFile.checkClientAuthorities(config, available: ["client"]).isEmpty)
    }

    static func hostsYAML(_ first: String, _ second: String) -> String {
        """
        listeners:
          - name: web
            port: 8443
            tls: { certificate: example.test }
            hosts:
              - domains: [a.other.test]
        \(first)
                routes: [{ prefix: /, cluster: app }]
              - domains: [b.other.test]
        \(second)
                routes: [{ prefix: /, cluster: app }]
        clusters:
          - name: app
            endpoints: [127.0.0.1:9000]
        """
    }

    @Test func sniHostWithItsOwnCertificateMayAskForClientCertificates() throws {
        let config = try #require(
            parseValid(
                Self.hostsYAML(
                    "        certificate: other.test\n        client_certificates: optional\n        client_ca: clients",
                    "        certificate: other.test\n        client_certificates: optional\n        client_ca: clients"
                )))
        guard case .http(let http)? = config.listeners.first?.kind else { Issue.record("not HTTP"); return }
        #expect(http.hosts.map(\.clientCertificates) == [.optional, .optional])
        #expect(http.hosts.map(\.clientCA) == ["clients", "clients"])
        #expect(http.tls?.trustedCA == nil, "the listener's own chain is untouched")
        let errors = RoutesFile.checkClientAuthorities(config, available: [])
        #expect(errors.map(\.key) == ["listeners[0].hosts[0].client_ca", "listeners[0].hosts[1].client_ca"])
        #expect(errors.first?.position.line == 9 && errors.first?.position.column == 20)
    }

    @Test func hostWithoutItsOwnCertificateCannotAsk() {
        expectSingleError(
            Self.hostsYAML("        client_certificates: required", ""), .conflictingKeys,
            key: "listeners[0].hosts[0].client_certificates", line: 7, column: 9,
            messageContains: "host \"a.other.test\" sets \"client_certificates\" but has no certificate of its own")
    }

    @Test func hostsSharingACertificateMustAgree() {
        expectSingleError(
            Self.hostsYAML(
                "        certificate: other.test\n        client_certificates: required",
                "        certificate: other.test"), .conflictingKeys,
            key: "listeners[0].hosts[1].certificate", line: 11, column: 9,
            messageContains:
                "hosts \"a.other.test\" and \"b.other.test\" share certificate \"other.test\" but ask differently")
    }

    // MARK: - ca.crt in the cert directory

    let siteCerts = FixturePaths.path("example-site/certs")

    func directory(caBytes: [UInt8]?, serving: Bool = true) throws -> String {
        let dir = NSTemporaryDirectory() + "chancery-ca-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if serving {
            try FileManager.default.copyItem(atPath: siteCerts + "/example.test", toPath: dir + "/example.test")
        } else {
            try FileManager.default.createDirectory(atPath: dir + "/example.test", withIntermediateDirectories: true)
        }
        if let caBytes {
            try Data(caBytes).write(to: URL(fileURLWithPath: dir + "/example.test/ca.crt"))
        }
        return dir
    }

    func servingChain() throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: siteCerts + "/example.test/tls.crt")))
    }

    @Test func caCrtIsReadBesideTheServingPair() throws {
        let chain = try servingChain()
        let dir = try directory(caBytes: chain + chain)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scan = CertificateDirectory.scan(path: dir)
        #expect(scan.errors.isEmpty, "\(scan.errors)")
        let authority = try #require(scan.authorities["example.test"])
        #expect(authority.count == 2 && authority.pem == chain + chain)
        #expect(scan.bundles["example.test"] != nil)
    }

    @Test func brokenCACrtIsReportedAndLeavesTheServingPairAlone() throws {
        let broken = Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)
        let dir = try directory(caBytes: broken)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scan = CertificateDirectory.scan(path: dir)
        #expect(scan.bundles["example.test"] != nil, "tls.crt + tls.key still served")
        #expect(scan.authorities.isEmpty)
        let error = try #require(scan.brokenAuthorities["example.test"])
        #expect(error.path == dir + "/example.test/ca.crt")
        #expect(error.reason.hasPrefix("certificate #1 in ca.crt is not valid X.509"), "\(error)")
        #expect(scan.errors.map(\.path) == [dir + "/example.test/ca.crt"])
    }

    @Test func keyInCACrtIsRefusedWithoutEchoingIt() throws {
        let key = Array(try Data(contentsOf: URL(fileURLWithPath: siteCerts + "/example.test/tls.key")))
        let dir = try directory(caBytes: try servingChain() + key)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = try #require(CertificateDirectory.scan(path: dir).brokenAuthorities["example.test"])
        #expect(error.code == .privateKeyInCertificateFile)
        #expect(!error.description.contains("PRIVATE KEY-----"))
    }

    @Test func folderWithOnlyCACrtIsACANotABrokenCertificate() throws {
        let dir = try directory(caBytes: try servingChain(), serving: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scan = CertificateDirectory.scan(path: dir)
        #expect(scan.errors.isEmpty, "\(scan.errors)")
        #expect(scan.bundles.isEmpty && scan.broken.isEmpty)
        #expect(scan.authorities["example.test"] != nil)
    }

    @Test func changingCACrtChangesTheScanDigest() throws {
        let chain = try servingChain()
        let dir = try directory(caBytes: chain)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = CertificateDirectory.scan(path: dir).contentDigest
        try Data(chain + chain).write(to: URL(fileURLWithPath: dir + "/example.test/ca.crt"))
        #expect(CertificateDirectory.scan(path: dir).contentDigest != before)
    }
}
