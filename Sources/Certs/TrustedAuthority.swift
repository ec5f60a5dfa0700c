import Crypto
import Foundation
import X509

/// The certificate authorities in `DIR/NAME/ca.crt`: whom a listener trusts to sign client certificates.
///
/// Kept apart from the serving pair (`tls.crt` + `tls.key`): a broken `ca.crt` is reported but never stops the
/// folder's certificate from being served; only a listener that asks for client certificates from it is affected.
/// A folder may also hold only a `ca.crt` (a CA for clients, nothing to serve).
public struct TrustedAuthority: Hashable, Sendable {
    public static let fileName = "ca.crt"

    /// The folder name (`DIR/NAME/ca.crt`).
    public let name: String
    /// `ca.crt` exactly as read: one or more CERTIFICATE blocks.
    public let pem: [UInt8]
    /// How many certificates it holds.
    public let count: Int
    /// SHA-256 of the bytes, lowercase hex: tells a rescan whether anything changed.
    public let contentDigest: String

    public init(name: String, pem: [UInt8], count: Int, contentDigest: String) {
        self.name = name
        self.pem = pem
        self.count = count
        self.contentDigest = contentDigest
    }

    /// Checks the bytes of a `ca.crt`: only CERTIFICATE blocks, at least one, each a valid X.509 certificate.
    /// Pure: `path` only names the file in errors.
    public static func parse(name: String, bytes: [UInt8], path: String) -> Result<TrustedAuthority, CertificateError> {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("PRIVATE KEY-----") { return .failure(.privateKeyInCertificateFile(path)) }
        let blocks: [PEMBlock]
        switch PEM.blocks(in: text) {
        case .failure(let failure): return .failure(.invalidPEM(path, PEM.describe(failure)))
        case .success(let found): blocks = found
        }
        if let other = blocks.first(where: { $0.label != "CERTIFICATE" }) {
            return .failure(
                .invalidPEM(path, "unexpected PEM block \"\(other.label)\"; ca.crt holds only CERTIFICATE blocks"))
        }
        for (index, block) in blocks.enumerated() {
            do {
                _ = try Certificate(derEncoded: block.der)
            } catch {
                return .failure(.invalidAuthority(path, index: index, "\(error)"))
            }
        }
        return .success(
            TrustedAuthority(
                name: name, pem: bytes, count: blocks.count,
                contentDigest: CertificateDirectory.hex(SHA256.hash(data: bytes))))
    }

    /// Reads `directory/ca.crt` through `InputFile` (regular file or a link to one, size-capped).
    /// nil when there is no `ca.crt` at all.
    static func load(name: String, directory: String) -> Result<TrustedAuthority, CertificateError>? {
        CertificateDirectory.readOptional(
            fileName, in: directory, limit: CertificateDirectory.maximumFileSize,
            emptyError: { .invalidPEM($0, "file is empty") }, parse: { parse(name: name, bytes: $1, path: $0) })
    }
}
