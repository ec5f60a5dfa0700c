/// A protobuf message as a plain Swift value: its full proto type name and its set fields.
///
/// Other modules build Envoy resources with this instead of generated structs, so protobuf-c never leaks out of
/// this module. Fields are keyed by their `.proto` (snake_case) name. A decoded message holds only fields that are
/// present on the wire: proto3 scalars at their zero value are absent, oneof members and messages are present when set.
public struct ProtoMessage: Hashable, Sendable {
    /// Full proto name, e.g. `envoy.config.listener.v3.Listener`.
    public var typeName: String
    /// Set fields keyed by `.proto` field name.
    public var fields: [String: ProtoValue]

    public init(_ typeName: String, _ fields: [String: ProtoValue] = [:]) {
        self.typeName = typeName
        self.fields = fields
    }

    public subscript(_ field: String) -> ProtoValue? {
        get { fields[field] }
        set { fields[field] = newValue }
    }
}

/// One field value. The case says how the value is given; the schema decides how it is encoded.
public indirect enum ProtoValue: Hashable, Sendable {
    case bool(Bool)
    /// Any integer field (int32/64, uint32/64, sint, fixed), or an enum given by number. A uint64 above
    /// `Int64.max` travels as its bit pattern.
    case int(Int64)
    /// A float or double field.
    case double(Double)
    case string(String)
    case bytes([UInt8])
    /// An enum by value name, e.g. `ROUND_ROBIN`.
    case enumValue(String)
    case message(ProtoMessage)
    /// A `google.protobuf.Any` field holding this message. The encoder packs it with the type URL
    /// `type.googleapis.com/<typeName>`; the decoder yields `.any` when the packed type is known, else `.message` of
    /// the raw Any.
    case any(ProtoMessage)
    /// A repeated field.
    case list([ProtoValue])
    /// A `map<string, V>` field.
    case map([String: ProtoValue])
}

extension ProtoValue {
    /// A `google.protobuf.Duration`, with zero parts left out so it equals its decoded form.
    public static func duration(_ d: Swift.Duration) -> ProtoValue {
        let (seconds, attoseconds) = d.components
        var fields: [String: ProtoValue] = [:]
        if seconds != 0 { fields["seconds"] = .int(seconds) }
        let nanos = attoseconds / 1_000_000_000
        if nanos != 0 { fields["nanos"] = .int(nanos) }
        return .message(ProtoMessage("google.protobuf.Duration", fields))
    }

    /// A `google.protobuf.UInt32Value` wrapper.
    public static func uint32Value(_ v: UInt32) -> ProtoValue {
        wrapper("google.protobuf.UInt32Value", v == 0 ? nil : .int(Int64(v)))
    }

    /// A `google.protobuf.UInt64Value` wrapper.
    public static func uint64Value(_ v: UInt64) -> ProtoValue {
        wrapper("google.protobuf.UInt64Value", v == 0 ? nil : .int(Int64(bitPattern: v)))
    }

    /// A `google.protobuf.BoolValue` wrapper: unlike a plain bool, `false` is still a set value.
    public static func boolValue(_ v: Bool) -> ProtoValue {
        wrapper("google.protobuf.BoolValue", v ? .bool(true) : nil)
    }

    /// A `google.protobuf.StringValue` wrapper.
    public static func stringValue(_ v: String) -> ProtoValue {
        wrapper("google.protobuf.StringValue", v.isEmpty ? nil : .string(v))
    }

    /// A `google.protobuf.DoubleValue` wrapper.
    public static func doubleValue(_ v: Double) -> ProtoValue {
        wrapper("google.protobuf.DoubleValue", v == 0 ? nil : .double(v))
    }

    private static func wrapper(_ type: String, _ value: ProtoValue?) -> ProtoValue {
        .message(ProtoMessage(type, value.map { ["value": $0] } ?? [:]))
    }
}

extension ProtoValue {
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int64? {
        if case .int(let v) = self { return v }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var doubleValue: Double? {
        if case .double(let v) = self { return v }
        return nil
    }

    public var bytesValue: [UInt8]? {
        if case .bytes(let v) = self { return v }
        return nil
    }

    public var enumName: String? {
        if case .enumValue(let v) = self { return v }
        return nil
    }

    /// The message of `.message`, or the packed message of `.any`.
    public var messageValue: ProtoMessage? {
        switch self {
        case .message(let m), .any(let m): return m
        default: return nil
        }
    }

    /// The packed message of `.any` only.
    public var anyValue: ProtoMessage? {
        if case .any(let m) = self { return m }
        return nil
    }

    public var listValue: [ProtoValue]? {
        if case .list(let v) = self { return v }
        return nil
    }

    public var mapValue: [String: ProtoValue]? {
        if case .map(let v) = self { return v }
        return nil
    }
}
