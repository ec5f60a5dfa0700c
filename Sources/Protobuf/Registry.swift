import CProtobufC
import EnvoyAPI

/// The scalar kind of a field, taken from protobuf-c's `ProtobufCType`.
enum FieldKind: Sendable {
    case int32, sint32, sfixed32, int64, sint64, sfixed64
    case uint32, fixed32, uint64, fixed64
    case float, double, bool, enumeration, string, bytes, message

    /// Bytes one element takes in a protobuf-c struct (also the stride of repeated arrays).
    var cSize: Int {
        switch self {
        case .int32, .sint32, .sfixed32, .uint32, .fixed32, .float, .bool, .enumeration: return 4
        case .int64, .sint64, .sfixed64, .uint64, .fixed64, .double: return 8
        case .string, .message: return MemoryLayout<UnsafeRawPointer>.size
        case .bytes: return MemoryLayout<ProtobufCBinaryData>.size
        }
    }

    /// Fields that proto3 JSON writes as strings because JavaScript numbers cannot hold them.
    var is64Bit: Bool {
        switch self {
        case .int64, .sint64, .sfixed64, .uint64, .fixed64: return true
        default: return false
        }
    }

    var isUnsigned64: Bool { self == .uint64 || self == .fixed64 }
}

/// An enum type's values by name and by number.
struct EnumSchema: Sendable {
    let name: String
    let numberByName: [String: Int32]
    let nameByNumber: [Int32: String]
}

/// One field of a message, as protobuf-c lays it out.
///
/// Schemas are classes, built once and never changed: handing one out costs one reference count, where a struct
/// would copy (and retain) each of its strings on every field the encoder visits.
final class FieldSchema: @unchecked Sendable {
    let name: String
    let jsonName: String
    let number: Int
    let kind: FieldKind
    let repeated: Bool
    /// Member of a (real) oneof: presence is the case word at `quantifierOffset`.
    let inOneof: Bool
    let offset: Int
    let quantifierOffset: Int
    /// Full name of the field's message type.
    let messageType: String?
    /// Full name of the field's enum type.
    let enumType: String?
    /// A `map<K, V>` field: repeated `<Name>Entry` messages with `key` = 1 and `value` = 2.
    let isMap: Bool
    /// The schema of `messageType`, linked once the registry has built every type, so that the encoder finds a
    /// nested message's layout without hashing its type name. Unowned: the registry keeps every schema for the life
    /// of the process, and following the link costs no reference count (which both encoding threads would
    /// otherwise contend for). Written only while the registry is built, before any other thread can see it.
    nonisolated(unsafe) fileprivate(set) unowned(unsafe) var message: MessageSchema?

    init(
        name: String, jsonName: String, number: Int, kind: FieldKind, repeated: Bool, inOneof: Bool, offset: Int,
        quantifierOffset: Int, messageType: String?, enumType: String?, isMap: Bool
    ) {
        self.name = name
        self.jsonName = jsonName
        self.number = number
        self.kind = kind
        self.repeated = repeated
        self.inOneof = inOneof
        self.offset = offset
        self.quantifierOffset = quantifierOffset
        self.messageType = messageType
        self.enumType = enumType
        self.isMap = isMap
    }
}

/// A message type: its descriptor and fields. Descriptors are static C data, so sharing them is safe.
final class MessageSchema: @unchecked Sendable {
    let name: String
    let descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    let size: Int
    let fields: [FieldSchema]
    let fieldIndex: [String: FieldSchema]

    init(name: String, descriptor: UnsafePointer<ProtobufCMessageDescriptor>, size: Int, fields: [FieldSchema]) {
        self.name = name
        self.descriptor = descriptor
        self.size = size
        self.fields = fields
        var index: [String: FieldSchema] = [:]
        for field in fields { index[field.name] = field }
        self.fieldIndex = index
    }

    func field(_ name: String) -> FieldSchema? { fieldIndex[name] }
}

/// Every type generated from proto/, by full proto name, built once from the EnvoyAPI descriptor registry.
struct Registry: Sendable {
    let messages: [String: MessageSchema]
    let enums: [String: EnumSchema]

    static let shared = Registry()

    func message(_ name: String) throws -> MessageSchema {
        guard let schema = messages[name] else { throw ProtoError.unknownType(name) }
        return schema
    }

    private init() {
        var enums: [String: EnumSchema] = [:]
        for i in 0..<envoyapi_enum_count() {
            guard let e = envoyapi_enum_at(i) else { continue }
            let schema = Self.enumSchema(e)
            enums[schema.name] = schema
        }
        var descriptors: [String: UnsafePointer<ProtobufCMessageDescriptor>] = [:]
        for i in 0..<envoyapi_message_count() {
            guard let d = envoyapi_message_at(i) else { continue }
            descriptors[String(cString: d.pointee.name)] = d
        }
        var messages: [String: MessageSchema] = [:]
        for (name, d) in descriptors {
            messages[name] = Self.messageSchema(name, d, descriptors)
        }
        for schema in messages.values {
            for field in schema.fields { field.message = field.messageType.flatMap { messages[$0] } }
        }
        self.messages = messages
        self.enums = enums
    }

    private static func enumSchema(_ e: UnsafePointer<ProtobufCEnumDescriptor>) -> EnumSchema {
        var byName: [String: Int32] = [:]
        var byNumber: [Int32: String] = [:]
        for j in 0..<Int(e.pointee.n_values) {
            let v = e.pointee.values[j]
            let name = String(cString: v.name)
            byName[name] = v.value
            if byNumber[v.value] == nil { byNumber[v.value] = name }  // first name wins for aliases
        }
        return EnumSchema(name: String(cString: e.pointee.name), numberByName: byName, nameByNumber: byNumber)
    }

    private static func messageSchema(
        _ name: String,
        _ d: UnsafePointer<ProtobufCMessageDescriptor>,
        _ all: [String: UnsafePointer<ProtobufCMessageDescriptor>]
    ) -> MessageSchema {
        var fields: [FieldSchema] = []
        for j in 0..<Int(d.pointee.n_fields) {
            let f = d.pointee.fields[j]
            let fieldName = String(cString: f.name)
            let kind = fieldKind(f.type)
            var messageType: String?
            var enumType: String?
            if kind == .message, let sub = f.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self) {
                messageType = String(cString: sub.pointee.name)
            } else if kind == .enumeration,
                let sub = f.descriptor?.assumingMemoryBound(to: ProtobufCEnumDescriptor.self)
            {
                enumType = String(cString: sub.pointee.name)
            }
            let repeated = f.label == PROTOBUF_C_LABEL_REPEATED
            let isMap = repeated && messageType.map { isMapEntry($0, parent: name, field: fieldName, all) } == true
            fields.append(
                FieldSchema(
                    name: fieldName,
                    jsonName: jsonName(fieldName),
                    number: Int(f.id),
                    kind: kind,
                    repeated: repeated,
                    inOneof: f.flags & PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue != 0,
                    offset: Int(f.offset),
                    quantifierOffset: Int(f.quantifier_offset),
                    messageType: messageType,
                    enumType: enumType,
                    isMap: isMap))
        }
        return MessageSchema(name: name, descriptor: d, size: Int(d.pointee.sizeof_message), fields: fields)
    }

    /// protobuf-c drops the `map_entry` option, so recognise protoc's naming rule instead: a map field `foo_bar`
    /// is a repeated nested `FooBarEntry` with exactly `key` = 1 and `value` = 2.
    private static func isMapEntry(
        _ type: String, parent: String, field: String,
        _ all: [String: UnsafePointer<ProtobufCMessageDescriptor>]
    ) -> Bool {
        var camel = jsonName(field)
        if let first = camel.first { camel = first.uppercased() + camel.dropFirst() }
        guard type == "\(parent).\(camel)Entry", let d = all[type], d.pointee.n_fields == 2 else { return false }
        let a = d.pointee.fields[0], b = d.pointee.fields[1]
        return String(cString: a.name) == "key" && a.id == 1 && String(cString: b.name) == "value" && b.id == 2
    }

    private static func fieldKind(_ t: ProtobufCType) -> FieldKind {
        switch t {
        case PROTOBUF_C_TYPE_INT32: return .int32
        case PROTOBUF_C_TYPE_SINT32: return .sint32
        case PROTOBUF_C_TYPE_SFIXED32: return .sfixed32
        case PROTOBUF_C_TYPE_INT64: return .int64
        case PROTOBUF_C_TYPE_SINT64: return .sint64
        case PROTOBUF_C_TYPE_SFIXED64: return .sfixed64
        case PROTOBUF_C_TYPE_UINT32: return .uint32
        case PROTOBUF_C_TYPE_FIXED32: return .fixed32
        case PROTOBUF_C_TYPE_UINT64: return .uint64
        case PROTOBUF_C_TYPE_FIXED64: return .fixed64
        case PROTOBUF_C_TYPE_FLOAT: return .float
        case PROTOBUF_C_TYPE_DOUBLE: return .double
        case PROTOBUF_C_TYPE_BOOL: return .bool
        case PROTOBUF_C_TYPE_ENUM: return .enumeration
        case PROTOBUF_C_TYPE_STRING: return .string
        case PROTOBUF_C_TYPE_BYTES: return .bytes
        default: return .message
        }
    }
}

/// protoc's default JSON name: drop each underscore and upper-case the letter after it.
func jsonName(_ field: String) -> String {
    var out = ""
    var upper = false
    for c in field {
        if c == "_" {
            upper = true
        } else if upper {
            out += c.uppercased()
            upper = false
        } else {
            out.append(c)
        }
    }
    return out
}

/// The prefix every type URL Chancery writes uses.
let typeURLPrefix = "type.googleapis.com/"
