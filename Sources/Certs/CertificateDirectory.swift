import Crypto
import Foundation
import X509

/// The directory of certificates that cert-manager (or a person) keeps renewed.
///
/// Layout: `DIR/NAME/tls.crt` and `DIR/NAME/tls.key`, one subdirectory per certificate, as in a Kubernetes TLS
/// secret volume. Such volumes swap content atomically through `..data` symlinks (`tls.crt → ..data/tls.crt`), so
/// symlinks are followed and the `..`-prefixed bookkeeping entries are not certificates.
public struct CertificateDirectory {
    /// Files larger than this are refused rather than read: a chain is a few kilobytes.
    static let maximumFileSize = 1 << 20

    /// Scans DIR: each subdirectory NAME holding tls.crt and tls.key is one bundle. Entries starting with "."
    /// (Kubernetes `..data` / `..2024_…` timestamp dirs, and hidden files) are skipped; symlinks are followed.
    ///
    /// A broken bundle is reported and left out; the others still load. Errors are sorted by path.
    public static func load(path: String) -> (bundles: [String: CertificateBundle], errors: [CertificateError]) {
        load(path: path, now: Date())
    }

    /// As `load(path:)`, checking validity at `now` (for tests and for "will this still be valid tomorrow").
    public static func load(path: String, now: Date) -> (bundles: [String: CertificateBundle], errors: [CertificateError]) {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return ([:], [.directoryMissing(path)])
        }
        let entries: [String]
        do {
            entries = try fileManager.contentsOfDirectory(atPath: path).sorted()
        } catch {
            return ([:], [.directoryUnreadable(path, "\(error.localizedDescription)")])
        }
        var bundles: [String: CertificateBundle] = [:]
        var errors: [CertificateError] = []
        var found = 0
        for name in entries where !name.hasPrefix(".") {
            let directory = (path as NSString).appendingPathComponent(name)
            var entryIsDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: directory, isDirectory: &entryIsDirectory),
                  entryIsDirectory.boolValue else { continue }
            found += 1
            switch loadBundle(name: name, directory: directory, now: now) {
            case .success(let bundle): bundles[name] = bundle
            case .failure(let error): errors.append(error)
            }
        }
        if found == 0 { errors.append(.noCertificates(path)) }
        return (bundles, errors.sorted { $0.path < $1.path })
    }

    /// Reads and checks one `NAME/tls.crt` + `NAME/tls.key` pair.
    static func loadBundle(name: String, directory: String, now: Date) -> Result<CertificateBundle, CertificateError> {
        let certificatePath = (directory as NSString).appendingPathComponent("tls.crt")
        let keyPath = (directory as NSString).appendingPathComponent("tls.key")
        switch (read(certificatePath), read(keyPath)) {
        case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
        case (.success(let chain), .success(let key)):
            return bundle(name: name, chain: chain, key: key, certificatePath: certificatePath, keyPath: keyPath, now: now)
        }
    }

    /// Checks the bytes of one `tls.crt` + `tls.key` pair; the paths only name the files in errors.
    /// Pure (no file access), so the checks can be exercised on bytes directly (the Certs fuzz target does).
    public static func bundle(name: String, chain chainBytes: [UInt8], key keyBytes: [UInt8], certificatePath: String,
                              keyPath: String, now: Date) -> Result<CertificateBundle, CertificateError> {
        // The chain: only CERTIFICATE blocks, at least one, each a valid X.509 certificate.
        // Checked on the raw text first, so a key is caught even when the PEM around it is malformed.
        let chainText = String(decoding: chainBytes, as: UTF8.self)
        if chainText.contains("PRIVATE KEY-----") {
            return .failure(.privateKeyInCertificateFile(certificatePath))
        }
        let chainBlocks: [PEMBlock]
        switch PEM.blocks(in: chainText) {
        case .failure(let failure): return .failure(.invalidPEM(certificatePath, PEM.describe(failure)))
        case .success(let blocks): chainBlocks = blocks
        }
        if chainBlocks.contains(where: { $0.label.hasSuffix("PRIVATE KEY") }) {
            return .failure(.privateKeyInCertificateFile(certificatePath))
        }
        if let other = chainBlocks.first(where: { $0.label != "CERTIFICATE" }) {
            return .failure(.invalidPEM(certificatePath,
                                        "unexpected PEM block \"\(other.label)\"; tls.crt holds only CERTIFICATE blocks"))
        }
        var certificates: [Certificate] = []
        for (index, block) in chainBlocks.enumerated() {
            do {
                certificates.append(try Certificate(derEncoded: block.der))
            } catch {
                return .failure(.invalidCertificate(certificatePath, index: index, "\(error)"))
            }
        }
        let leaf = certificates[0]

        // The key: parsed, supported, and the leaf's.
        let keyBlocks: [PEMBlock]
        switch PEM.blocks(in: String(decoding: keyBytes, as: UTF8.self)) {
        case .failure(let failure):
            // Describe only the structure; never echo the file.
            return .failure(.invalidPEM(keyPath, PEM.describe(failure)))
        case .success(let blocks): keyBlocks = blocks
        }
        switch KeyMatching.privateKey(in: keyBlocks) {
        case .failure(.noKey):
            return .failure(.invalidPEM(keyPath, "no PRIVATE KEY block found"))
        case .failure(.encrypted):
            return .failure(.encryptedPrivateKey(keyPath))
        case .failure(.unsupported(let what)):
            return .failure(.unsupportedPrivateKey(keyPath, what))
        case .failure(.invalid(let label)):
            return .failure(.invalidPrivateKey(keyPath, label: label))
        case .success(let key):
            guard KeyMatching.matches(key, leaf) else {
                return .failure(.keyMismatch(keyPath, leaf: "subject \(leaf.subject), serial \(hex(leaf.serialNumber.bytes))"))
            }
        }

        if now > leaf.notValidAfter {
            return .failure(.expired(certificatePath, notAfter: Timestamp.text(leaf.notValidAfter)))
        }
        if now < leaf.notValidBefore {
            return .failure(.notYetValid(certificatePath, notBefore: Timestamp.text(leaf.notValidBefore)))
        }

        var dnsNames: [String] = []
        if let names = try? leaf.extensions.subjectAlternativeNames {
            for name in names {
                if case .dnsName(let dns) = name { dnsNames.append(dns) }
            }
        }
        return .success(CertificateBundle(
            name: name, certificateChainPEM: chainBytes, privateKeyPEM: keyBytes,
            serialNumber: hex(leaf.serialNumber.bytes),
            sha256Fingerprint: hex(SHA256.hash(data: chainBlocks[0].der)),
            dnsNames: dnsNames, notBefore: leaf.notValidBefore, notAfter: leaf.notValidAfter))
    }

    /// Reads a whole file (following symlinks), refusing directories and oversized files.
    private static func read(_ path: String) -> Result<[UInt8], CertificateError> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(.missingFile(path))
        }
        if isDirectory.boolValue { return .failure(.unreadableFile(path, "it is a directory")) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return .failure(.unreadableFile(path, "permission denied"))
        }
        defer { try? handle.close() }
        do {
            let data = try handle.read(upToCount: maximumFileSize + 1) ?? Data()
            if data.count > maximumFileSize {
                return .failure(.unreadableFile(path, "larger than \(maximumFileSize) bytes"))
            }
            if data.isEmpty { return .failure(.invalidPEM(path, "file is empty")) }
            return .success(Array(data))
        } catch {
            return .failure(.unreadableFile(path, error.localizedDescription))
        }
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
