/// Hand-built HTTP/2 frames (RFC 9113) with HPACK literals (RFC 7541 §6.2.2), for clients `GRPCClient` cannot be.
public enum H2 {
    public static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    public static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let length = UInt32(payload.count)
        return [
            UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags,
            UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF),
        ]
            + payload
    }

    public static func settings(_ pairs: [(UInt16, UInt32)] = []) -> [UInt8] {
        var payload: [UInt8] = []
        for (id, value) in pairs {
            payload += [
                UInt8(id >> 8), UInt8(id & 0xFF), UInt8(value >> 24), UInt8(value >> 16 & 0xFF),
                UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
            ]
        }
        return frame(type: 4, payload)
    }

    /// HEADERS with END_HEADERS, every field a literal without indexing.
    public static func headers(stream: UInt32, _ fields: [(String, String)], endStream: Bool = false) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0)
            for text in [name, value] {
                let utf8 = Array(text.utf8)
                block += integer(utf8.count, prefixBits: 7)
                block += utf8
            }
        }
        return frame(type: 1, flags: 0x4 | (endStream ? 0x1 : 0), stream: stream, block)
    }

    public static func data(stream: UInt32, _ payload: [UInt8], endStream: Bool = false) -> [UInt8] {
        frame(type: 0, flags: endStream ? 0x1 : 0, stream: stream, payload)
    }

    public static func grpcHeaders(path: String, contentType: String = "application/grpc") -> [(String, String)] {
        [
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
            ("content-type", contentType), ("te", "trailers"),
        ]
    }

    /// A gRPC length-prefixed message.
    public static func grpcMessage(_ bytes: [UInt8]) -> [UInt8] {
        let n = UInt32(bytes.count)
        return [0, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
    }

    private static func integer(_ value: Int, prefixBits: Int) -> [UInt8] {
        let limit = (1 << prefixBits) - 1
        if value < limit { return [UInt8(value)] }
        var out: [UInt8] = [UInt8(limit)]
        var rest = value - limit
        while rest >= 128 {
            out.append(UInt8(rest % 128 + 128))
            rest /= 128
        }
        out.append(UInt8(rest))
        return out
    }
}
