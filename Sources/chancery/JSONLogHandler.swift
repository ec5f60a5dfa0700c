import Foundation
import Logging
import Synchronization

/// `serve --log-format json`: one JSON object per line, for log shippers that would otherwise have to parse text.
///
/// Each line has `time` (RFC 3339, UTC, milliseconds), `level`, `message`, `label`, then the metadata as fields
/// of their own (a key that would shadow one of those four gets a `meta.` prefix). A line is written with one
/// `write(2)`, so lines from different threads never interleave.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    private let output: @Sendable (String) -> Void

    /// `output` receives one whole line, newline included; standard error by default.
    init(label: String, output: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.output = output
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        output(Self.line(time: Date(), level: event.level, message: "\(event.message)", label: label, fields: fields))
    }

    private static let reserved: Set<String> = ["time", "level", "message", "label"]

    /// One log line as JSON (keys in a fixed order: the four fixed ones, then metadata sorted by key).
    static func line(
        time: Date, level: Logger.Level, message: String, label: String, fields: Logger.Metadata
    ) -> String {
        var out = "{\"time\":"
        appendString(timestamp(time), to: &out)
        out += ",\"level\":"
        appendString(level.rawValue, to: &out)
        out += ",\"message\":"
        appendString(message, to: &out)
        out += ",\"label\":"
        appendString(label, to: &out)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            out += ","
            appendString(reserved.contains(key) ? "meta." + key : key, to: &out)
            out += ":"
            appendValue(value, to: &out)
        }
        out += "}\n"
        return out
    }

    private static func appendValue(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let text): appendString(text, to: &out)
        case .stringConvertible(let convertible): appendString(convertible.description, to: &out)
        case .array(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                appendValue(element, to: &out)
            }
            out += "]"
        case .dictionary(let entries):
            out += "{"
            for (index, (key, element)) in entries.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                appendValue(element, to: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and every control character escaped (RFC 8259 §7).
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    private static func timestamp(_ date: Date) -> String { date.formatted(timeFormat) }

    private static let lock = Mutex(())

    @Sendable static func standardError(_ line: String) {
        lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }
}
