/// JSON writes a character beyond U+FFFF as two `\u` escapes (a UTF-16 surrogate pair: Python's `json.dump` and
/// JavaScript's `JSON.stringify` both do), but YAML's double-quoted strings take only whole code points, so libyaml
/// refuses such a file. The pair is rewritten as YAML's `\UXXXXXXXX` escape of the same character before parsing.
/// Columns after it on the same line shift left by two; nothing else moves.
enum SurrogateEscapes {
    static func joined(_ text: String) -> String {
        guard text.contains("\\u") || text.contains("\\U") else { return text }
        var bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        var backslashes = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\\"), backslashes % 2 == 0, let high = unit(bytes, i),
                (0xD800...0xDBFF).contains(high),
                let low = unit(bytes, i + 6), (0xDC00...0xDFFF).contains(low)
            {
                let scalar = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                let hex = String(scalar, radix: 16, uppercase: true)
                out += Array(("\\U" + String(repeating: "0", count: 8 - hex.count) + hex).utf8)
                i += 12
                backslashes = 0
                continue
            }
            backslashes = b == UInt8(ascii: "\\") ? backslashes + 1 : 0
            out.append(b)
            i += 1
        }
        bytes = out
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value of a `\uXXXX` escape starting at `at`.
    private static func unit(_ bytes: [UInt8], _ at: Int) -> Int? {
        guard at + 6 <= bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
            return nil
        }
        var value = 0
        for b in bytes[(at + 2)..<(at + 6)] {
            guard let digit = Int(String(UnicodeScalar(b)), radix: 16) else { return nil }
            value = value * 16 + digit
        }
        return value
    }
}
