import Snapshot
import Vocabulary

/// Notes the secrets a proxy names that its group does not hold.
///
/// A group's snapshot holds exactly the secrets its listeners and clusters reference (`Translator`), and a stream
/// only ever sends names its group holds, so such a request gets nothing. Asking for a key the group does not use
/// is worth a line in the log (a misconfigured proxy, or one probing for other groups' keys): once per name and
/// stream, and at most `limit` names per stream, so a client listing thousands of names cannot flood the log.
struct SecretRequests {
    static let limit = 16
    private(set) var noted: Set<String> = []

    /// The names in `asked` that `secrets` lacks and that were not noted before on this stream.
    mutating func unknown(_ asked: [String], secrets: TypeSnapshot) -> [String] {
        var fresh: [String] = []
        for name in asked where name != "*" && secrets.resources[name] == nil && !noted.contains(name) {
            guard noted.count < Self.limit else { break }
            noted.insert(name)
            fresh.append(name)
        }
        return fresh
    }
}
