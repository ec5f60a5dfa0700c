import Crypto
import Foundation
import X509

/// The directory of certificates that a renewal tool (cert-manager, certbot, a person) keeps renewed.
///
/// Layout: `DIR/NAME/tls.crt` and `DIR/NAME/tls.key` (a Kubernetes TLS secret volume), or certbot's
/// `DIR/NAME/fullchain.pem` and `DIR/NAME/privkey.pem` (e.g. links into `/etc/letsencrypt/live/NAME/`), one
/// subdirectory per certificate. Kubernetes volumes swap content atomically through `..data` symlinks and certbot
/// re-points `live/` links into `archive/`, so symlinks are followed and `.`-prefixed bookkeeping entries are skipped.
public struct CertificateDirectory {
    /// Files larger than this are refused rather than read: a chain is a few kilobytes.
    public static let maximumFileSize = 1 << 20
    /// Accepted names for the chain and the key, in order of preference.
    public static let certificateFileNames = ["tls.crt", "fullchain.pem"]
    public static let keyFileNames = ["tls.key", "privkey.pem"]

    /// Scans DIR: each subdirectory NAME holding a chain and a key is one bundle. An expired bundle is loaded (and
    /// reported); any other broken bundle is reported and left out; the others still load. Errors are sorted by path.
    public static func load(path: String) -> (bundles: [String: CertificateBundle], errors: [CertificateError]) {
        load(path: path, now: Date())
    }

    /// As `load(path:)`, checking validity at `now` (for tests and for "will this still be valid tomorrow").
    public static func load(path: String, now: Date) -> (
        bundles: [String: CertificateBundle], errors: [CertificateError]
    ) {
        let result = scan(path: path, now: now)
        return (result.bundles, result.errors)
    }

    /// Scans DIR; a bundle that is broken now but was good before (`lastGood`) keeps its last good version, so a
    /// renewal caught half-way (certbot re-points its links one at a time) never reaches a proxy.
    public static func scan(
        path: String, now: Date = Date(),
        lastGood: [String: CertificateBundle] = [:]
    ) -> CertificateScan {
        var result = CertificateScan()
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            result.errors = [.directoryMissing(path)]
            result.keepLastGood(lastGood, because: result.errors[0])
            return result
        }
        let entries: [String]
        do {
            entries = try fileManager.contentsOfDirectory(atPath: path).sorted()
        } catch {
            result.errors = [.directoryUnreadable(path, "\(error.localizedDescription)")]
            result.keepLastGood(lastGood, because: result.errors[0])
            return result
        }
        var found = 0
        for name in entries where !name.hasPrefix(".") {
            let directory = (path as NSString).appendingPathComponent(name)
            var entryIsDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: directory, isDirectory: &entryIsDirectory),
                entryIsDirectory.boolValue
            else { continue }
            found += 1
            switch TrustedAuthority.load(name: name, directory: directory) {
            case .success(let authority)?: result.authorities[name] = authority
            case .failure(let error)?:
                result.errors.append(error)
                result.brokenAuthorities[name] = error
            case nil: break
            }
            switch DescriptorSet.load(name: name, directory: directory) {
            case .success(let set)?: result.descriptorSets[name] = set
            case .failure(let error)?:
                result.errors.append(error)
                result.brokenDescriptorSets[name] = error
            case nil: break
            }
            switch UserList.load(name: name, directory: directory) {
            case .success(let users)?: result.userLists[name] = users
            case .failure(let error)?:
                result.errors.append(error)
                result.brokenUserLists[name] = error
            case nil: break
            }
            // A folder holding only ca.crt or htpasswd has nothing to serve.
            let other = [
                result.authorities[name] != nil, result.brokenAuthorities[name] != nil,
                result.userLists[name] != nil, result.brokenUserLists[name] != nil,
                result.descriptorSets[name] != nil, result.brokenDescriptorSets[name] != nil,
            ]
            if other.contains(true), !hasAny(certificateFileNames + keyFileNames, in: directory) {
                continue
            }
            switch loadBundle(name: name, directory: directory, now: now) {
            case .success(let bundle):
                result.bundles[name] = bundle
                if bundle.isExpired(at: now) {
                    result.errors.append(.expired(bundle.certificateFile, notAfter: Timestamp.text(bundle.notAfter)))
                }
            case .failure(let error):
                result.errors.append(error)
                if let previous = lastGood[name] {
                    result.bundles[name] = previous
                    result.kept[name] = error
                } else {
                    result.broken[name] = error
                }
            }
        }
        if found == 0 { result.errors.append(.noCertificates(path)) }
        result.errors.sort { $0.path < $1.path }
        return result
    }

    /// Reads and checks one bundle: `NAME/tls.crt` + `NAME/tls.key`, or `fullchain.pem` + `privkey.pem`.
    static func loadBundle(name: String, directory: String, now: Date) -> Result<CertificateBundle, CertificateError> {
        let certificatePath = pick(certificateFileNames, in: directory)
        let keyPath = pick(keyFileNames, in: directory)
        switch (read(certificatePath), read(keyPath)) {
        case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
        case (.success(let chain), .success(let key)):
            return bundle(
                name: name, chain: chain.bytes, key: key.bytes, certificatePath: certificatePath,
                keyPath: keyPath, sourcePath: chain.resolvedPath, modified: chain.modified, now: now)
        }
    }

    /// Checks the bytes of one `tls.crt` + `tls.key` pair; the paths only name the files in errors.
    /// Pure (no file access), so the checks can be exercised on bytes directly (the Certs fuzz target does).
    /// `sourcePath` and `modified` describe where the chain really lives (after links), for `/status`.
    public static func bundle(
        name: String, chain chainBytes: [UInt8], key keyBytes: [UInt8], certificatePath: String,
        keyPath: String, sourcePath: String? = nil, modified: Date? = nil,
        now: Date
    ) -> Result<CertificateBundle, CertificateError> {
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
            return .failure(
                .invalidPEM(
                    certificatePath,
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
                return .failure(
                    .keyMismatch(keyPath, leaf: "subject \(leaf.subject), serial \(hex(leaf.serialNumber.bytes))"))
            }
        }

        // An expired leaf still loads (the caller reports it loudly): serving it beats taking the site down.
        if now < leaf.notValidBefore {
            return .failure(.notYetValid(certificatePath, notBefore: Timestamp.text(leaf.notValidBefore)))
        }

        var dnsNames: [String] = []
        if let names = try? leaf.extensions.subjectAlternativeNames {
            for name in names {
                if case .dnsName(let dns) = name { dnsNames.append(dns) }
            }
        }
        var digest = SHA256()
        digest.update(data: chainBytes)
        digest.update(data: keyBytes)
        return .success(
            CertificateBundle(
                name: name, certificateChainPEM: chainBytes, privateKeyPEM: keyBytes,
                serialNumber: hex(leaf.serialNumber.bytes),
                sha256Fingerprint: hex(SHA256.hash(data: chainBlocks[0].der)),
                dnsNames: dnsNames, notBefore: leaf.notValidBefore, notAfter: leaf.notValidAfter,
                issuer: "\(leaf.issuer)", certificateFile: certificatePath, sourcePath: sourcePath ?? certificatePath,
                modified: modified ?? Date(timeIntervalSince1970: 0),
                contentDigest: hex(digest.finalize())))
    }

    /// Reads a whole file through `InputFile`: never opens a FIFO or device, never reads past the cap.
    private static func read(_ path: String) -> Result<InputFile.Contents, CertificateError> {
        switch InputFile.read(path, limit: maximumFileSize) {
        case .success(let contents): return .success(contents)
        case .failure(let failure):
            switch failure.kind {
            case .missing where failure.reason == "no such file": return .failure(.missingFile(path))
            case .missing: return .failure(.missingFile(path, failure.reason))
            case .empty: return .failure(.invalidPEM(path, "file is empty"))
            default: return .failure(.unreadableFile(path, failure.reason))
            }
        }
    }

    /// Whether any of `names` is present in `directory` (a dangling link counts).
    static func hasAny(_ names: [String], in directory: String) -> Bool {
        names.contains { name in
            var info = stat()
            return lstat((directory as NSString).appendingPathComponent(name), &info) == 0
        }
    }

    /// The first of `names` present in `directory` (a dangling link counts: it is reported as such), else the first.
    static func pick(_ names: [String], in directory: String) -> String {
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            var info = stat()
            if lstat(path, &info) == 0 { return path }
        }
        return (directory as NSString).appendingPathComponent(names[0])
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

    /// Reads `directory/fileName` when it exists (regular file or a link to one, at most `limit` bytes) and checks it
    /// with `parse`; nil when there is no such file. An empty file is `emptyError`; other read failures say why.
    static func readOptional<T>(
        _ fileName: String, in directory: String, limit: Int, emptyError: (String) -> CertificateError,
        parse: (String, [UInt8]) -> Result<T, CertificateError>
    ) -> Result<T, CertificateError>? {
        let path = (directory as NSString).appendingPathComponent(fileName)
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        switch InputFile.read(path, limit: limit) {
        case .success(let contents): return parse(path, contents.bytes)
        case .failure(let failure):
            switch failure.kind {
            case .missing: return .failure(.missingFile(path, failure.reason))
            case .empty: return .failure(emptyError(path))
            default: return .failure(.unreadableFile(path, failure.reason))
            }
        }
    }
}
