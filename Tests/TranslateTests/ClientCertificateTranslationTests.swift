import Certs
import Config
import Foundation
import Pipeline
import Protobuf
import Snapshot
import TestSupport
import Testing
import Translate
import Vocabulary

/// A listener with `client_certificates` gets a validation context from `ca.crt`, sent as its own SDS secret.
@Suite("Client certificates in the snapshot")
struct ClientCertificateTranslationTests {
    let site = "\(FixturePaths.fixtures)/example-site"

    /// A work directory with `routes.yaml` (the https listener asking for client certificates with `tlsLines`) and
    /// `certs/example.test` holding the site's pair, plus `ca.crt` when given.
    func workspace(tlsLines: String, caBytes: [UInt8]?) throws -> String {
        let dir = NSTemporaryDirectory() + "chancery-mtls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/certs", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(site)/certs/example.test", toPath: dir + "/certs/example.test")
        if let caBytes { try Data(caBytes).write(to: URL(fileURLWithPath: dir + "/certs/example.test/ca.crt")) }
        let routes = """
            groups: [default]
            listeners:
              - name: https
                port: 10443
                tls:
                  certificate: example.test
            \(tlsLines)
                hosts:
                  - domains: [www.example.test]
                    routes:
                      - prefix: /
                        cluster: www
            clusters:
              - name: www
                endpoints: [127.0.0.1:18081]
            """
        try routes.write(toFile: dir + "/routes.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func chain() throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "\(site)/certs/example.test/tls.crt")))
    }

    /// The DownstreamTlsContext of the listener's first filter chain.
    func tlsContext(_ listener: ProtoMessage) throws -> ProtoMessage {
        let chain = try #require(listener["filter_chains"]?.listValue?.first?.messageValue)
        return try #require(chain["transport_socket"]?.messageValue?["typed_config"]?.anyValue)
    }

    @Test func requiredAddsTheCheckAndTheValidationSecret() throws {
        let ca = try chain()
        let dir = try workspace(tlsLines: "      client_certificates: required", caBytes: ca)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs")
        #expect(result.skipped.isEmpty && result.warnings.isEmpty, "\(result.warnings)")
        for mode in ConfigSourceMode.allCases {
            let group = try #require(result.snapshot.group("default", mode: mode))
            #expect(group[.secret].sortedNames == ["example.test", "example.test/ca.crt"])
            let context = try tlsContext(try #require(group[.listener].resources["https"]?.message))
            #expect(context["require_client_certificate"] == .boolValue(true))
            let common = try #require(context["common_tls_context"]?.messageValue)
            let reference = try #require(common["validation_context_sds_secret_config"]?.messageValue)
            #expect(reference["name"]?.stringValue == "example.test/ca.crt")
            let secret = try #require(group[.secret].resources["example.test/ca.crt"]?.message)
            let trusted = secret["validation_context"]?.messageValue?["trusted_ca"]?.messageValue
            #expect(trusted?["inline_bytes"]?.bytesValue == ca)
            #expect(secret["tls_certificate"] == nil, "the CA secret carries no key")
        }
    }

    @Test func optionalDoesNotRequireButStillValidates() throws {
        let dir = try workspace(tlsLines: "      client_certificates: optional", caBytes: try chain())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs")
        let group = try #require(result.snapshot.group("default", mode: .ads))
        let context = try tlsContext(try #require(group[.listener].resources["https"]?.message))
        #expect(context["require_client_certificate"] == nil)
        #expect(context["common_tls_context"]?.messageValue?["validation_context_sds_secret_config"] != nil)
    }

    @Test func withoutTheKeyTheCAIsNeitherReferencedNorSent() throws {
        let dir = try workspace(tlsLines: "", caBytes: try chain())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs")
        let group = try #require(result.snapshot.group("default", mode: .ads))
        #expect(group[.secret].sortedNames == ["example.test"])
        let context = try tlsContext(try #require(group[.listener].resources["https"]?.message))
        #expect(context["require_client_certificate"] == nil)
        #expect(context["common_tls_context"]?.messageValue?["validation_context_sds_secret_config"] == nil)
    }

    @Test func missingCACrtLeavesTheListenerOutAndSaysWhere() throws {
        let dir = try workspace(tlsLines: "      client_certificates: required", caBytes: nil)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs")
        #expect(result.skipped.map(\.listener) == ["https"])
        let group = try #require(result.snapshot.group("default", mode: .ads))
        #expect(group[.listener].sortedNames.isEmpty, "never served without the check it asks for")
        #expect(
            result.warnings == [
                "\(dir)/routes.yaml:7:28: listener \"https\" left out: \"example.test/ca.crt\" (client certificate CA) "
                    + "is not usable: client certificates need example.test/ca.crt in the certificate directory, which "
                    + "is missing or not valid (no certificate folder holds a valid ca.crt; put the CA that signs client "
                    + "certificates in example.test/ca.crt in the certificate directory)"
            ])
    }

    @Test func brokenCACrtNamesTheRealCause() throws {
        let dir = try workspace(
            tlsLines: "      client_certificates: required",
            caBytes: Array("not a certificate\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs")
        #expect(result.skipped.map(\.listener) == ["https"])
        let line = try #require(result.warnings.first { $0.contains("left out") })
        #expect(
            line.hasSuffix("\(dir)/certs/example.test/ca.crt: no PEM block found (expected -----BEGIN …-----)"),
            "\(line)")
        #expect(
            result.warnings.contains(
                "\(dir)/certs/example.test/ca.crt: no PEM block found (expected -----BEGIN …-----)"))
    }

    @Test func sniHostGetsItsOwnValidationContext() throws {
        let chainBytes = try chain()
        let yaml = """
            groups: [default]
            listeners:
              - name: https
                port: 10443
                tls: { certificate: example.test }
                hosts:
                  - domains: [www.example.test]
                    routes: [{ prefix: /, cluster: www }]
                  - domains: [api.other.test]
                    certificate: other.test
                    client_certificates: required
                    routes: [{ prefix: /, cluster: www }]
            clusters:
              - name: www
                endpoints: [127.0.0.1:18081]
            """
        let config = try RoutesFile.parse(yaml, file: "routes.yaml")
        let bundle = try #require(CertificateDirectory.load(path: "\(site)/certs").bundles["example.test"])
        let other = CertificateBundle(
            name: "other.test", certificateChainPEM: bundle.certificateChainPEM,
            privateKeyPEM: bundle.privateKeyPEM, serialNumber: "1", sha256Fingerprint: "",
            dnsNames: [], notBefore: bundle.notBefore, notAfter: bundle.notAfter)
        let authority = try TrustedAuthority.parse(name: "other.test", bytes: chainBytes, path: "ca.crt").get()
        let group = try #require(
            Translator.translate(
                config, certificates: ["example.test": bundle, "other.test": other],
                authorities: ["other.test": authority, "example.test": authority])["default"])
        #expect(group.resources[.secret]?.keys.sorted() == ["example.test", "other.test", "other.test/ca.crt"])
        let chains = try #require(group.resources[.listener]?["https"]?["filter_chains"]?.listValue)
        var byName: [String: ProtoMessage] = [:]
        for chain in chains {
            let message = try #require(chain.messageValue)
            byName[message["name"]?.stringValue ?? ""] =
                message["transport_socket"]?.messageValue?["typed_config"]?.anyValue
        }
        #expect(byName["example.test"]?["require_client_certificate"] == nil)
        #expect(byName["other.test"]?["require_client_certificate"] == .boolValue(true))
        let reference = byName["other.test"]?["common_tls_context"]?.messageValue?[
            "validation_context_sds_secret_config"]
        #expect(reference?.messageValue?["name"]?.stringValue == "other.test/ca.crt")
    }

    @Test func staticBootstrapCarriesTheCASecretWithoutAConfigSource() throws {
        let ca = try chain()
        let dir = try workspace(tlsLines: "      client_certificates: required", caBytes: ca)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scan = CertificateDirectory.scan(path: dir + "/certs")
        let config = try RoutesFile.load(path: dir + "/routes.yaml")
        let groups = Translator.translate(config, certificates: scan.bundles, authorities: scan.authorities)
        let resources = try #require(groups["default"]).resources.mapValues { Array($0.values) }
        let json = StaticBootstrap.json(group: "default", resources: resources)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let statics = try #require(root["static_resources"] as? [String: Any])
        let secrets = try #require(statics["secrets"] as? [[String: Any]])
        let caSecret = try #require(secrets.first { $0["name"] as? String == "example.test/ca.crt" })
        #expect(caSecret["validationContext"] != nil)
        // The reference keeps its name and loses its config source: a static secret.
        let compact = json.filter { !$0.isWhitespace }
        #expect(compact.contains("\"validationContextSdsSecretConfig\":{\"name\":\"example.test/ca.crt\"}"))
    }
}
