/// Encodes and decodes the protobuf types declared in proto/, through libprotobuf-c.
public enum ProtoCodec {
    /// Encodes `message`; throws `ProtoError` naming `Type.field` for unknown fields and wrongly typed values.
    public static func encode(_ message: ProtoMessage) throws -> [UInt8] {
        try Encoder.encode(message)
    }

    /// Decodes bytes as `typeName`. Unknown fields are skipped; malformed input throws `ProtoError.malformed`.
    public static func decode(_ typeName: String, from bytes: [UInt8]) throws -> ProtoMessage {
        try Decoder.decode(typeName, from: bytes)
    }

    /// Whether `typeName` (a full proto name) is declared in proto/.
    public static func isKnown(_ typeName: String) -> Bool {
        Registry.shared.messages[typeName] != nil
    }

    /// The type URL Envoy expects in an Any: `type.googleapis.com/<typeName>`.
    public static func typeURL(for typeName: String) -> String {
        typeURLPrefix + typeName
    }

    /// Encodes `message` wrapped in a `google.protobuf.Any`, the form a `DiscoveryResponse` carries.
    public static func encodeAny(_ message: ProtoMessage) throws -> [UInt8] {
        try encode(
            ProtoMessage(
                "google.protobuf.Any",
                [
                    "type_url": .string(typeURL(for: message.typeName)),
                    "value": .bytes(try encode(message)),
                ]))
    }
}
