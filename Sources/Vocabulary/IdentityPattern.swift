/// Who may take a node group when proxies authenticate with client certificates: one entry of a group's
/// `identities:` list in the routes file, matched against the URI and DNS subject alternative names of a verified
/// client certificate.
///
/// The rules, chosen to be easy to read in a routes file and hard to get wrong:
/// - `*` alone: any certificate the client CA verified (an explicit opt-in; a group without `identities` is not
///   available to certificate-authenticated proxies at all).
/// - text with `://` is a URI pattern (e.g. SPIFFE IDs): equal to a URI SAN, or, when it ends in `*`, a prefix of
///   one (`spiffe://example.org/ns/edge/*`). No other `*` is allowed.
/// - anything else is a DNS pattern, compared without regard to case: equal to a DNS SAN, or with one `*` in its
///   first label, which stands for any run of characters inside that one label (`edge-*.example.org` matches
///   `edge-1.example.org`, not `edge-1.eu.example.org`).
public struct IdentityPattern: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case anyCertificate
        case uri(prefix: String, wildcard: Bool)
        case dns(labels: [String])
    }

    public let kind: Kind
    /// The pattern as written.
    public let text: String

    public var description: String { text }

    /// Parses one pattern; the error says what is wrong in words fit for a file:line:col message.
    public static func parse(_ text: String) -> Result<IdentityPattern, IdentityPatternError> {
        if text == "*" { return .success(IdentityPattern(kind: .anyCertificate, text: text)) }
        if text.isEmpty { return .failure(.init("an identity pattern cannot be empty")) }
        if text.utf8.count > 1024 { return .failure(.init("an identity pattern is at most 1024 bytes long")) }
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) {
            return .failure(.init("an identity pattern cannot contain spaces or control characters"))
        }
        if text.contains("://") {
            let stars = text.filter { $0 == "*" }.count
            if stars > 1 || (stars == 1 && !text.hasSuffix("*")) {
                return .failure(.init("in a URI pattern, \"*\" may only be the last character (a prefix match)"))
            }
            let wildcard = stars == 1
            let prefix = wildcard ? String(text.dropLast()) : text
            return .success(IdentityPattern(kind: .uri(prefix: prefix, wildcard: wildcard), text: text))
        }
        let labels = text.lowercased().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if labels.count < 2 {
            return .failure(.init("a DNS pattern needs at least two labels, like \"edge-*.example.org\""))
        }
        for (index, label) in labels.enumerated() {
            if label.isEmpty {
                return .failure(.init("a DNS pattern cannot have an empty label (\"..\" or a dot at an end)"))
            }
            if label.count > 63 { return .failure(.init("a DNS label is at most 63 characters")) }
            let stars = label.filter { $0 == "*" }.count
            if stars > 0 && index > 0 {
                return .failure(.init("\"*\" is only allowed in the first label of a DNS pattern"))
            }
            if stars > 1 { return .failure(.init("a DNS pattern has at most one \"*\"")) }
            let allowed = label.unicodeScalars.allSatisfy { scalar in
                (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || scalar == "-" || scalar == "*"
                    || scalar == "_"
            }
            if !allowed {
                return .failure(
                    .init(
                        "a DNS pattern holds letters, digits, \"-\", \"_\" and one \"*\"; a URI pattern needs \"://\""))
            }
        }
        return .success(IdentityPattern(kind: .dns(labels: labels), text: text))
    }

    /// Whether a certificate with these subject alternative names matches.
    public func matches(uris: [String], dnsNames: [String]) -> Bool {
        switch kind {
        case .anyCertificate:
            return true
        case .uri(let prefix, let wildcard):
            return uris.contains { wildcard ? $0.hasPrefix(prefix) : $0 == prefix }
        case .dns(let labels):
            return dnsNames.contains { Self.dnsMatch(labels, $0) }
        }
    }

    private static func dnsMatch(_ pattern: [String], _ name: String) -> Bool {
        let labels = name.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count == pattern.count else { return false }
        for (want, have) in zip(pattern, labels) {
            guard let star = want.firstIndex(of: "*") else {
                if want != have { return false }
                continue
            }
            let head = want[..<star]
            let tail = want[want.index(after: star)...]
            guard have.count >= head.count + tail.count, have.hasPrefix(head), have.hasSuffix(tail) else {
                return false
            }
        }
        return true
    }
}

/// Why an identity pattern is refused.
public struct IdentityPatternError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
