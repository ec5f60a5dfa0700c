/// A certificate bundle that could not be used, naming the file and what is wrong with it.
///
/// Never carries key material: messages about `tls.key` say what kind of problem it is, not what is in it.
/// Equality and hashing look at `code` alone, as in swift-certificates' `CertificateError`.
public struct CertificateError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: String, Hashable, Sendable {
            case directoryMissing, directoryUnreadable, noCertificates, missingFile, unreadableFile
            case invalidPEM, invalidCertificate, invalidPrivateKey, unsupportedPrivateKey, encryptedPrivateKey
            case privateKeyInCertificateFile, keyMismatch, expired, notYetValid, invalidUsers
        }
        fileprivate let backing: Backing
        fileprivate init(_ backing: Backing) { self.backing = backing }
        public var description: String { backing.rawValue }

        /// The certificate directory does not exist or is not a directory.
        public static let directoryMissing = Code(.directoryMissing)
        /// The certificate directory (or a bundle directory) cannot be listed.
        public static let directoryUnreadable = Code(.directoryUnreadable)
        /// The certificate directory holds no bundle directory at all.
        public static let noCertificates = Code(.noCertificates)
        /// A bundle directory lacks `tls.crt` or `tls.key`.
        public static let missingFile = Code(.missingFile)
        /// A file exists but cannot be read (permissions, a directory, too large).
        public static let unreadableFile = Code(.unreadableFile)
        /// No PEM block, or a PEM block whose base64 does not decode.
        public static let invalidPEM = Code(.invalidPEM)
        /// A `CERTIFICATE` block that is not a valid X.509 certificate.
        public static let invalidCertificate = Code(.invalidCertificate)
        /// A private key block that does not parse.
        public static let invalidPrivateKey = Code(.invalidPrivateKey)
        /// A key type Chancery cannot check (DSA, OpenSSH format, unknown curve).
        public static let unsupportedPrivateKey = Code(.unsupportedPrivateKey)
        /// A passphrase-protected key; Envoy needs it in the clear.
        public static let encryptedPrivateKey = Code(.encryptedPrivateKey)
        /// `tls.crt` contains a private key, which would be sent out as part of the chain.
        public static let privateKeyInCertificateFile = Code(.privateKeyInCertificateFile)
        /// `tls.key` is not the key of the leaf certificate in `tls.crt`.
        public static let keyMismatch = Code(.keyMismatch)
        /// The leaf certificate's notAfter has passed.
        public static let expired = Code(.expired)
        /// The leaf certificate's notBefore is in the future.
        public static let notYetValid = Code(.notYetValid)
        /// An `htpasswd` file with a line Envoy cannot check.
        public static let invalidUsers = Code(.invalidUsers)
    }

    public let code: Code
    /// The file or directory the problem is about.
    public let path: String
    /// What is wrong, for a person.
    public let reason: String

    private init(_ code: Code, path: String, reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }

    public static func == (lhs: CertificateError, rhs: CertificateError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}

extension CertificateError {
    static func directoryMissing(_ path: String) -> Self {
        Self(.directoryMissing, path: path, reason: "certificate directory does not exist or is not a directory")
    }
    static func directoryUnreadable(_ path: String, _ why: String) -> Self {
        Self(.directoryUnreadable, path: path, reason: "cannot list directory: \(why)")
    }
    static func noCertificates(_ path: String) -> Self {
        Self(
            .noCertificates, path: path,
            reason: "no certificates found; expected one subdirectory per certificate holding tls.crt and tls.key "
                + "(or fullchain.pem and privkey.pem)")
    }
    /// A certificate folder the routes file names is gone from the directory (renamed away, being replaced).
    public static func folderGone(_ path: String) -> Self {
        Self(.missingFile, path: path, reason: "certificate folder is no longer in the certificate directory")
    }
    static func missingFile(_ path: String, _ why: String) -> Self {
        Self(.missingFile, path: path, reason: "file is missing: it \(why)")
    }
    static func missingFile(_ path: String) -> Self {
        Self(
            .missingFile, path: path,
            reason:
                "file is missing; each certificate directory needs tls.crt and tls.key (or fullchain.pem and privkey.pem)"
        )
    }
    static func unreadableFile(_ path: String, _ why: String) -> Self {
        Self(.unreadableFile, path: path, reason: "cannot read file: \(why)")
    }
    static func invalidUsers(_ path: String, _ why: String) -> Self {
        Self(.invalidUsers, path: path, reason: why)
    }
    static func invalidPEM(_ path: String, _ why: String) -> Self {
        Self(.invalidPEM, path: path, reason: why)
    }
    static func invalidCertificate(_ path: String, index: Int, _ why: String) -> Self {
        Self(
            .invalidCertificate, path: path, reason: "certificate #\(index + 1) in the chain is not valid X.509: \(why)"
        )
    }
    static func invalidAuthority(_ path: String, index: Int, _ why: String) -> Self {
        Self(.invalidCertificate, path: path, reason: "certificate #\(index + 1) in ca.crt is not valid X.509: \(why)")
    }
    static func invalidPrivateKey(_ path: String, label: String) -> Self {
        Self(.invalidPrivateKey, path: path, reason: "the \"\(label)\" block is not a valid private key")
    }
    static func unsupportedPrivateKey(_ path: String, _ what: String) -> Self {
        Self(
            .unsupportedPrivateKey, path: path,
            reason: "\(what); supported: EC P-256/P-384/P-521, RSA (PKCS#1 or PKCS#8) and Ed25519, unencrypted PEM")
    }
    static func encryptedPrivateKey(_ path: String) -> Self {
        Self(
            .encryptedPrivateKey, path: path,
            reason: "private key is encrypted; Envoy needs it unencrypted (openssl pkey -in KEY -out tls.key)")
    }
    static func privateKeyInCertificateFile(_ path: String) -> Self {
        Self(
            .privateKeyInCertificateFile, path: path,
            reason: "contains a private key; it would be sent to proxies as part of the chain; keep it only in tls.key")
    }
    static func keyMismatch(_ path: String, leaf: String) -> Self {
        Self(.keyMismatch, path: path, reason: "private key does not match the leaf certificate (\(leaf))")
    }
    static func expired(_ path: String, notAfter: String) -> Self {
        Self(
            .expired, path: path,
            reason: "certificate expired on \(notAfter) (notAfter); still served until it is renewed")
    }
    static func notYetValid(_ path: String, notBefore: String) -> Self {
        Self(.notYetValid, path: path, reason: "leaf certificate is not valid yet: notBefore \(notBefore)")
    }
}
