/// Pure-Swift protobuf wire-format writers.
///
/// Why this exists next to protobuf-c: a `DiscoveryResponse` is the same resources for every proxy, plus a
/// per-stream nonce. The xDS layer keeps each resource's encoded `Any` and appends it as field 2 with
/// `appendLengthDelimited`, so a push never re-encodes a resource. Concatenating fields is valid protobuf, and the
/// result decodes exactly like a codec-encoded message when fields are appended in field-number order.
public enum ProtoWire {
    /// The wire types this module writes.
    public enum WireType: UInt8, Sendable {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// Appends `v` as a base-128 varint.
    public static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Appends a field key: `(field << 3) | wireType`.
    public static func appendTag(field: Int, _ wireType: WireType, to out: inout [UInt8]) {
        precondition(field > 0 && field < 1 << 29, "field number out of range")
        appendVarint(UInt64(field) << 3 | UInt64(wireType.rawValue), to: &out)
    }

    /// Appends a length-delimited field (string, bytes, embedded message, packed repeated).
    public static func appendLengthDelimited(field: Int, _ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        appendTag(field: field, .lengthDelimited, to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    /// Appends a string field as UTF-8.
    public static func appendString(field: Int, _ s: String, to out: inout [UInt8]) {
        appendLengthDelimited(field: field, s.utf8, to: &out)
    }

    /// Appends a varint field (uint32/64, int64, enum by number, or a non-negative int32).
    public static func appendVarintField(field: Int, _ v: UInt64, to out: inout [UInt8]) {
        appendTag(field: field, .varint, to: &out)
        appendVarint(v, to: &out)
    }

    /// Appends an int32/int64 field; negative values take ten bytes, as protobuf specifies.
    public static func appendInt64Field(field: Int, _ v: Int64, to out: inout [UInt8]) {
        appendVarintField(field: field, UInt64(bitPattern: v), to: &out)
    }

    /// Appends a bool field.
    public static func appendBool(field: Int, _ b: Bool, to out: inout [UInt8]) {
        appendVarintField(field: field, b ? 1 : 0, to: &out)
    }

    /// Appends a `google.protobuf.Any` as a length-delimited field, from a type URL and an already encoded payload.
    public static func appendAny(field: Int, typeURL: String, value: some Collection<UInt8>, to out: inout [UInt8]) {
        var any: [UInt8] = []
        any.reserveCapacity(typeURL.utf8.count + value.count + 8)
        appendString(field: 1, typeURL, to: &any)
        appendLengthDelimited(field: 2, value, to: &any)
        appendLengthDelimited(field: field, any, to: &out)
    }
}
