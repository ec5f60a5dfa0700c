import Crypto
import Foundation

/// The users of HTTP basic authentication in `DIR/NAME/htpasswd`: one `user:{SHA}hash` per line, as `htpasswd -s`
/// writes them. It lives beside the certificates, never in the routes file, and is watched and reloaded like them.
///
/// Envoy's basic auth checks only `{SHA}` (unsalted SHA-1) hashes, so other formats are refused with a message
/// that says how to make the right one, rather than loading a file whose users could never log in.
public struct UserList: Hashable, Sendable {
    public static let fileName = "htpasswd"
    /// A user list is a few lines; a large file is a mistake.
    public static let maximumFileSize = 1 << 20

    /// The folder name (`DIR/NAME/htpasswd`).
    public let name: String
    /// The lines as Envoy reads them (comments and blank lines dropped), in file order.
    public let text: String
    public let users: [String]
    /// SHA-256 of `text`, lowercase hex: tells a rescan whether anything changed.
    public let contentDigest: String

    /// Checks the bytes of an `htpasswd` file. Messages name the line, never its hash. Pure: `path` names the file.
    public static func parse(name: String, bytes: [UInt8], path: String) -> Result<UserList, CertificateError> {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(.invalidUsers(path, "is not UTF-8 text"))
        }
        var lines: [String] = []
        var users: [String] = []
        // "\r\n" is one Character in Swift, so a plain split on "\n" would not see Windows line ends.
        let rawLines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, raw) in rawLines.enumerated() {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                return .failure(.invalidUsers(path, "line \(index + 1) is not user:hash"))
            }
            let user = String(line[..<colon])
            let hash = line[line.index(after: colon)...]
            guard !user.isEmpty, !user.contains(where: { $0.isWhitespace }) else {
                return .failure(.invalidUsers(path, "line \(index + 1) has an empty user name or one with spaces"))
            }
            guard hash.hasPrefix("{SHA}") else {
                return .failure(
                    .invalidUsers(
                        path,
                        "line \(index + 1) (user \"\(user)\") is not a {SHA} hash, the only kind Envoy checks; "
                            + "write it with htpasswd -s (bcrypt, MD5 and plain passwords are refused)"))
            }
            guard let digest = Data(base64Encoded: String(hash.dropFirst(5))), digest.count == Insecure.SHA1.byteCount
            else {
                return .failure(
                    .invalidUsers(path, "line \(index + 1) (user \"\(user)\") has a {SHA} hash that is not 20 bytes"))
            }
            if users.contains(user) {
                return .failure(.invalidUsers(path, "line \(index + 1): user \"\(user)\" is listed twice"))
            }
            users.append(user)
            lines.append(line)
        }
        guard !users.isEmpty else { return .failure(.invalidUsers(path, "lists no user")) }
        let normalized = lines.joined(separator: "\n") + "\n"
        return .success(
            UserList(
                name: name, text: normalized, users: users,
                contentDigest: CertificateDirectory.hex(SHA256.hash(data: Array(normalized.utf8)))))
    }

    /// Reads `directory/htpasswd` (regular file or a link to one, size-capped); nil when there is none.
    static func load(name: String, directory: String) -> Result<UserList, CertificateError>? {
        CertificateDirectory.readOptional(
            fileName, in: directory, limit: maximumFileSize, emptyError: { .invalidUsers($0, "file is empty") },
            parse: { parse(name: name, bytes: $1, path: $0) })
    }
}
