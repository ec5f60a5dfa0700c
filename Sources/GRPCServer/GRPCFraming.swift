import NIOCore

/// A header field as it travels in HTTP/2 HEADERS frames.
package typealias HeaderField = (name: String, value: String)

/// HTTP/2 error codes (RFC 9113 §7) used in RST_STREAM and GOAWAY.
package enum HTTP2ErrorCode: UInt32 {
    case noError = 0x0
    case protocolError = 0x1
    case internalError = 0x2
    case flowControlError = 0x3
    case refusedStream = 0x7
    case cancel = 0x8
    case enhanceYourCalm = 0xB
}

/// gRPC length-prefixed message framing: 1 flag byte, 4-byte big-endian length, payload.
package enum GRPCFraming {
    static let prefixLength = 5

    /// One framed message, ready to queue as DATA bytes.
    package static func frame(_ message: [UInt8], compressed: Bool = false, allocator: ByteBufferAllocator)
        -> ByteBuffer
    {
        var buffer = allocator.buffer(capacity: prefixLength + message.count)
        buffer.writeInteger(compressed ? UInt8(1) : UInt8(0))
        buffer.writeInteger(UInt32(truncatingIfNeeded: message.count), endianness: .big)
        buffer.writeBytes(message)
        return buffer
    }

    /// Parses `grpc-timeout` (≤ 8 digits followed by H, M, S, m, u or n); nil when malformed.
    static func parseTimeout(_ value: String) -> Duration? {
        let utf8 = Array(value.utf8)
        guard utf8.count >= 2, utf8.count <= 9, let unit = utf8.last else { return nil }
        var amount: Int64 = 0
        for digit in utf8.dropLast() {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int64(digit - UInt8(ascii: "0"))
        }
        switch unit {
        case UInt8(ascii: "H"): return .seconds(amount * 3600)
        case UInt8(ascii: "M"): return .seconds(amount * 60)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }
}

/// Reassembles gRPC messages from DATA chunks whose boundaries are unrelated to message boundaries.
///
/// The size limit is checked when the prefix arrives, so an oversized message is rejected before it is buffered.
package struct GRPCMessageDeframer {
    private var buffer: ByteBuffer
    let maxMessageBytes: Int
    /// When true a set compression flag is reported as an error (we only accept identity).
    let rejectCompressed: Bool

    package init(maxMessageBytes: Int, rejectCompressed: Bool = true, allocator: ByteBufferAllocator = .init()) {
        self.buffer = allocator.buffer(capacity: 0)
        self.maxMessageBytes = maxMessageBytes
        self.rejectCompressed = rejectCompressed
    }

    package mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex > 1 << 20 {
            buffer.discardReadBytes()
        }
        buffer.writeBuffer(&bytes)
    }

    /// True when bytes of an incomplete message are buffered (a truncation if the stream ends now).
    package var hasPartialMessage: Bool { buffer.readableBytes > 0 }

    /// Bytes held for messages not yet complete.
    var bufferedBytes: Int { buffer.readableBytes }

    /// Drops whatever is buffered and gives its memory back.
    package mutating func discard() {
        buffer = ByteBuffer()
    }

    /// The next complete message, nil when more bytes are needed, or a status describing why the stream must fail.
    package mutating func next() throws(GRPCStatus) -> [UInt8]? {
        guard let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, endianness: .big, as: UInt32.self)
        else { return nil }
        if flag & 0x01 != 0 && rejectCompressed {
            throw .unimplemented("compressed messages are not supported; grpc-accept-encoding: identity")
        }
        if flag & ~0x01 != 0 {
            throw .internalError("invalid gRPC message flags \(flag)")
        }
        if Int(length) > maxMessageBytes {
            throw .resourceExhausted(
                "received message larger than max (\(length) vs. \(maxMessageBytes))")
        }
        guard buffer.readableBytes >= GRPCFraming.prefixLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: GRPCFraming.prefixLength)
        return buffer.readBytes(length: Int(length))
    }
}

extension CircularBuffer where Element == ByteBuffer {
    /// Removes up to `limit` bytes from the front of a queue of buffers, handing them to `write` as whole buffers or
    /// slices of the same storage (never copies); returns how many bytes were taken.
    package mutating func take(upTo limit: Int, _ write: (ByteBuffer) -> Void) -> Int {
        var remaining = limit
        while remaining > 0, var head = first {
            if head.readableBytes <= remaining {
                removeFirst()
                remaining -= head.readableBytes
                write(head)
            } else {
                let slice = head.readSlice(length: remaining)!
                self[startIndex] = head
                remaining = 0
                write(slice)
            }
        }
        return limit - remaining
    }
}
