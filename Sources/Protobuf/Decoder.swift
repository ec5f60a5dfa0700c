import CProtobufC

/// Turns bytes into a `ProtoMessage`: `protobuf_c_message_unpack`, then a walk over the struct by descriptor.
///
/// protobuf-c rejects malformed input by returning NULL, so garbage becomes `ProtoError.malformed` rather than a
/// crash. Unknown fields are kept by protobuf-c in its own list and simply not read here.
struct Decoder {
    private let registry = Registry.shared
    /// How deep `Any` payloads may nest before we stop unpacking them; guards against crafted recursion.
    private static let maxAnyDepth = 32
    private let anyDepth: Int

    private init(anyDepth: Int) { self.anyDepth = anyDepth }

    static func decode(_ typeName: String, from bytes: [UInt8], anyDepth: Int = 0) throws -> ProtoMessage {
        let decoder = Decoder(anyDepth: anyDepth)
        let schema = try decoder.registry.message(typeName)
        try NestingScan.check(bytes, schema, registry: decoder.registry)
        var dummy: UInt8 = 0
        let unpacked: UnsafeMutablePointer<ProtobufCMessage>? = bytes.withUnsafeBufferPointer { buffer in
            withUnsafeMutablePointer(to: &dummy) { fallback in
                protobuf_c_message_unpack(
                    schema.descriptor, nil, buffer.count, buffer.baseAddress ?? UnsafePointer(fallback))
            }
        }
        guard let msg = unpacked else {
            throw ProtoError.malformed(typeName, "protobuf-c could not unpack \(bytes.count) bytes")
        }
        defer { protobuf_c_message_free_unpacked(msg, nil) }
        return try decoder.walk(UnsafeRawPointer(msg), schema)
    }

    private func walk(_ p: UnsafeRawPointer, _ schema: MessageSchema) throws -> ProtoMessage {
        var out = ProtoMessage(schema.name)
        for field in schema.fields {
            let path = "\(schema.name).\(field.name)"
            if field.repeated {
                let count = p.load(fromByteOffset: field.quantifierOffset, as: Int.self)
                guard count > 0,
                    let array = p.load(fromByteOffset: field.offset, as: UnsafeRawPointer?.self)
                else { continue }
                var items: [ProtoValue] = []
                items.reserveCapacity(count)
                for i in 0..<count {
                    items.append(try load(field, path, at: array + i * field.kind.cSize))
                }
                out.fields[field.name] = field.isMap ? try mapValue(items, field, path) : .list(items)
            } else if field.inOneof {
                guard p.load(fromByteOffset: field.quantifierOffset, as: UInt32.self) == UInt32(field.number) else {
                    continue
                }
                out.fields[field.name] = try load(field, path, at: p + field.offset)
            } else {
                if field.kind == .message, p.load(fromByteOffset: field.offset, as: UnsafeRawPointer?.self) == nil {
                    continue
                }
                if field.kind == .enumeration, p.load(fromByteOffset: field.offset, as: Int32.self) == 0 { continue }
                let value = try load(field, path, at: p + field.offset)
                if field.kind == .message || !value.isZero { out.fields[field.name] = value }
            }
        }
        return out
    }

    /// Folds decoded `Entry` messages into `.map`; an entry without a value gets the value type's zero.
    private func mapValue(_ entries: [ProtoValue], _ field: FieldSchema, _ path: String) throws -> ProtoValue {
        let entrySchema = try registry.message(field.messageType ?? "")
        let valueField = entrySchema.field("value")!
        let keyField = entrySchema.field("key")!
        var dict: [String: ProtoValue] = [:]
        for entry in entries {
            guard let m = entry.messageValue else { continue }
            let key: String
            switch m.fields["key"] {
            case .string(let s): key = s
            case .int(let v): key = keyField.kind.isUnsigned64 ? String(UInt64(bitPattern: v)) : String(v)
            case .bool(let b): key = String(b)
            default: key = ""
            }
            dict[key] = m.fields["value"] ?? zero(valueField)
        }
        return .map(dict)
    }

    private func zero(_ field: FieldSchema) -> ProtoValue {
        switch field.kind {
        case .bool: return .bool(false)
        case .float, .double: return .double(0)
        case .string: return .string("")
        case .bytes: return .bytes([])
        case .enumeration:
            return registry.enums[field.enumType ?? ""]?.nameByNumber[0].map { .enumValue($0) } ?? .int(0)
        case .message: return .message(ProtoMessage(field.messageType ?? ""))
        default: return .int(0)
        }
    }

    /// Reads one element of `field`'s type at `src`.
    private func load(_ field: FieldSchema, _ path: String, at src: UnsafeRawPointer) throws -> ProtoValue {
        switch field.kind {
        case .int32, .sint32, .sfixed32: return .int(Int64(src.load(as: Int32.self)))
        case .uint32, .fixed32: return .int(Int64(src.load(as: UInt32.self)))
        case .int64, .sint64, .sfixed64, .uint64, .fixed64: return .int(src.load(as: Int64.self))
        case .bool: return .bool(src.load(as: Int32.self) != 0)
        case .float: return .double(Double(src.load(as: Float.self)))
        case .double: return .double(src.load(as: Double.self))
        case .enumeration:
            let n = src.load(as: Int32.self)
            if let name = registry.enums[field.enumType ?? ""]?.nameByNumber[n] { return .enumValue(name) }
            return .int(Int64(n))
        case .string:
            guard let cString = src.load(as: UnsafePointer<CChar>?.self) else { return .string("") }
            guard let s = String(validatingCString: cString) else {
                throw ProtoError.malformed(path, "string is not valid UTF-8")
            }
            return .string(s)
        case .bytes:
            let data = src.load(as: ProtobufCBinaryData.self)
            guard data.len > 0, let base = data.data else { return .bytes([]) }
            return .bytes(Array(UnsafeBufferPointer(start: base, count: data.len)))
        case .message:
            guard let child = src.load(as: UnsafeRawPointer?.self) else {
                return .message(ProtoMessage(field.messageType ?? ""))
            }
            let message = try walk(child, try registry.message(field.messageType ?? ""))
            return message.typeName == "google.protobuf.Any" ? try unpackAny(message, path) : .message(message)
        }
    }

    /// `.any(inner)` when the packed type is one of ours, else the raw Any as `.message`.
    private func unpackAny(_ any: ProtoMessage, _ path: String) throws -> ProtoValue {
        guard case .string(let url)? = any.fields["type_url"],
            let slash = url.lastIndex(of: "/")
        else { return .message(any) }
        let typeName = String(url[url.index(after: slash)...])
        guard registry.messages[typeName] != nil else { return .message(any) }
        guard anyDepth < Self.maxAnyDepth else { throw ProtoError.malformed(path, "Any nested too deeply") }
        let bytes = any.fields["value"]?.bytesValue ?? []
        do {
            return .any(try Decoder.decode(typeName, from: bytes, anyDepth: anyDepth + 1))
        } catch let error as ProtoError where error.code == .malformed {
            throw ProtoError.malformed("\(path)(\(typeName))", error.description)
        }
    }
}

extension ProtoValue {
    /// A proto3 scalar at its default, which implicit presence leaves off the wire.
    var isZero: Bool {
        switch self {
        case .bool(let b): return !b
        case .int(let v): return v == 0
        case .double(let d): return d == 0 && d.sign == .plus
        case .string(let s): return s.isEmpty
        case .bytes(let b): return b.isEmpty
        case .list(let l): return l.isEmpty
        case .map(let m): return m.isEmpty
        case .enumValue, .message, .any: return false
        }
    }
}
