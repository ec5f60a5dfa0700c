import Protobuf
import Vocabulary

/// Renders snapshots as proto3 JSON with private keys redacted: for `render`, `/snapshot` and golden files.
public enum SnapshotJSON {
    /// A JSON array of every resource of one type, sorted by name.
    public static func render(_ type: TypeSnapshot) -> String {
        let items = type.sorted.map {
            ProtoJSON.render($0.message, redacting: Redaction.fields)
        }
        return array(items)
    }

    /// `{"version": …, "types": {"cluster": {"version": …, "resources": [...]}, …}}` for one group.
    public static func render(_ group: GroupSnapshot) -> String {
        var members: [(String, String)] = []
        for type in ResourceType.allCases.sorted() {
            let snapshot = group[type]
            members.append(
                (
                    type.rawValue,
                    object([
                        ("version", quoted(snapshot.version)),
                        ("resources", render(snapshot)),
                    ])
                ))
        }
        return object([
            ("group", quoted(group.group)),
            ("version", quoted(group.version)),
            ("types", object(members)),
        ])
    }

    public static func array(_ items: [String]) -> String {
        guard !items.isEmpty else { return "[]" }
        return "[\n" + items.map { indent($0) }.joined(separator: ",\n") + "\n]"
    }

    public static func object(_ members: [(String, String)]) -> String {
        guard !members.isEmpty else { return "{}" }
        return "{\n" + members.map { indent(quoted($0.0) + ": " + $0.1) }.joined(separator: ",\n") + "\n}"
    }

    public static func quoted(_ text: String) -> String {
        ProtoJSON.quoted(text)
    }

    private static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
