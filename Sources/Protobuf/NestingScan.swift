/// Measures how deeply a message nests before anything recursive touches it.
///
/// protobuf-c's unpack and the decoder's walk both recurse once per nested message, so a small crafted request
/// (a `Value` holding a `ListValue` holding a `Value`, thousands deep) would overflow the stack of the event loop
/// thread. This scan is iterative: it follows only length-delimited fields that the schema says are messages, with
/// an explicit stack, and refuses input deeper than `limit` (upstream protobuf's default recursion limit is 100).
enum NestingScan {
    static let limit = 100

    static func check(_ bytes: [UInt8], _ schema: MessageSchema, registry: Registry) throws {
        // Each frame: where the enclosing message ends, and its schema's message fields by number.
        var stack: [(end: Int, messageFields: [Int: String])] = [(bytes.count, messageFields(schema))]
        var offset = 0
        while let top = stack.last {
            if offset >= top.end {
                stack.removeLast()
                continue
            }
            // Every read stays inside the enclosing message: a field that claims to run past its end is malformed.
            guard let tag = varint(bytes, &offset, end: top.end) else { return }  // protobuf-c will reject it
            let number = Int(tag >> 3)
            switch tag & 7 {
            case 0: guard varint(bytes, &offset, end: top.end) != nil else { return }
            case 1:
                guard top.end - offset >= 8 else { return }
                offset += 8
            case 5:
                guard top.end - offset >= 4 else { return }
                offset += 4
            case 2:
                guard let length = varint(bytes, &offset, end: top.end), length <= UInt64(top.end - offset) else {
                    return
                }
                let end = offset + Int(length)
                if let typeName = top.messageFields[number], let child = registry.messages[typeName] {
                    guard stack.count < limit else {
                        throw ProtoError.malformed(schema.name, "message nested more than \(limit) levels deep")
                    }
                    stack.append((end, messageFields(child)))
                } else {
                    offset = end
                }
            default:
                return  // groups or invalid wire types: left to protobuf-c to refuse
            }
        }
    }

    private static func messageFields(_ schema: MessageSchema) -> [Int: String] {
        var fields: [Int: String] = [:]
        for field in schema.fields where field.kind == .message {
            if let type = field.messageType { fields[field.number] = type }
        }
        return fields
    }

    /// Reads a varint that must end before `end`; nil when it does not (truncated or over ten bytes).
    private static func varint(_ bytes: [UInt8], _ offset: inout Int, end: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
