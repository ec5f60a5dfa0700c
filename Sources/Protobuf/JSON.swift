/// proto3 JSON for `ProtoMessage`, driven by the same descriptors as the codec.
public enum ProtoJSON {
    /// proto3 JSON: lowerCamelCase names, default (zero) values omitted, enums by name, 64-bit ints as strings,
    /// bytes base64, Duration as "1.500s"/"5s", wrappers bare, Struct/Value/ListValue natural, Any with "@type",
    /// maps as objects. Pretty-printed with 2-space indent and sorted keys, so it is stable for golden files.
    /// `redacting` holds "TypeName.field_name" entries whose values render as the string "[redacted]".
    public static func render(_ message: ProtoMessage, redacting: Set<String> = []) -> String {
        JSONRenderer(redacting: redacting).message(message).serialized()
    }

    /// A JSON string literal for `text`, escaped exactly as `render` escapes strings.
    public static func quoted(_ text: String) -> String {
        JSONNode.string(text).serialized()
    }
}

/// Wrapper types whose JSON form is their bare `value`.
private let wrapperTypes: Set<String> = [
    "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
]

/// Types with their own JSON form; inside an Any they go under "value" rather than being merged.
private let specialTypes: Set<String> = wrapperTypes.union([
    "google.protobuf.Any", "google.protobuf.Duration", "google.protobuf.Timestamp", "google.protobuf.Struct",
    "google.protobuf.Value", "google.protobuf.ListValue", "google.protobuf.FieldMask",
])

private struct JSONRenderer {
    let redacting: Set<String>
    let registry = Registry.shared

    func message(_ m: ProtoMessage) -> JSONNode {
        switch m.typeName {
        case "google.protobuf.Duration":
            return .string(JSONFormat.duration(seconds: m["seconds"]?.intValue ?? 0, nanos: m["nanos"]?.intValue ?? 0))
        case "google.protobuf.Timestamp":
            return .string(JSONFormat.timestamp(seconds: m["seconds"]?.intValue ?? 0, nanos: m["nanos"]?.intValue ?? 0))
        case "google.protobuf.Struct":
            return .object((m["fields"]?.mapValue ?? [:]).mapValues { value($0, nil) })
        case "google.protobuf.ListValue":
            return .array((m["values"]?.listValue ?? []).map { value($0, nil) })
        case "google.protobuf.Value":
            return structValue(m)
        case "google.protobuf.Any":
            return rawAny(m)
        case let type where wrapperTypes.contains(type):
            let field = registry.messages[type]?.field("value")
            if let v = m["value"] { return value(v, field) }
            return field.map { value(zero(of: $0), $0) } ?? .null
        default:
            return regular(m)
        }
    }

    private func regular(_ m: ProtoMessage) -> JSONNode {
        let schema = registry.messages[m.typeName]
        var members: [String: JSONNode] = [:]
        for (name, v) in m.fields {
            let field = schema?.field(name)
            if isDefault(v, field) { continue }
            let key = field?.jsonName ?? jsonName(name)
            if redacting.contains("\(m.typeName).\(name)") {
                members[key] = .string("[redacted]")
            } else {
                members[key] = value(v, field)
            }
        }
        return .object(members)
    }

    /// proto3 JSON leaves out what implicit presence leaves off the wire: zero scalars outside a oneof,
    /// and empty repeated or map fields.
    private func isDefault(_ v: ProtoValue, _ field: FieldSchema?) -> Bool {
        switch v {
        case .list(let l): return l.isEmpty
        case .map(let d): return d.isEmpty
        default: break
        }
        guard let field, !field.inOneof, field.kind != .message else { return false }
        if case .enumValue(let name) = v {
            return registry.enums[field.enumType ?? ""]?.numberByName[name] == 0
        }
        return v.isZero
    }

    private func value(_ v: ProtoValue, _ field: FieldSchema?) -> JSONNode {
        switch v {
        case .bool(let b): return .bool(b)
        case .int(let i):
            guard let field else { return .number(String(i)) }
            if field.kind == .enumeration {
                if let name = registry.enums[field.enumType ?? ""]?.nameByNumber[Int32(truncatingIfNeeded: i)] {
                    return .string(name)
                }
                return .number(String(i))
            }
            if field.kind.isUnsigned64 { return .string(String(UInt64(bitPattern: i))) }
            if field.kind.is64Bit { return .string(String(i)) }
            return .number(String(i))
        case .double(let d): return field?.kind == .float ? JSONFormat.float(d) : JSONFormat.double(d)
        case .string(let s): return .string(s)
        case .bytes(let b): return .string(JSONFormat.base64(b))
        case .enumValue(let name): return .string(name)
        case .message(let m): return message(m)
        case .any(let inner): return any(inner)
        case .list(let items): return .array(items.map { value($0, field) })
        case .map(let dict):
            let valueField = field?.messageType.flatMap { registry.messages[$0]?.field("value") }
            return .object(dict.mapValues { value($0, valueField) })
        }
    }

    private func any(_ inner: ProtoMessage) -> JSONNode {
        let type = JSONNode.string(typeURLPrefix + inner.typeName)
        let body = message(inner)
        if !specialTypes.contains(inner.typeName), case .object(var members) = body {
            members["@type"] = type
            return .object(members)
        }
        return .object(["@type": type, "value": body])
    }

    /// An Any the decoder could not open: show it as JSON if we know the type now, else its raw payload.
    private func rawAny(_ m: ProtoMessage) -> JSONNode {
        let url = m["type_url"]?.stringValue ?? ""
        let bytes = m["value"]?.bytesValue ?? []
        if let slash = url.lastIndex(of: "/"),
            let inner = try? ProtoCodec.decode(String(url[url.index(after: slash)...]), from: bytes)
        {
            return any(inner)
        }
        var members: [String: JSONNode] = [:]
        if !url.isEmpty { members["@type"] = .string(url) }
        if !bytes.isEmpty { members["value"] = .string(JSONFormat.base64(bytes)) }
        return .object(members)
    }

    /// `google.protobuf.Value` is whichever JSON value its `kind` oneof holds.
    private func structValue(_ m: ProtoMessage) -> JSONNode {
        if let n = m["number_value"]?.doubleValue { return JSONFormat.double(n) }
        if let s = m["string_value"]?.stringValue { return .string(s) }
        if let b = m["bool_value"]?.boolValue { return .bool(b) }
        if let s = m["struct_value"]?.messageValue { return message(s) }
        if let l = m["list_value"]?.messageValue { return message(l) }
        return .null
    }

    private func zero(of field: FieldSchema) -> ProtoValue {
        switch field.kind {
        case .bool: return .bool(false)
        case .float, .double: return .double(0)
        case .string: return .string("")
        case .bytes: return .bytes([])
        default: return .int(0)
        }
    }
}
