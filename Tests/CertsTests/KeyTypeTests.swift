import Crypto
import Foundation
import Testing
import X509
import _CryptoExtras

@testable import Certs

/// Every supported key type and encoding loads and is matched against its certificate.
///
/// Certificates are made here with swift-certificates rather than committed, so each run also proves that a
/// freshly issued certificate is accepted.
@Suite("Certificate key types")
struct KeyTypeTests {
    enum KeyKind: String, CaseIterable, Sendable {
        case p256, p384, p521, rsaPKCS1, rsaPKCS8, ed25519
    }

    static func makeKey(_ kind: KeyKind) throws -> (
        key: Certificate.PrivateKey, pem: String, algorithm: Certificate.SignatureAlgorithm
    ) {
        switch kind {
        case .p256:
            let key = P256.Signing.PrivateKey()
            return (.init(key), key.pemRepresentation, .ecdsaWithSHA256)
        case .p384:
            let key = P384.Signing.PrivateKey()
            return (.init(key), key.pemRepresentation, .ecdsaWithSHA384)
        case .p521:
            let key = P521.Signing.PrivateKey()
            return (.init(key), key.pemRepresentation, .ecdsaWithSHA512)
        case .rsaPKCS1:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            return (.init(key), key.pemRepresentation, .sha256WithRSAEncryption)
        case .rsaPKCS8:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            return (.init(key), key.pkcs8PEMRepresentation, .sha256WithRSAEncryption)
        case .ed25519:
            let key = Curve25519.Signing.PrivateKey()
            let wrapped = Certificate.PrivateKey(key)
            return (wrapped, try wrapped.serializeAsPEM().pemString, .ed25519)
        }
    }

    static func makeCertificate(
        key: Certificate.PrivateKey, algorithm: Certificate.SignatureAlgorithm,
        notBefore: Date = Date() - 3600, notAfter: Date = Date() + 86400,
        dns: [String] = ["kt.test", "*.kt.test"]
    ) throws -> String {
        let name = try DistinguishedName { CommonName(dns[0]) }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey,
            notValidBefore: notBefore, notValidAfter: notAfter, issuer: name, subject: name,
            signatureAlgorithm: algorithm,
            extensions: try Certificate.Extensions { SubjectAlternativeNames(dns.map { .dnsName($0) }) },
            issuerPrivateKey: key)
        return try certificate.serializeAsPEM().pemString
    }

    static func writeBundle(in directory: String, name: String, certificate: String, key: String) throws {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try certificate.write(toFile: path + "/tls.crt", atomically: true, encoding: .utf8)
        try key.write(toFile: path + "/tls.key", atomically: true, encoding: .utf8)
    }

    @Test(arguments: KeyKind.allCases)
    func keyTypeLoads(_ kind: KeyKind) throws {
        let temp = try TemporaryDirectory()
        let (key, keyPEM, algorithm) = try Self.makeKey(kind)
        let certificatePEM = try Self.makeCertificate(key: key, algorithm: algorithm)
        try Self.writeBundle(in: temp.path, name: "kt.test", certificate: certificatePEM, key: keyPEM)

        let (bundles, errors) = CertificateDirectory.load(path: temp.path)
        #expect(errors.isEmpty, "\(kind): \(errors)")
        let bundle = try #require(bundles["kt.test"])
        #expect(bundle.dnsNames == ["kt.test", "*.kt.test"])

        // Fingerprint computed independently from the DER swift-certificates produces.
        let der = try Certificate(pemEncoded: certificatePEM).serializeAsPEM().derBytes
        let expected = SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
        #expect(bundle.sha256Fingerprint == expected)
        #expect(!bundle.description.contains(String(keyPEM.split(separator: "\n")[1].prefix(16))))
    }

    @Test(arguments: KeyKind.allCases)
    func keyOfAnotherCertificateIsRejected(_ kind: KeyKind) throws {
        let temp = try TemporaryDirectory()
        let (key, _, algorithm) = try Self.makeKey(kind)
        let (_, otherPEM, _) = try Self.makeKey(kind)
        try Self.writeBundle(
            in: temp.path, name: "kt.test",
            certificate: try Self.makeCertificate(key: key, algorithm: algorithm), key: otherPEM)
        let errors = CertificateDirectory.load(path: temp.path).errors
        #expect(errors.map(\.code) == [.keyMismatch])
        #expect(errors.first?.path == temp.path + "/kt.test/tls.key")
    }

    @Test func chainWithIntermediateUsesTheFirstAsLeaf() throws {
        let temp = try TemporaryDirectory()
        let (leafKey, leafPEM, algorithm) = try Self.makeKey(.p256)
        let (caKey, _, _) = try Self.makeKey(.p256)
        let leaf = try Self.makeCertificate(key: leafKey, algorithm: algorithm)
        let intermediate = try Self.makeCertificate(key: caKey, algorithm: algorithm, dns: ["ca.test"])
        try Self.writeBundle(in: temp.path, name: "chain", certificate: leaf + "\n" + intermediate + "\n", key: leafPEM)
        let (bundles, errors) = CertificateDirectory.load(path: temp.path)
        #expect(errors.isEmpty, "\(errors)")
        #expect(bundles["chain"]?.dnsNames == ["kt.test", "*.kt.test"])

        // The other order: the key does not match the first certificate.
        try Self.writeBundle(in: temp.path, name: "chain", certificate: intermediate + "\n" + leaf, key: leafPEM)
        #expect(CertificateDirectory.load(path: temp.path).errors.map(\.code) == [.keyMismatch])
    }

    @Test func validityWindow() throws {
        let temp = try TemporaryDirectory()
        let (key, keyPEM, algorithm) = try Self.makeKey(.p256)
        let now = Date()
        let certificate = try Self.makeCertificate(
            key: key, algorithm: algorithm, notBefore: now + 86400,
            notAfter: now + 2 * 86400)
        try Self.writeBundle(in: temp.path, name: "future", certificate: certificate, key: keyPEM)
        #expect(CertificateDirectory.load(path: temp.path).errors.map(\.code) == [.notYetValid])
        #expect(CertificateDirectory.load(path: temp.path, now: now + 1.5 * 86400).errors.isEmpty)
        let expired = CertificateDirectory.load(path: temp.path, now: now + 3 * 86400).errors
        #expect(expired.map(\.code) == [.expired])
        #expect(expired.first?.path == temp.path + "/future/tls.crt")
    }

    @Test func keyFileProblems() throws {
        let temp = try TemporaryDirectory()
        let (key, keyPEM, algorithm) = try Self.makeKey(.p256)
        let certificate = try Self.makeCertificate(key: key, algorithm: algorithm)
        let cases: [(String, String, Certs.CertificateError.Code)] = [
            (
                "encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
                .encryptedPrivateKey
            ),
            (
                "legacy-encrypted",
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                .encryptedPrivateKey
            ),
            (
                "openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
                .unsupportedPrivateKey
            ),
            ("garbage-key", "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n", .invalidPrivateKey),
            ("no-key", certificate, .invalidPEM),
            ("unterminated", "-----BEGIN PRIVATE KEY-----\nAAAA\n", .invalidPEM),
            ("bad-base64", "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", .invalidPEM),
            ("empty-key", "", .invalidPEM),
        ]
        for (name, keyText, _) in cases {
            try Self.writeBundle(in: temp.path, name: name, certificate: certificate, key: keyText)
        }
        try Self.writeBundle(in: temp.path, name: "key-in-crt", certificate: certificate + keyPEM, key: keyPEM)
        let errors = CertificateDirectory.load(path: temp.path).errors
        let byPath = Dictionary(errors.map { ($0.path, $0.code) }, uniquingKeysWith: { a, _ in a })
        for (name, _, code) in cases {
            #expect(byPath[temp.path + "/\(name)/tls.key"] == code, "\(name): \(errors)")
        }
        #expect(byPath[temp.path + "/key-in-crt/tls.crt"] == .privateKeyInCertificateFile)
        #expect(errors.count == cases.count + 1)
        let keyBody = String(keyPEM.split(separator: "\n")[1].prefix(16))
        #expect(!errors.contains { $0.description.contains(keyBody) })
    }
}
