/// A JSON-shaped value read from a YAML or JSON file, with where it was written: what `ProtoJSON.parse` reads.
///
/// The reader of the file (YAML or JSON) builds this tree, so this module needs no YAML library and every error can
/// point at the line and column of the value that caused it.
public struct ProtoInput: Sendable {
    public indirect enum Value: Sendable {
        case null
        case bool(Bool)
        /// A number as written, e.g. `8080`, `-1.5` or `1e3`.
        case number(String)
        case string(String)
        case list([ProtoInput])
        /// Keys in the order written, each with its own position.
        case object([Member])
    }

    public struct Member: Sendable {
        public var key: String
        public var line: Int
        public var column: Int
        public var value: ProtoInput

        public init(key: String, line: Int, column: Int, value: ProtoInput) {
            self.key = key
            self.line = line
            self.column = column
            self.value = value
        }
    }

    public var value: Value
    public var line: Int
    public var column: Int

    public init(_ value: Value, line: Int, column: Int) {
        self.value = value
        self.line = line
        self.column = column
    }

    /// How the value reads in an error message at `path`; text under a key that may hold a secret (a private key,
    /// inline data, users) is described but never quoted, so a misplaced key cannot reach a log or `/status`.
    public func shape(at path: String) -> String {
        if case .string = value {
            let keys = path.split(whereSeparator: { $0 == "." || $0 == "[" }).map { $0.lowercased() }
            if keys.contains(where: { key in Self.sensitiveKeys.contains { key.hasPrefix($0) } }) {
                return "text (not shown: it may be secret)"
            }
        }
        return shape
    }

    static let sensitiveKeys = [
        "private_key", "privatekey", "inline_string", "inlinestring", "inline_bytes",
        "inlinebytes", "users", "password", "secret",
    ]

    /// How the value reads in an error message: `a list`, `the text "abc"`, `the number 5`.
    public var shape: String {
        switch value {
        case .null: return "nothing (null)"
        case .bool(let b): return "the boolean \(b)"
        case .number(let n): return "the number \(n)"
        case .string(let s): return "the text \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .list: return "a list"
        case .object: return "a mapping"
        }
    }
}

/// Why a `ProtoInput` is not a valid proto3 JSON form of the type asked for, and where.
public struct ProtoInputError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    /// Dotted path of JSON keys from the top of the resource, e.g. `filterChains[0].filters[0].typedConfig`.
    public var path: String
    public var message: String
    /// A name that was not recognised, and the names that would have been: the caller may suggest one.
    public var unknownName: String?
    public var candidates: [String]

    public init(
        line: Int, column: Int, path: String, message: String, unknownName: String? = nil,
        candidates: [String] = []
    ) {
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        self.unknownName = unknownName
        self.candidates = candidates
    }

    public var description: String { "\(line):\(column): \(message)" }
}
