import Config
import Protobuf
import Yams

/// Turns a Yams node tree into the `ProtoInput` tree the proto3 JSON reader takes, keeping every position.
///
/// YAML is read the way Envoy's own YAML loader reads it: a plain scalar is null, a boolean or a number when it
/// looks like one, and text otherwise; a quoted scalar is always text. JSON files are YAML too, so one reader serves
/// both. Aliases are expanded, but the whole file may expand to at most `nodeBudget` values.
struct YAMLInput {
    static let nodeBudget = 200_000
    let file: String
    private var visited = 0

    init(file: String) { self.file = file }

    mutating func convert(_ node: Node) throws(ConfigError) -> ProtoInput {
        visited += 1
        let (line, column) = (node.mark?.line ?? 1, node.mark?.column ?? 1)
        guard visited <= Self.nodeBudget else {
            throw .rawResource(
                at: SourcePosition(file: file, line: line, column: column), key: "",
                message: "the file expands to more than \(Self.nodeBudget) values",
                hint: "aliases (*name) multiply the document; write the resources out plainly")
        }
        switch node {
        case .scalar(let scalar):
            return ProtoInput(Self.scalar(scalar), line: line, column: column)
        case .sequence(let sequence):
            var items: [ProtoInput] = []
            items.reserveCapacity(sequence.count)
            for item in sequence { items.append(try convert(item)) }
            return ProtoInput(.list(items), line: line, column: column)
        case .mapping(let mapping):
            var members: [ProtoInput.Member] = []
            var seen: [String: Int] = [:]
            for (key, value) in mapping {
                let keyLine = key.mark?.line ?? line
                let keyColumn = key.mark?.column ?? column
                guard let name = key.scalar?.string else {
                    throw .rawResource(
                        at: SourcePosition(file: file, line: keyLine, column: keyColumn), key: "",
                        message: "a mapping key must be text")
                }
                if let first = seen[name] {
                    throw .rawResource(
                        at: SourcePosition(file: file, line: keyLine, column: keyColumn), key: name,
                        message: "key \"\(name)\" appears more than once in the same mapping (first on line \(first))",
                        hint: "keep one; YAML does not merge repeated keys")
                }
                seen[name] = keyLine
                members.append(
                    ProtoInput.Member(key: name, line: keyLine, column: keyColumn, value: try convert(value)))
            }
            return ProtoInput(.object(members), line: line, column: column)
        case .alias:
            throw .rawResource(
                at: SourcePosition(file: file, line: line, column: column), key: "",
                message: "an unresolved YAML alias")
        }
    }

    private static func scalar(_ scalar: Node.Scalar) -> ProtoInput.Value {
        let text = scalar.string
        guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: return isNumber(text) ? .number(text) : .string(text)
        }
    }

    /// JSON's number syntax, with an optional leading `+` as YAML allows.
    private static func isNumber(_ text: String) -> Bool {
        var chars = Substring(text)
        if chars.first == "-" || chars.first == "+" { chars = chars.dropFirst() }
        let mantissa = chars.prefix { $0 != "e" && $0 != "E" }
        let exponent = chars.dropFirst(mantissa.count)
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigitCharacter) else { return false }
        if parts.count == 2, !parts[1].allSatisfy(\.isASCIIDigitCharacter) { return false }
        if !exponent.isEmpty {
            var digits = exponent.dropFirst()
            if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigitCharacter) else { return false }
        }
        return true
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
