/// The outcome of one RPC, sent to the peer as `grpc-status` / `grpc-message` trailers.
///
/// Equality compares code and message; tests that only care about the code compare `.code`.
public struct GRPCStatus: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Code
    public var message: String

    public enum Code: Int, Sendable {
        case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
            permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented,
            internalError, unavailable, dataLoss, unauthenticated
    }

    public init(code: Code, message: String = "") {
        self.code = code
        self.message = message
    }

    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }

    public static let ok = GRPCStatus(code: .ok)
    public static func cancelled(_ message: String = "") -> GRPCStatus { .init(code: .cancelled, message: message) }
    public static func unknown(_ message: String = "") -> GRPCStatus { .init(code: .unknown, message: message) }
    public static func invalidArgument(_ message: String = "") -> GRPCStatus {
        .init(code: .invalidArgument, message: message)
    }
    public static func deadlineExceeded(_ message: String = "") -> GRPCStatus {
        .init(code: .deadlineExceeded, message: message)
    }
    public static func notFound(_ message: String = "") -> GRPCStatus { .init(code: .notFound, message: message) }
    public static func permissionDenied(_ message: String = "") -> GRPCStatus {
        .init(code: .permissionDenied, message: message)
    }
    public static func resourceExhausted(_ message: String = "") -> GRPCStatus {
        .init(code: .resourceExhausted, message: message)
    }
    public static func failedPrecondition(_ message: String = "") -> GRPCStatus {
        .init(code: .failedPrecondition, message: message)
    }
    public static func aborted(_ message: String = "") -> GRPCStatus { .init(code: .aborted, message: message) }
    public static func unimplemented(_ message: String = "") -> GRPCStatus {
        .init(code: .unimplemented, message: message)
    }
    public static func internalError(_ message: String = "") -> GRPCStatus {
        .init(code: .internalError, message: message)
    }
    public static func unavailable(_ message: String = "") -> GRPCStatus { .init(code: .unavailable, message: message) }
    public static func unauthenticated(_ message: String = "") -> GRPCStatus {
        .init(code: .unauthenticated, message: message)
    }
}

extension GRPCStatus {
    /// Longest encoded `grpc-message` we send: trailers must stay well under the 8 KiB clients enforce
    /// (envoy#9785). The limit applies after percent-encoding, which can triple non-ASCII text.
    static let maxMessageBytes = 4096

    /// `grpc-message` wire form: percent-encode bytes outside 0x20–0x7E and `%` itself (docs/PROTOCOL.md §4),
    /// cut at `maxMessageBytes` of output on a whole escape, never inside one.
    static func percentEncode(_ message: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(min(message.utf8.count, maxMessageBytes))
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in message.utf8 {
            let plain = byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%")
            if out.count + (plain ? 1 : 3) > maxMessageBytes { break }
            if plain {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Inverse of `percentEncode`; malformed escapes are kept literally, as the spec asks.
    package static func percentDecode(_ encoded: String) -> String {
        let bytes = Array(encoded.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The trailer fields for this status (`grpc-message` only when non-empty).
    var trailerFields: [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = [("grpc-status", String(code.rawValue))]
        if !message.isEmpty {
            fields.append(("grpc-message", GRPCStatus.percentEncode(message)))
        }
        return fields
    }
}
