import Foundation
import TestSupport
import Testing

@testable import Certs

@Suite("Certificate directory")
struct CertificateDirectoryTests {
    let siteCerts = FixturePaths.path("example-site/certs")
    let badCerts = FixturePaths.path("bad/certs")

    /// The `openssl x509 -fingerprint -sha256 -serial -enddate` output captured when the fixture was made.
    func opensslFacts() throws -> (fingerprint: String, serial: String) {
        let text = try String(contentsOfFile: siteCerts + "/example.test.fingerprint.txt", encoding: .utf8)
        var fingerprint = ""
        var serial = ""
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            if parts[0].hasSuffix("Fingerprint") {
                fingerprint = parts[1].replacingOccurrences(of: ":", with: "").lowercased()
            }
            if parts[0] == "serial" { serial = parts[1].lowercased() }
        }
        return (fingerprint, serial)
    }

    @Test func exampleCertificateLoads() throws {
        let (bundles, errors) = CertificateDirectory.load(path: siteCerts)
        #expect(errors.isEmpty, "\(errors)")
        #expect(Array(bundles.keys) == ["example.test"])
        let bundle = try #require(bundles["example.test"])
        let facts = try opensslFacts()
        #expect(facts.fingerprint.count == 64)
        #expect(bundle.sha256Fingerprint == facts.fingerprint)
        #expect(bundle.serialNumber == facts.serial)
        #expect(bundle.dnsNames == ["example.test", "*.example.test"])
        #expect(Calendar(identifier: .gregorian).component(.year, from: bundle.notAfter) >= 2120)
        #expect(bundle.notBefore < Date())
        let chain = try String(contentsOfFile: siteCerts + "/example.test/tls.crt", encoding: .utf8)
        let key = try String(contentsOfFile: siteCerts + "/example.test/tls.key", encoding: .utf8)
        #expect(bundle.certificateChainPEM == Array(chain.utf8), "chain kept exactly as read")
        #expect(bundle.privateKeyPEM == Array(key.utf8), "key kept exactly as read")
    }

    @Test func privateKeyIsNeverPrinted() throws {
        let bundle = try #require(CertificateDirectory.load(path: siteCerts).bundles["example.test"])
        let keyText = String(decoding: bundle.privateKeyPEM, as: UTF8.self)
        let base64Lines = keyText.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        #expect(!base64Lines.isEmpty)
        var dumped = ""
        dump(bundle, to: &dumped)
        let renderings = [
            bundle.description, bundle.debugDescription, "\(bundle)", String(reflecting: bundle),
            dumped, "\([bundle])", "\(["k": bundle])",
        ]
        for text in renderings {
            #expect(!text.contains("PRIVATE KEY"), "\(text)")
            for line in base64Lines {
                // Any 16-character run of the key's base64 would be a leak.
                for start in stride(from: 0, to: max(line.count - 16, 1), by: 8) {
                    let piece = String(Array(line)[start..<min(start + 16, line.count)])
                    #expect(!text.contains(piece), "key material in: \(text)")
                }
            }
        }
        #expect(dumped.contains("<redacted>"))
        #expect(bundle.description.contains("example.test"))
    }

    @Test func brokenBundlesAreReportedAndTheRestLoad() throws {
        let (bundles, errors) = CertificateDirectory.load(path: badCerts)
        #expect(
            bundles.keys.sorted() == ["expired", "good"],
            "a SEC1 key after an EC PARAMETERS block loads; an expired certificate is still served")
        #expect(bundles["good"]?.sha256Fingerprint == (try opensslFacts()).fingerprint)

        let byPath = Dictionary(errors.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let expected: [(String, CertificateError.Code, String)] = [
            ("empty-dir/tls.crt", .missingFile, "missing"),
            ("expired/tls.crt", .expired, "expired on 2001-01-02T00:00:00Z"),
            ("garbage-pem/tls.crt", .invalidCertificate, "not valid X.509"),
            ("key-mismatch/tls.key", .keyMismatch, "does not match"),
            ("missing-key/tls.key", .missingFile, "missing"),
            ("not-pem/tls.crt", .invalidPEM, "no PEM block"),
        ]
        #expect(errors.count == expected.count, "\(errors)")
        for (relative, code, fragment) in expected {
            let path = badCerts + "/" + relative
            let error = try #require(byPath[path], "no error for \(path) in \(errors)")
            #expect(error.code == code, "\(error)")
            #expect(error.description.hasPrefix(path + ": "), "\(error)")
            #expect(error.reason.contains(fragment), "\(error)")
        }
        #expect(errors.map(\.path) == errors.map(\.path).sorted(), "errors are sorted by path")

        // None of the errors carries key material.
        for name in ["key-mismatch", "expired", "garbage-pem", "not-pem"] {
            let key = try String(contentsOfFile: "\(badCerts)/\(name)/tls.key", encoding: .utf8)
            let bodies = key.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count > 16 }
            for error in errors {
                for body in bodies { #expect(!error.description.contains(body.prefix(16))) }
            }
        }
    }

    /// A fuzzer-found certificate whose RSA key is neither SPKI nor PKCS#1: swift-crypto 3.12.3 freed the key twice
    /// while refusing it (this test aborted in glibc's free); now it is one clear error for that folder.
    @Test func mangledRSAKeyIsAnErrorNotADoubleFree() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chancery-rsa-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixture = FixturePaths.path("regressions/rsa-key-double-free")
        try FileManager.default.copyItem(atPath: fixture, toPath: dir + "/mangled")
        try FileManager.default.copyItem(atPath: siteCerts + "/example.test", toPath: dir + "/example.test")
        for _ in 0..<20 {  // repeated, so a heap corrupted by a double free shows up within the test
            let (bundles, errors) = CertificateDirectory.load(path: dir)
            #expect(bundles["mangled"] == nil)
            #expect(bundles["example.test"] != nil, "the good folder beside it still loads")
            let error = try #require(errors.first { $0.path.hasPrefix(dir + "/mangled") }, "\(errors)")
            #expect(!error.reason.isEmpty)
            #expect(!error.description.contains("PRIVATE KEY"))
        }
    }

    @Test func missingAndEmptyDirectories() throws {
        let missing = "/nonexistent/chancery-certs-\(UUID().uuidString)"
        let result = CertificateDirectory.load(path: missing)
        #expect(result.bundles.isEmpty)
        #expect(result.errors.map(\.code) == [.directoryMissing])
        #expect(result.errors.first?.description.hasPrefix(missing + ": ") == true)

        let file = FixturePaths.path("example-site/routes.yaml")
        #expect(CertificateDirectory.load(path: file).errors.map(\.code) == [.directoryMissing])

        let empty = try TemporaryDirectory()
        let emptyResult = CertificateDirectory.load(path: empty.path)
        #expect(emptyResult.errors.map(\.code) == [.noCertificates])
        #expect(emptyResult.errors.first?.path == empty.path)
    }

    /// A Kubernetes secret volume: `NAME/tls.crt → ..data/tls.crt`, `..data → ..2024_…` timestamp directory.
    @Test func kubernetesDataSymlinkLayout() throws {
        let temp = try TemporaryDirectory()
        let fm = FileManager.default
        let secret = temp.path + "/example.test"
        let stamped = secret + "/..2024_05_01_12_00_00.123456789"
        try fm.createDirectory(atPath: stamped, withIntermediateDirectories: true)
        for file in ["tls.crt", "tls.key"] {
            try fm.copyItem(atPath: "\(siteCerts)/example.test/\(file)", toPath: "\(stamped)/\(file)")
        }
        try fm.createSymbolicLink(atPath: secret + "/..data", withDestinationPath: "..2024_05_01_12_00_00.123456789")
        try fm.createSymbolicLink(atPath: secret + "/tls.crt", withDestinationPath: "..data/tls.crt")
        try fm.createSymbolicLink(atPath: secret + "/tls.key", withDestinationPath: "..data/tls.key")
        // Bookkeeping at the top level too (a projected volume of several secrets); none of it is a certificate.
        try fm.createDirectory(atPath: temp.path + "/..2024_05_01_12_00_00.1", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: temp.path + "/..data", withDestinationPath: "..2024_05_01_12_00_00.1")
        // A bundle directory that is itself a symlink is followed.
        try fm.createSymbolicLink(atPath: temp.path + "/alias.test", withDestinationPath: "example.test")

        let (bundles, errors) = CertificateDirectory.load(path: temp.path)
        #expect(errors.isEmpty, "\(errors)")
        #expect(bundles.keys.sorted() == ["alias.test", "example.test"])
        #expect(bundles["example.test"]?.sha256Fingerprint == (try opensslFacts()).fingerprint)

        // A renewal swaps ..data; a dangling link is then reported against the path that was read.
        try fm.removeItem(atPath: stamped + "/tls.key")
        let after = CertificateDirectory.load(path: temp.path)
        #expect(after.errors.map(\.code) == [.missingFile, .missingFile])
        #expect(after.errors.map(\.path).contains(secret + "/tls.key"))
    }
}

/// A directory under the system temp dir, removed when the value goes away.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("chancery-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// PEM markers that overlap ("-----BEGIN -----END X-----") once made the block scanner slice a backwards range and
/// trap (found by FuzzCertificates); they are an unterminated block, like any other malformed marker.
@Suite("PEM markers")
struct PEMMarkerTests {
    @Test(arguments: [
        "-----BEGIN -----END -----", "-----BEGIN -----END X-----", "x-----BEGIN -----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----END CERTIFICATE-----",
    ])
    func overlappingMarkersAreAnErrorNotATrap(_ text: String) {
        guard case .failure = PEM.blocks(in: text) else {
            Issue.record("\(text.debugDescription) parsed as PEM")
            return
        }
    }
}
