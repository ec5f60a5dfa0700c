/// The one error type of the Protobuf module.
///
/// Equality and hashing use `code` only, so tests match the kind of failure rather than the wording
/// (the same choice as swift-certificates' `CertificateError`). `path` names the type and field, e.g.
/// `envoy.config.listener.v3.Listener.name`.
public struct ProtoError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The type name is not in proto/.
        public static let unknownType = Code("unknownType")
        /// The message has no field with that name.
        public static let unknownField = Code("unknownField")
        /// The value's kind does not fit the field (wrong case, out of range, unknown enum name, ...).
        public static let typeMismatch = Code("typeMismatch")
        /// The bytes are not a valid encoding of the type.
        public static let malformed = Code("malformed")

        public var description: String { name }
    }

    public var code: Code
    /// `Type.field` (or just `Type`) where the problem is.
    public var path: String
    public var reason: String

    public var description: String { "\(code): \(path): \(reason)" }

    public static func == (lhs: ProtoError, rhs: ProtoError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    static func unknownType(_ name: String) -> ProtoError {
        ProtoError(code: .unknownType, path: name, reason: "type is not declared in proto/")
    }

    static func unknownField(_ type: String, _ field: String) -> ProtoError {
        ProtoError(code: .unknownField, path: "\(type).\(field)", reason: "no such field")
    }

    static func typeMismatch(_ path: String, _ reason: String) -> ProtoError {
        ProtoError(code: .typeMismatch, path: path, reason: reason)
    }

    static func malformed(_ path: String, _ reason: String) -> ProtoError {
        ProtoError(code: .malformed, path: path, reason: reason)
    }
}
