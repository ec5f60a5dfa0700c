import Dispatch
import Foundation
import TestSupport
import Testing

@testable import Certs

#if canImport(Glibc)
    import Glibc
#endif

/// Input files that must never block or be read whole, certbot's layout, and renewals caught half-way.
@Suite("Certificate inputs")
struct CertificateInputTests {
    /// Runs `body` on another thread and waits at most `seconds`; nil when it did not finish in time.
    static func bounded<T: Sendable>(
        seconds: Double, unblock: () -> Void = {},
        _ body: @escaping @Sendable () -> T
    ) -> T? {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        DispatchQueue.global().async {
            box.value = body()
            done.signal()
        }
        if done.wait(timeout: .now() + seconds) == .timedOut {
            unblock()
            _ = done.wait(timeout: .now() + 5)
            return nil
        }
        return box.value
    }

    final class ResultBox<T>: @unchecked Sendable { var value: T? }

    /// A writer opened on the FIFO releases a reader stuck in open(), so a failing test still ends.
    static func release(fifo path: String) {
        let fd = open(path, O_WRONLY | O_NONBLOCK)
        if fd >= 0 { close(fd) }
    }

    @Test func fifoInPlaceOfACertificateIsRefusedWithoutBlocking() throws {
        let temp = try TemporaryDirectory()
        let site = FixturePaths.path("example-site/certs/example.test")
        try FileManager.default.createDirectory(atPath: temp.path + "/good", withIntermediateDirectories: true)
        for file in ["tls.crt", "tls.key"] {
            try FileManager.default.copyItem(atPath: "\(site)/\(file)", toPath: "\(temp.path)/good/\(file)")
        }
        // A folder no listener uses, its tls.crt a FIFO nobody writes to.
        try FileManager.default.createDirectory(atPath: temp.path + "/unused", withIntermediateDirectories: true)
        let fifo = temp.path + "/unused/tls.crt"
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.copyItem(atPath: "\(site)/tls.key", toPath: "\(temp.path)/unused/tls.key")

        let path = temp.path
        let result = Self.bounded(seconds: 10, unblock: { Self.release(fifo: fifo) }) {
            CertificateDirectory.load(path: path)
        }
        let (bundles, errors) = try #require(result, "loading blocked on the FIFO")
        #expect(bundles.keys.sorted() == ["good"])
        #expect(errors.count == 1)
        #expect(errors.first?.code == .unreadableFile)
        #expect(errors.first?.path == fifo)
        #expect(errors.first?.reason.contains("is a FIFO, not a regular file") == true, "\(errors)")
    }

    @Test func fifoAsRoutesFileIsRefusedWithItsReason() throws {
        let temp = try TemporaryDirectory()
        let fifo = temp.path + "/routes.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        let result = Self.bounded(seconds: 10, unblock: { Self.release(fifo: fifo) }) {
            InputFile.read(fifo, limit: 1 << 20)
        }
        let outcome = try #require(result, "reading blocked on the FIFO")
        guard case .failure(let failure) = outcome else {
            Issue.record("a FIFO was read")
            return
        }
        #expect(failure.kind == .notRegular)
        #expect(failure.reason == "is a FIFO, not a regular file")
    }

    /// A sparse file: 64 MiB long, nothing on disk. It is refused on its size, never read.
    @Test func oversizeFileIsRefusedOnItsSize() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path + "/routes.yaml"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("groups: [a]\n".utf8)))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 64 << 20)
        try handle.close()
        guard case .failure(let failure) = InputFile.read(path, limit: 16 << 20) else {
            Issue.record("an oversize file was read")
            return
        }
        #expect(failure.kind == .tooLarge)
        #expect(failure.reason.contains("\(64 << 20) bytes"), "\(failure)")
        #expect(failure.reason.contains("limit \(16 << 20) bytes"), "\(failure)")
        // Within the cap it reads.
        guard case .success(let contents) = InputFile.read(path, limit: 128 << 20) else {
            Issue.record("a file within the cap was refused")
            return
        }
        #expect(contents.bytes.count == 64 << 20)
    }

    @Test func oversizeCertificateIsRefused() throws {
        let temp = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: temp.path + "/big", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: temp.path + "/big/tls.crt", contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: temp.path + "/big/tls.crt"))
        try handle.truncate(atOffset: 8 << 20)
        try handle.close()
        try FileManager.default.copyItem(
            atPath: FixturePaths.path("example-site/certs/example.test/tls.key"),
            toPath: temp.path + "/big/tls.key")
        let errors = CertificateDirectory.load(path: temp.path).errors
        #expect(errors.map(\.code) == [.unreadableFile])
        #expect(errors.first?.reason.contains("too large") == true, "\(errors)")
    }

    /// certbot: `DIR/site/{fullchain,privkey}.pem` → `live/site/…` → `archive/site/…1.pem`.
    @Test func certbotLayoutLoadsThroughItsLinks() throws {
        let temp = try TemporaryDirectory()
        let source = FixturePaths.path("example-site/certs/example.test")
        let letsencrypt = try CertbotTree(root: temp.path + "/letsencrypt", name: "site")
        try letsencrypt.issue(
            certificate: String(contentsOfFile: source + "/tls.crt", encoding: .utf8),
            key: String(contentsOfFile: source + "/tls.key", encoding: .utf8))
        let certs = temp.path + "/certs"
        try FileManager.default.createDirectory(atPath: certs + "/site", withIntermediateDirectories: true)
        for file in ["fullchain.pem", "privkey.pem"] {
            try FileManager.default.createSymbolicLink(
                atPath: "\(certs)/site/\(file)",
                withDestinationPath: "\(letsencrypt.live)/\(file)")
        }
        let (bundles, errors) = CertificateDirectory.load(path: certs)
        #expect(errors.isEmpty, "\(errors)")
        let bundle = try #require(bundles["site"])
        #expect(bundle.dnsNames == ["example.test", "*.example.test"])
        #expect(bundle.certificateFile == certs + "/site/fullchain.pem")
        #expect(bundle.sourcePath.hasSuffix("/archive/site/fullchain1.pem"), "\(bundle.sourcePath)")
        #expect(!bundle.issuer.isEmpty)
    }

    /// certbot re-points `cert`/`fullchain` before `privkey`: in between, the pair does not match.
    @Test func halfRenewedPairKeepsTheLastGoodVersion() throws {
        let temp = try TemporaryDirectory()
        let (oldKey, oldKeyPEM, algorithm) = try KeyTypeTests.makeKey(.p256)
        let (newKey, newKeyPEM, _) = try KeyTypeTests.makeKey(.p256)
        let oldCertificate = try KeyTypeTests.makeCertificate(key: oldKey, algorithm: algorithm)
        let newCertificate = try KeyTypeTests.makeCertificate(key: newKey, algorithm: algorithm)
        let tree = try CertbotTree(root: temp.path + "/letsencrypt", name: "site")
        try tree.issue(certificate: oldCertificate, key: oldKeyPEM)
        let certs = temp.path + "/certs"
        try FileManager.default.createSymbolicLink(atPath: certs, withDestinationPath: temp.path + "/letsencrypt/live")

        let first = CertificateDirectory.scan(path: certs)
        let good = try #require(first.bundles["site"], "\(first.errors)")

        try tree.issue(certificate: newCertificate, key: newKeyPEM, keyToo: false)  // half-way
        let half = CertificateDirectory.scan(path: certs, lastGood: first.bundles)
        #expect(half.bundles["site"] == good, "the last good pair is still served")
        #expect(half.bundles["site"]?.serialNumber == good.serialNumber)
        #expect(half.kept["site"]?.code == .keyMismatch)
        #expect(half.kept["site"]?.reason.contains("does not match") == true)
        #expect(half.isWaitingForRepair)

        // Without a last good version, the name is broken (and says why), never served half-renewed.
        let fresh = CertificateDirectory.scan(path: certs)
        #expect(fresh.bundles["site"] == nil)
        #expect(fresh.broken["site"]?.code == .keyMismatch)

        try tree.repoint("privkey")  // the renewal completes
        let done = CertificateDirectory.scan(path: certs, lastGood: half.bundles)
        #expect(done.kept.isEmpty)
        #expect(done.bundles["site"]?.serialNumber != good.serialNumber)
        #expect(done.bundles["site"]?.certificateChainPEM == Array(newCertificate.utf8))
    }

    @Test func expiredCertificateStillLoadsAndIsReported() throws {
        let temp = try TemporaryDirectory()
        let (key, keyPEM, algorithm) = try KeyTypeTests.makeKey(.p256)
        let certificate = try KeyTypeTests.makeCertificate(
            key: key, algorithm: algorithm,
            notBefore: Date() - 10 * 86400, notAfter: Date() - 86400)
        try KeyTypeTests.writeBundle(in: temp.path, name: "old", certificate: certificate, key: keyPEM)
        let scan = CertificateDirectory.scan(path: temp.path)
        let bundle = try #require(scan.bundles["old"], "an expired certificate is still served")
        #expect(bundle.isExpired(at: Date()))
        #expect(bundle.daysLeft(at: Date()) < 0)
        #expect(scan.broken.isEmpty)
        #expect(scan.errors.map(\.code) == [.expired])
        #expect(scan.errors.first?.reason.contains("expired on") == true)
    }
}

/// A miniature `/etc/letsencrypt`: `archive/NAME/{cert,chain,fullchain,privkey}N.pem` and `live/NAME/*.pem` links.
struct CertbotTree {
    let root: String
    let name: String
    var live: String { "\(root)/live/\(name)" }
    var archive: String { "\(root)/archive/\(name)" }

    init(root: String, name: String) throws {
        self.root = root
        self.name = name
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
    }

    /// The highest version number in archive/.
    func version() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []
        return names.compactMap { Int($0.filter(\.isNumber)) }.max() ?? 0
    }

    /// Writes version N+1 into archive/ and re-points the fullchain link (and the key link unless `keyToo` is false).
    func issue(certificate: String, key: String, keyToo: Bool = true) throws {
        let next = version() + 1
        try certificate.write(toFile: "\(archive)/fullchain\(next).pem", atomically: true, encoding: .utf8)
        try key.write(toFile: "\(archive)/privkey\(next).pem", atomically: true, encoding: .utf8)
        try repoint("fullchain", to: next)
        if keyToo { try repoint("privkey", to: next) }
    }

    /// Points `live/NAME/FILE.pem` at the archive's version `to` (default: the newest), replacing the link.
    func repoint(_ file: String, to version: Int? = nil) throws {
        let link = "\(live)/\(file).pem"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(
            atPath: link, withDestinationPath: "../../archive/\(name)/\(file)\(version ?? self.version()).pem")
    }
}
