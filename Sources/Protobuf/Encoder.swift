import CProtobufC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owns every C allocation made while building one protobuf-c struct tree, and frees them all at once.
///
/// Building with our own arena, rather than handing the tree to `protobuf_c_message_free_unpacked`, means we never
/// depend on which pointers protobuf-c believes it owns (`message_init` leaves static empty strings in place).
/// Small allocations are carved from zeroed chunks, which start at 1 KiB (most trees are small) and double up to
/// 64 KiB, so a tree of thousands of fields costs a few `calloc`s.
private final class Arena {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var next: UnsafeMutableRawPointer?
    private var left = 0
    private var chunkSize = 1 << 10

    deinit { for block in blocks { free(block) } }

    /// Zeroed memory of `size` bytes, aligned to 16.
    func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let rounded = (max(size, 1) + 15) & ~15
        if rounded > left {
            if rounded > chunkSize / 4 { return zeroed(rounded) }
            next = zeroed(chunkSize)
            left = chunkSize
            chunkSize = min(chunkSize * 2, 64 << 10)
        }
        let p = next!
        next = p + rounded
        left -= rounded
        return p
    }

    private func zeroed(_ size: Int) -> UnsafeMutableRawPointer {
        guard let p = calloc(1, size) else { fatalError("out of memory") }
        blocks.append(p)
        return p
    }
}

/// Turns a `ProtoMessage` into a protobuf-c struct, then into bytes with `protobuf_c_message_pack`.
struct Encoder {
    private let registry = Registry.shared
    private let arena = Arena()
    /// Visit fields in name order. Only done again after an error, so that the error reported is always the same
    /// one; a message that encodes is the same bytes in any visiting order (protobuf-c packs by field number).
    private var inNameOrder = false

    static func encode(_ message: ProtoMessage) throws -> [UInt8] {
        do {
            return try Encoder().encodeTree(message)
        } catch {
            var encoder = Encoder()
            encoder.inNameOrder = true
            return try encoder.encodeTree(message)
        }
    }

    private func encodeTree(_ message: ProtoMessage) throws -> [UInt8] {
        let schema = try registry.message(message.typeName)
        let raw = try build(message, schema)
        let msg = raw.assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(msg)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = size == 0 ? 0 : protobuf_c_message_pack(msg, buffer.baseAddress!)
        }
    }

    /// Allocates and fills one C message.
    private func build(_ message: ProtoMessage, _ schema: MessageSchema) throws -> UnsafeMutableRawPointer {
        let p = arena.allocate(schema.size)
        protobuf_c_message_init(schema.descriptor, p)
        if inNameOrder {
            for name in message.fields.keys.sorted() { try set(name, message.fields[name]!, schema, p) }
        } else {
            for (name, value) in message.fields { try set(name, value, schema, p) }
        }
        return p
    }

    private func set(
        _ name: String, _ value: ProtoValue, _ schema: MessageSchema, _ p: UnsafeMutableRawPointer
    ) throws {
        guard let field = schema.field(name) else { throw ProtoError.unknownField(schema.name, name) }
        // Where the field is, for an error message only: built when one is thrown, not for every field.
        func path() -> String { "\(schema.name).\(name)" }
        if field.repeated {
            try setRepeated(value, field, path(), p)
        } else {
            if field.inOneof {
                let current = p.load(fromByteOffset: field.quantifierOffset, as: UInt32.self)
                if current != 0 {
                    let other = schema.fields.first { $0.number == Int(current) }?.name ?? "\(current)"
                    throw ProtoError.typeMismatch(path(), "oneof already set by \(schema.name).\(other)")
                }
                p.storeBytes(of: UInt32(field.number), toByteOffset: field.quantifierOffset, as: UInt32.self)
            }
            try store(value, field, path(), at: p + field.offset)
        }
    }

    private func setRepeated(
        _ value: ProtoValue, _ field: FieldSchema, _ path: @autoclosure () -> String,
        _ p: UnsafeMutableRawPointer
    ) throws {
        var items: [ProtoValue]
        if field.isMap {
            guard case .map(let dict) = value else {
                throw ProtoError.typeMismatch(path(), "expected .map, got \(value.kindName)")
            }
            let entryType = field.messageType!
            items = dict.keys.sorted().map { key in
                .message(ProtoMessage(entryType, ["key": .string(key), "value": dict[key]!]))
            }
        } else {
            guard case .list(let list) = value else {
                throw ProtoError.typeMismatch(path(), "expected .list, got \(value.kindName)")
            }
            items = list
        }
        let stride = field.kind.cSize
        let array = arena.allocate(stride * items.count)
        for (i, item) in items.enumerated() {
            try store(item, field, "\(path())[\(i)]", at: array + i * stride)
        }
        p.storeBytes(of: items.count, toByteOffset: field.quantifierOffset, as: Int.self)
        p.storeBytes(of: UnsafeMutableRawPointer?(array), toByteOffset: field.offset, as: UnsafeMutableRawPointer?.self)
    }

    /// Writes one element of `field`'s type at `at`.
    private func store(
        _ value: ProtoValue, _ field: FieldSchema, _ path: @autoclosure () -> String,
        at dest: UnsafeMutableRawPointer
    ) throws {
        func mismatch(_ expected: String) -> ProtoError {
            ProtoError.typeMismatch(path(), "expected \(expected), got \(value.kindName)")
        }
        func integer(in range: ClosedRange<Int64>) throws -> Int64 {
            guard case .int(let v) = value else { throw mismatch(".int") }
            guard range.contains(v) else { throw ProtoError.typeMismatch(path(), "\(v) is out of range") }
            return v
        }
        switch field.kind {
        case .int32, .sint32, .sfixed32:
            dest.storeBytes(of: Int32(try integer(in: Int64(Int32.min)...Int64(Int32.max))), as: Int32.self)
        case .uint32, .fixed32:
            dest.storeBytes(of: UInt32(try integer(in: 0...Int64(UInt32.max))), as: UInt32.self)
        case .int64, .sint64, .sfixed64, .uint64, .fixed64:
            dest.storeBytes(of: try integer(in: Int64.min...Int64.max), as: Int64.self)
        case .bool:
            guard case .bool(let b) = value else { throw mismatch(".bool") }
            dest.storeBytes(of: Int32(b ? 1 : 0), as: Int32.self)
        case .float:
            guard case .double(let d) = value else { throw mismatch(".double") }
            dest.storeBytes(of: Float(d), as: Float.self)
        case .double:
            guard case .double(let d) = value else { throw mismatch(".double") }
            dest.storeBytes(of: d, as: Double.self)
        case .enumeration:
            let number: Int32
            switch value {
            case .enumValue(let name):
                guard let n = registry.enums[field.enumType ?? ""]?.numberByName[name] else {
                    throw ProtoError.typeMismatch(path(), "\(name) is not a value of \(field.enumType ?? "?")")
                }
                number = n
            case .int:
                number = Int32(try integer(in: Int64(Int32.min)...Int64(Int32.max)))
            default:
                throw mismatch(".enumValue or .int")
            }
            dest.storeBytes(of: number, as: Int32.self)
        case .string:
            guard case .string(var s) = value else { throw mismatch(".string") }
            // Copied straight from the string's UTF-8 into zeroed memory, which leaves the C string's terminator.
            let buffer = arena.allocate(s.utf8.count + 1)
            let hasNUL = s.withUTF8 { utf8 in
                if let base = utf8.baseAddress { buffer.copyMemory(from: base, byteCount: utf8.count) }
                return utf8.contains(0)
            }
            if hasNUL { throw ProtoError.typeMismatch(path(), "string contains a NUL byte") }
            dest.storeBytes(of: UnsafeMutableRawPointer?(buffer), as: UnsafeMutableRawPointer?.self)
        case .bytes:
            guard case .bytes(let b) = value else { throw mismatch(".bytes") }
            let buffer = arena.allocate(b.count)
            b.withUnsafeBytes { if b.count > 0 { buffer.copyMemory(from: $0.baseAddress!, byteCount: b.count) } }
            let data = ProtobufCBinaryData(len: b.count, data: buffer.assumingMemoryBound(to: UInt8.self))
            dest.storeBytes(of: data, as: ProtobufCBinaryData.self)
        case .message:
            guard let schema = field.message else { throw ProtoError.unknownType(field.messageType ?? "") }
            let child: UnsafeMutableRawPointer
            switch value {
            case .message(let m):
                guard m.typeName == schema.name else {
                    throw ProtoError.typeMismatch(path(), "expected a \(schema.name), got a \(m.typeName)")
                }
                child = try build(m, schema)
            case .any(let inner) where schema.name == "google.protobuf.Any":
                let packed = ProtoMessage(
                    schema.name,
                    [
                        "type_url": .string(typeURLPrefix + inner.typeName),
                        "value": .bytes(try Encoder.encode(inner)),
                    ])
                child = try build(packed, schema)
            default:
                throw mismatch(schema.name == "google.protobuf.Any" ? ".any or .message" : ".message")
            }
            dest.storeBytes(of: UnsafeMutableRawPointer?(child), as: UnsafeMutableRawPointer?.self)
        }
    }
}

extension ProtoValue {
    /// The case name, for error messages.
    var kindName: String {
        switch self {
        case .bool: return ".bool"
        case .int: return ".int"
        case .double: return ".double"
        case .string: return ".string"
        case .bytes: return ".bytes"
        case .enumValue: return ".enumValue"
        case .message(let m): return ".message(\(m.typeName))"
        case .any(let m): return ".any(\(m.typeName))"
        case .list: return ".list"
        case .map: return ".map"
        }
    }
}
