/// The bearer token an admin bound beyond loopback requires (`serve --admin-token-file`).
///
/// The admin shows which proxies are connected, their nodes and versions, and the snapshot (keys redacted): useful
/// to an attacker mapping the fleet, so off loopback every request must carry `Authorization: Bearer TOKEN`. The
/// comparison takes the same time wherever the first difference is, so response timing does not reveal the token
/// byte by byte.
public struct AdminToken: Sendable, Hashable {
    let bytes: [UInt8]

    /// Tokens shorter than this are refused when the file is read: a guessable token is no protection.
    public static let minimumLength = 16

    /// The token in `text`, without surrounding whitespace (a file written by `echo` ends in a newline); nil when
    /// too short or when it holds characters a header value cannot carry.
    public init?(_ text: String) {
        let trimmed = text.trimmingWhitespace
        guard trimmed.utf8.count >= Self.minimumLength,
            trimmed.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else { return nil }
        bytes = Array(trimmed.utf8)
    }

    /// Whether an `Authorization` header value carries this token.
    public func accepts(_ header: String?) -> Bool {
        guard let header else { return false }
        let value = Array(header.utf8)
        let scheme = Array("bearer ".utf8)
        guard value.count > scheme.count,
            zip(value.prefix(scheme.count), scheme).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 })
        else { return false }
        return Self.constantTimeEqual(Array(value.dropFirst(scheme.count)), bytes)
    }

    /// Equal length and bytes, looking at every byte of the longer input whatever it finds.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        if a.count != b.count { difference |= 1 }
        let length = max(a.count, b.count)
        for index in 0..<length {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
