/// A pure-Swift reader of the protobuf wire format: one field at a time, no schema, no allocation.
///
/// Why this exists next to protobuf-c: an Envoy sends a `DiscoveryRequest` to ACK every response, and by default each
/// one carries the whole `Node` again (its extension list alone is several kilobytes). Decoding that through the
/// codec builds a tree of every field for every ACK; the xDS layer needs five scalars and a list of names. It reads
/// those with this reader and hands only the first request's node bytes to the codec.
///
/// Every read is bounds-checked: truncated varints, lengths past the end, field number 0, and the deprecated group
/// wire types (3, 4) are errors, never traps.
public struct ProtoWireReader {
    /// One field: its number and its payload.
    public enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        /// The range of the payload in the reader's buffer.
        case lengthDelimited(Range<Int>)
    }

    public let bytes: [UInt8]
    private var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8]) {
        self.init(bytes, range: 0..<bytes.count)
    }

    /// Reads only `range` of `bytes` (an embedded message found by an outer reader).
    public init(_ bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    /// The next field, or nil at the end of the message.
    public mutating func next() throws(ProtoError) -> (field: Int, value: Value)? {
        guard offset < end else { return nil }
        // A key is a 32-bit varint; longer ones keep their low 32 bits, as protobuf-c reads them (so both readers
        // agree on which field a byte sequence is).
        let key = UInt64(UInt32(truncatingIfNeeded: try varint()))
        let field = key >> 3
        guard field > 0 else { throw ProtoError.malformedWire("invalid field number \(field)") }
        switch key & 7 {
        case 0:
            return (Int(field), .varint(try varint()))
        case 1:
            return (Int(field), .fixed64(try fixed(8)))
        case 5:
            return (Int(field), .fixed32(UInt32(truncatingIfNeeded: try fixed(4))))
        case 2:
            let length = try varint()
            guard length <= UInt64(end - offset) else {
                throw ProtoError.malformedWire("field \(field) runs past the end")
            }
            let start = offset
            offset += Int(length)
            return (Int(field), .lengthDelimited(start..<offset))
        default:
            throw ProtoError.malformedWire("unsupported wire type \(key & 7) for field \(field)")
        }
    }

    /// The payload of a length-delimited field as text; invalid UTF-8 is an error, as protobuf-c makes it for
    /// `string` fields.
    public func string(_ range: Range<Int>) throws(ProtoError) -> String {
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw ProtoError.malformedWire("invalid UTF-8 in a string field")
        }
        return text
    }

    private mutating func varint() throws(ProtoError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end {
            let byte = bytes[offset]
            offset += 1
            guard shift < 64 else { throw ProtoError.malformedWire("varint longer than ten bytes") }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw ProtoError.malformedWire("truncated varint")
    }

    private mutating func fixed(_ count: Int) throws(ProtoError) -> UInt64 {
        guard end - offset >= count else { throw ProtoError.malformedWire("truncated fixed-width field") }
        var value: UInt64 = 0
        for index in 0..<count {
            value |= UInt64(bytes[offset + index]) << (8 * UInt64(index))
        }
        offset += count
        return value
    }
}

extension ProtoWireReader.Value {
    /// The payload range, when the field is length-delimited.
    public var range: Range<Int>? {
        if case .lengthDelimited(let range) = self { return range }
        return nil
    }

    /// The value of a varint field.
    public var integer: UInt64? {
        if case .varint(let value) = self { return value }
        return nil
    }
}

extension ProtoError {
    /// Bytes that are not valid protobuf wire format, found by `ProtoWireReader`.
    static func malformedWire(_ reason: String) -> ProtoError {
        ProtoError(code: .malformed, path: "wire", reason: reason)
    }
}
