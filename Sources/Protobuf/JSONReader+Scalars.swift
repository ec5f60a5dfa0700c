/// Scalars in proto3 JSON: integers as numbers or text (64-bit ones usually text), floats with `"NaN"` and
/// `"Infinity"`, bools, strings, bytes in base64.
enum Scalars {
    static func read(_ input: ProtoInput, _ kind: FieldKind, path: String, reader: JSONReader) throws(ProtoInputError)
        -> ProtoValue
    {
        func wrong(_ expected: String) -> ProtoInputError {
            reader.fail(input, path, "\(reader.label(path)) must be \(expected), found \(input.shape(at: path))")
        }
        switch kind {
        case .bool:
            guard case .bool(let b) = input.value else { throw wrong("true or false") }
            return .bool(b)
        case .string:
            // Strict, as proto3 JSON is: a number or boolean where text belongs is refused, so that the file means
            // the same to Chancery as to every other proto3 JSON reader.
            guard case .string(let s) = input.value else {
                if case .number = input.value { throw wrong("text (quote it: \"…\")") }
                if case .bool = input.value { throw wrong("text (quote it: \"…\")") }
                throw wrong("text")
            }
            // Envoy cannot carry a NUL in a string field; say so here, where the position is known.
            guard !s.unicodeScalars.contains("\u{0}") else {
                throw reader.fail(input, path, "\(reader.label(path)) contains a NUL character")
            }
            return .string(s)
        case .bytes:
            guard case .string(let s) = input.value else { throw wrong("base64 text") }
            guard let bytes = base64(s) else { throw reader.fail(input, path, "\(reader.label(path)) is not base64") }
            return .bytes(bytes)
        case .float, .double:
            let text: String
            switch input.value {
            case .number(let n): text = n
            case .string(let s): text = s
            default: throw wrong("a number")
            }
            let value: Double
            switch text {
            case "NaN": value = .nan
            case "Infinity": value = .infinity
            case "-Infinity": value = -.infinity
            default:
                guard isDecimal(text), let d = Double(text), d.isFinite else { throw wrong("a number") }
                value = d
            }
            if kind == .float, value.isFinite, value.magnitude > Double(Float.greatestFiniteMagnitude) {
                throw reader.fail(input, path, "\(reader.label(path)) \(text) is out of range for a float")
            }
            return .double(value)
        default:
            return .int(try integer(input, kind, path: path, reader: reader))
        }
    }

    /// An integer of `kind`, range-checked; a uint64 above `Int64.max` comes back as its bit pattern.
    static func integer(_ input: ProtoInput, _ kind: FieldKind, path: String, reader: JSONReader)
        throws(ProtoInputError) -> Int64
    {
        let text: String
        switch input.value {
        case .number(let n): text = n
        case .string(let s): text = s
        default:
            throw reader.fail(
                input, path, "\(reader.label(path)) must be a whole number, found \(input.shape(at: path))")
        }
        let range: ClosedRange<Double>
        switch kind {
        case .int32, .sint32, .sfixed32: range = Double(Int32.min)...Double(Int32.max)
        case .uint32, .fixed32: range = 0...Double(UInt32.max)
        case .uint64, .fixed64: range = 0...Double(UInt64.max)
        default: range = Double(Int64.min)...Double(Int64.max)
        }
        let outOfRange = reader.fail(input, path, "\(reader.label(path)) \(text) is out of range for \(kind)")
        let notWhole = reader.fail(
            input, path, "\(reader.label(path)) must be a whole number, found \(input.shape(at: path))")
        guard isDecimal(text) else { throw notWhole }
        if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            // Plain digits: exact, or out of range (never rounded through a double).
            if kind.isUnsigned64 {
                guard let u = UInt64(text) else { throw outOfRange }
                return Int64(bitPattern: u)
            }
            guard let v = Int64(text), range.contains(Double(v)) else { throw outOfRange }
            return v
        }
        // proto3 JSON also accepts an integral number in exponent or decimal form, e.g. 1e3 or 5.0.
        guard let d = Double(text), d.isFinite, d == d.rounded(.towardZero) else { throw notWhole }
        if kind.isUnsigned64 {
            guard d >= 0, let u = UInt64(exactly: d) else { throw outOfRange }
            return Int64(bitPattern: u)
        }
        guard range.contains(d), let v = Int64(exactly: d) else { throw outOfRange }
        return v
    }

    /// JSON's number syntax (an optional `-`, digits, an optional fraction and exponent), so that Swift's wider
    /// parsing (hexadecimal, `inf`, a leading `+`) never decides what a file means.
    static func isDecimal(_ text: String) -> Bool {
        var chars = Substring(text)
        if chars.first == "-" { chars = chars.dropFirst() }
        let whole = chars.prefix { $0.isASCII && $0.isNumber }
        guard !whole.isEmpty else { return false }
        chars = chars.dropFirst(whole.count)
        if chars.first == "." {
            let fraction = chars.dropFirst().prefix { $0.isASCII && $0.isNumber }
            guard !fraction.isEmpty else { return false }
            chars = chars.dropFirst(1 + fraction.count)
        }
        if chars.first == "e" || chars.first == "E" {
            chars = chars.dropFirst()
            if chars.first == "+" || chars.first == "-" { chars = chars.dropFirst() }
            let exponent = chars.prefix { $0.isASCII && $0.isNumber }
            guard !exponent.isEmpty else { return false }
            chars = chars.dropFirst(exponent.count)
        }
        return chars.isEmpty
    }

    /// Standard or URL-safe base64, padded or not; nil when anything else is in the text.
    static func base64(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default: return nil
            }
            if padding > 0 { return nil }  // data after padding
            values.append(v)
        }
        guard padding <= 2, values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var i = 0
        while i + 1 < values.count {
            let a = values[i], b = values[i + 1]
            out.append(a << 2 | b >> 4)
            if i + 2 < values.count {
                let c = values[i + 2]
                out.append((b & 0x0F) << 4 | c >> 2)
                if i + 3 < values.count { out.append((c & 0x03) << 6 | values[i + 3]) }
            }
            i += 4
        }
        return out
    }
}
