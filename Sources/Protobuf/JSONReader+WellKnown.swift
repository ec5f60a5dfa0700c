/// The well-known types whose proto3 JSON form is not an object of their fields.
enum WellKnown {
    private static let wrappers: Set<String> = [
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
    ]

    /// Types written under `"value"` inside an Any.
    static func hasOwnForm(_ type: String) -> Bool {
        wrappers.contains(type)
            || [
                "google.protobuf.Any", "google.protobuf.Duration", "google.protobuf.Timestamp",
                "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
                "google.protobuf.FieldMask",
            ].contains(type)
    }

    /// The message for a well-known type, or nil when `schema` is an ordinary message.
    static func read(
        _ input: ProtoInput, _ schema: MessageSchema, path: String, reader: JSONReader, depth: Int
    ) throws(ProtoInputError) -> ProtoMessage? {
        let type = schema.name
        func text(_ what: String) throws(ProtoInputError) -> String {
            guard case .string(let s) = input.value else {
                throw reader.fail(input, path, "\(reader.label(path)) must be \(what), found \(input.shape(at: path))")
            }
            return s
        }
        if wrappers.contains(type), let field = schema.field("value") {
            let value = try reader.single(input, field, path: path, depth: depth)
            return ProtoMessage(type, value.isZero ? [:] : ["value": value])
        }
        switch type {
        case "google.protobuf.Duration":
            let s = try text("a duration such as \"5s\" or \"0.250s\"")
            guard let (seconds, nanos) = duration(s) else {
                throw reader.fail(input, path, "\(reader.label(path)) \"\(s)\" is not a duration (write e.g. \"1.5s\")")
            }
            return secondsAndNanos(type, seconds, nanos)
        case "google.protobuf.Timestamp":
            let s = try text("an RFC 3339 time such as \"2026-01-02T03:04:05Z\"")
            guard let (seconds, nanos) = timestamp(s) else {
                throw reader.fail(input, path, "\(reader.label(path)) \"\(s)\" is not an RFC 3339 time")
            }
            return secondsAndNanos(type, seconds, nanos)
        case "google.protobuf.FieldMask":
            let s = try text("comma-separated field paths")
            let paths = s.split(separator: ",").map { snakeCase(String($0)) }
            return ProtoMessage(type, paths.isEmpty ? [:] : ["paths": .list(paths.map { .string($0) })])
        case "google.protobuf.Struct":
            guard case .object(let members) = input.value else {
                throw reader.fail(
                    input, path, "\(reader.label(path)) must be a mapping, found \(input.shape(at: path))")
            }
            var fields: [String: ProtoValue] = [:]
            for member in members {
                fields[member.key] = .message(
                    try structValue(member.value, path: "\(path).\(member.key)", reader: reader, depth: depth + 1))
            }
            return ProtoMessage(type, fields.isEmpty ? [:] : ["fields": .map(fields)])
        case "google.protobuf.Value":
            return try structValue(input, path: path, reader: reader, depth: depth)
        case "google.protobuf.ListValue":
            guard case .list(let items) = input.value else {
                throw reader.fail(input, path, "\(reader.label(path)) must be a list, found \(input.shape(at: path))")
            }
            return try listValue(items, path: path, reader: reader, depth: depth)
        default:
            return nil
        }
    }

    /// `google.protobuf.Value`: whichever JSON value it is.
    private static func structValue(_ input: ProtoInput, path: String, reader: JSONReader, depth: Int)
        throws(ProtoInputError) -> ProtoMessage
    {
        guard depth < JSONReader.maximumDepth else {
            throw reader.fail(input, path, "nested more than \(JSONReader.maximumDepth) deep")
        }
        let type = "google.protobuf.Value"
        switch input.value {
        case .null: return ProtoMessage(type, ["null_value": .enumValue("NULL_VALUE")])
        case .bool(let b): return ProtoMessage(type, ["bool_value": .bool(b)])
        case .number(let n):
            guard let d = Double(n), d.isFinite else {
                throw reader.fail(input, path, "\(reader.label(path)) \(n) is not a finite number")
            }
            return ProtoMessage(type, ["number_value": .double(d)])
        case .string(let s): return ProtoMessage(type, ["string_value": .string(s)])
        case .list(let items):
            return ProtoMessage(
                type, ["list_value": .message(try listValue(items, path: path, reader: reader, depth: depth + 1))])
        case .object:
            let schema = Registry.shared.messages["google.protobuf.Struct"]!
            return ProtoMessage(
                type,
                ["struct_value": .message(try read(input, schema, path: path, reader: reader, depth: depth + 1)!)])
        }
    }

    private static func listValue(_ items: [ProtoInput], path: String, reader: JSONReader, depth: Int)
        throws(ProtoInputError) -> ProtoMessage
    {
        var values: [ProtoValue] = []
        for (index, item) in items.enumerated() {
            values.append(
                .message(try structValue(item, path: "\(path)[\(index)]", reader: reader, depth: depth + 1)))
        }
        return ProtoMessage("google.protobuf.ListValue", values.isEmpty ? [:] : ["values": .list(values)])
    }

    private static func secondsAndNanos(_ type: String, _ seconds: Int64, _ nanos: Int64) -> ProtoMessage {
        var fields: [String: ProtoValue] = [:]
        if seconds != 0 { fields["seconds"] = .int(seconds) }
        if nanos != 0 { fields["nanos"] = .int(nanos) }
        return ProtoMessage(type, fields)
    }

    /// `"1.5s"`, `"-0.001s"`, `"300s"`: seconds with up to nine fractional digits, within ±10,000 years.
    static func duration(_ text: String) -> (Int64, Int64)? {
        guard text.hasSuffix("s") else { return nil }
        var body = Substring(text.dropLast())
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 12, whole.allSatisfy(\.isASCIIDigit),
            let seconds = Int64(whole), seconds <= 315_576_000_000
        else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            // "1.s" is read as 1s, as other proto3 JSON readers do.
            guard fraction.count <= 9, fraction.allSatisfy(\.isASCIIDigit) else { return nil }
            nanos = Int64(fraction + String(repeating: "0", count: 9 - fraction.count)) ?? 0
        }
        return negative ? (-seconds, -nanos) : (seconds, nanos)
    }

    /// RFC 3339: `2026-01-02T03:04:05Z`, with an optional fraction of up to nine digits and a `Z` or `±HH:MM` offset.
    static func timestamp(_ text: String) -> (Int64, Int64)? {
        let c = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= c.count else { return nil }
            var v: Int64 = 0
            for b in c[from..<(from + count)] {
                guard (48...57).contains(b) else { return nil }
                v = v * 10 + Int64(b - 48)
            }
            return v
        }
        guard c.count >= 20, c[4] == UInt8(ascii: "-"), c[7] == UInt8(ascii: "-"), c[10] == UInt8(ascii: "T"),
            c[13] == UInt8(ascii: ":"), c[16] == UInt8(ascii: ":"),
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if c[i] == UInt8(ascii: ".") {
            var digits = 0
            i += 1
            while i < c.count, (48...57).contains(c[i]) {
                guard digits < 9 else { return nil }
                nanos = nanos * 10 + Int64(c[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        if i == c.count - 1, c[i] == UInt8(ascii: "Z") || c[i] == UInt8(ascii: "z") {
        } else if i + 6 == c.count, c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-"),
            c[i + 3] == UInt8(ascii: ":"), let h = number(i + 1, 2), let m = number(i + 4, 2), h < 24, m < 60
        {
            offset = (h * 3600 + m * 60) * (c[i] == UInt8(ascii: "+") ? 1 : -1)
        } else {
            return nil
        }
        let days = daysFromCivil(year, month, day)
        return (days * 86_400 + hour * 3600 + minute * 60 + second - offset, nanos)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// `fooBar` → `foo_bar`, for FieldMask paths (dots kept).
    private static func snakeCase(_ path: String) -> String {
        var out = ""
        for ch in path {
            if ch.isUppercase {
                out += "_" + ch.lowercased()
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
