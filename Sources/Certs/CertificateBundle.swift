import Foundation

/// One certificate as found in the cert directory: the PEM chain and key as read, plus facts about the leaf.
///
/// The private key is carried only to be sent over SDS. `description`, `debugDescription` and the reflection
/// mirror (what `dump` and debuggers show) leave it out, so logging a bundle never logs the key.
public struct CertificateBundle: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The directory name under the cert directory (`DIR/NAME/tls.crt`); what `certificate:` refers to.
    public let name: String
    /// `tls.crt` exactly as read: leaf first, then intermediates.
    public let certificateChainPEM: [UInt8]
    /// `tls.key` exactly as read. Never printed.
    public let privateKeyPEM: [UInt8]
    /// The leaf's serial number, lowercase hex without separators.
    public let serialNumber: String
    /// SHA-256 of the leaf's DER encoding, lowercase hex without separators.
    public let sha256Fingerprint: String
    /// The leaf's DNS subject alternative names, in certificate order.
    public let dnsNames: [String]
    public let notBefore: Date
    public let notAfter: Date
    /// The leaf's issuer distinguished name, as text.
    public let issuer: String
    /// The chain file as found in the directory (`DIR/NAME/tls.crt` or `DIR/NAME/fullchain.pem`).
    public let certificateFile: String
    /// Where the chain really lives, after every link (certbot's `archive/NAME/fullchainN.pem`).
    public let sourcePath: String
    /// When the chain file last changed.
    public let modified: Date
    /// SHA-256 over the chain and key bytes: tells a rescan whether anything changed. Reveals nothing of the key.
    public let contentDigest: String

    public init(
        name: String, certificateChainPEM: [UInt8], privateKeyPEM: [UInt8], serialNumber: String,
        sha256Fingerprint: String, dnsNames: [String], notBefore: Date, notAfter: Date,
        issuer: String = "", certificateFile: String = "", sourcePath: String = "",
        modified: Date = Date(timeIntervalSince1970: 0), contentDigest: String = ""
    ) {
        self.issuer = issuer
        self.certificateFile = certificateFile
        self.sourcePath = sourcePath
        self.modified = modified
        self.contentDigest = contentDigest
        self.name = name
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.serialNumber = serialNumber
        self.sha256Fingerprint = sha256Fingerprint
        self.dnsNames = dnsNames
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// Whether the leaf's notAfter has passed at `now`.
    public func isExpired(at now: Date) -> Bool { now > notAfter }

    /// Whole days from `now` until notAfter (negative once expired).
    public func daysLeft(at now: Date) -> Int { Int((notAfter.timeIntervalSince(now) / 86400).rounded(.down)) }

    public var description: String {
        "CertificateBundle(\(name), dns: [\(dnsNames.joined(separator: ", "))], notAfter: \(Timestamp.text(notAfter)), sha256: \(sha256Fingerprint))"
    }

    public var debugDescription: String {
        "CertificateBundle(name: \(name), serial: \(serialNumber), sha256: \(sha256Fingerprint), dns: \(dnsNames), "
            + "notBefore: \(Timestamp.text(notBefore)), notAfter: \(Timestamp.text(notAfter)), "
            + "chain: \(certificateChainPEM.count) bytes, privateKey: <redacted>)"
    }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "name": name,
                "serialNumber": serialNumber,
                "sha256Fingerprint": sha256Fingerprint,
                "dnsNames": dnsNames,
                "notBefore": notBefore,
                "notAfter": notAfter,
                "issuer": issuer,
                "sourcePath": sourcePath,
                "certificateChainPEM": "\(certificateChainPEM.count) bytes",
                "privateKeyPEM": "<redacted>",
            ], displayStyle: .struct)
    }
}

/// RFC 3339 UTC timestamps for messages, independent of the process locale.
public enum Timestamp {
    public static func text(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
