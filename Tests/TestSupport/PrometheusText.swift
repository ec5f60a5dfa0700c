/// A small reader of the Prometheus text exposition format, for tests that assert metric values: one sample per
/// line, `name{label="value",...} number`, comments skipped. It handles the escapes label values may carry.
public struct PrometheusText {
    public struct Sample: Equatable, Sendable {
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    public let samples: [Sample]

    public init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { line in
            line.hasPrefix("#") ? nil : Self.parse(Substring(line))
        }
    }

    /// The value of the one sample named `name` whose labels include `labels`; nil when there is none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }?.value
    }

    /// The sum over every sample named `name` whose labels include `labels` (0 when there is none).
    public func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }.reduce(0) { $0 + $1.value }
    }

    /// Every sample named `name`.
    public func all(_ name: String) -> [Sample] { samples.filter { $0.name == name } }

    private static func parse(_ line: Substring) -> Sample? {
        var rest = line[...]
        let name = rest.prefix { $0 != "{" && $0 != " " }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while let first = rest.first, first != "}" {
                if first == "," {
                    rest = rest.dropFirst()
                    continue
                }
                let key = rest.prefix { $0 != "=" }
                rest = rest.dropFirst(key.count + 2)  // `="`
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                rest = rest.dropFirst()  // closing quote
                labels[String(key)] = value
            }
            rest = rest.dropFirst()  // `}`
        }
        let number = rest.drop { $0 == " " }.prefix { $0 != " " }
        guard !name.isEmpty, let value = Double(number) else { return nil }
        return Sample(name: String(name), labels: labels, value: value)
    }
}
