/// A minimal JSON tree, printed the way Python's `json.dumps(indent=2, sort_keys=True)` prints, so golden files
/// written by either side compare as text.
indirect enum JSONNode {
    case object([String: JSONNode])
    case array([JSONNode])
    case string(String)
    /// Already formatted as a JSON number.
    case number(String)
    case bool(Bool)
    case null

    func serialized() -> String {
        var out = ""
        write(to: &out, indent: 0)
        return out
    }

    private func write(to out: inout String, indent: Int) {
        switch self {
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{\n"
            // Python sorts keys by code point; Swift's String < is by canonical ordering, so compare scalars.
            let keys = members.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            for (i, key) in keys.enumerated() {
                out += String(repeating: " ", count: indent + 2)
                JSONNode.writeString(key, to: &out)
                out += ": "
                members[key]!.write(to: &out, indent: indent + 2)
                out += i == keys.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += String(repeating: " ", count: indent + 2)
                item.write(to: &out, indent: indent + 2)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        case .string(let s): JSONNode.writeString(s, to: &out)
        case .number(let n): out += n
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// Formatting rules of the proto3 JSON mapping that do not depend on a schema.
enum JSONFormat {
    /// proto3 JSON numbers: NaN and infinities become strings, integral doubles keep a `.0` like Python does.
    static func double(_ d: Double) -> JSONNode {
        if d.isNaN { return .string("NaN") }
        if d.isInfinite { return .string(d < 0 ? "-Infinity" : "Infinity") }
        return .number(d.description)
    }

    static func float(_ d: Double) -> JSONNode {
        let f = Float(d)
        if f.isNaN || f.isInfinite { return double(Double(f)) }
        return .number(f.description)
    }

    /// `Duration` as seconds with 0, 3, 6 or 9 fractional digits and an `s` suffix: "5s", "1.500s", "-0.000001s".
    static func duration(seconds: Int64, nanos: Int64) -> String {
        let negative = seconds < 0 || nanos < 0
        let s = seconds.magnitude
        let n = nanos.magnitude
        var out = (negative ? "-" : "") + String(s)
        if n != 0 {
            out += "." + fraction(n)
        }
        return out + "s"
    }

    /// RFC 3339 in UTC with the same fractional-digit rule, e.g. "2024-01-02T03:04:05.500Z".
    static func timestamp(seconds: Int64, nanos: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = civilFromDays(days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T"
        out += "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if nanos > 0 { out += "." + fraction(UInt64(nanos)) }
        return out + "Z"
    }

    /// Nine-digit nanoseconds trimmed to 3, 6 or 9 digits.
    private static func fraction(_ nanos: UInt64) -> String {
        var digits = String(nanos)
        digits = String(repeating: "0", count: max(0, 9 - digits.count)) + digits
        if digits.hasSuffix("000000") { return String(digits.prefix(3)) }
        if digits.hasSuffix("000") { return String(digits.prefix(6)) }
        return digits
    }

    /// Howard Hinnant's days-from-civil inverse: day 0 is 1970-01-01.
    private static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Standard base64 with padding, as proto3 JSON writes bytes.
    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            out.append(table[Int(v >> 18 & 63)])
            out.append(table[Int(v >> 12 & 63)])
            out.append(i + 1 < bytes.count ? table[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? table[Int(v & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
