import Foundation
import Yams

/// A YAML node together with the key path that led to it, for error messages.
struct Located {
    let node: Node
    /// Dotted path such as `listeners[1].hosts[0].domains`.
    let path: String
    let position: SourcePosition

    func child(_ node: Node, path: String) -> Located {
        Located(node: node, path: path, position: YAMLReader.position(of: node, file: position.file) ?? position)
    }
}

/// Reads typed values out of Yams nodes, collecting every problem instead of stopping at the first.
///
/// Scalars are interpreted by Chancery, not by Yams' constructors: a port is decimal digits only (no YAML 1.1
/// sexagesimal `1:30` or `0x50`), and an overlong number becomes an out-of-range error instead of a trap.
final class YAMLReader {
    let file: String
    private(set) var errors: [ConfigError] = []
    /// Nodes visited so far; bounds the work an alias-heavy ("billion laughs") file can cause.
    private var visited = 0
    private var budgetExceeded = false
    static let nodeBudget = 200_000

    init(file: String) { self.file = file }

    func report(_ error: ConfigError) { errors.append(error) }

    static func position(of node: Node, file: String) -> SourcePosition? {
        node.mark.map { SourcePosition(file: file, line: $0.line, column: $0.column) }
    }

    // MARK: Shapes

    func mapping(_ value: Located, place: String, allowed: [String]) -> MappingReader? {
        guard spend(value) else { return nil }
        guard let mapping = value.node.mapping else {
            report(
                .wrongType(
                    at: value.position, key: value.path, expected: "a mapping of keys (\(place))",
                    found: Self.describe(value.node)))
            return nil
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        for (key, item) in mapping {
            if let name = key.scalar?.string, entries[name] == nil { entries[name] = (key, item) }
        }
        return MappingReader(
            reader: self, mapping: mapping, entries: entries, located: value, place: place,
            allowed: allowed)
    }

    func list(_ value: Located) -> [Located]? {
        guard spend(value) else { return nil }
        guard let sequence = value.node.sequence else {
            report(
                .wrongType(at: value.position, key: value.path, expected: "a list", found: Self.describe(value.node)))
            return nil
        }
        var items: [Located] = []
        items.reserveCapacity(sequence.count)
        for (index, node) in sequence.enumerated() {
            items.append(value.child(node, path: "\(value.path)[\(index)]"))
        }
        return items
    }

    // MARK: Scalars

    /// Any non-null scalar as text (`name: 123` is the name "123").
    /// Text on one line: Envoy refuses a NUL, CR or LF in domains, redirects and rewrites (its header-value rule),
    /// and a name with a line break is always a mistake. `multiline` allows line breaks (a `respond` body).
    func string(_ value: Located, multiline: Bool = false) -> String? {
        guard spend(value) else { return nil }
        guard let scalar = value.node.scalar, !Self.isNull(scalar) else {
            report(.wrongType(at: value.position, key: value.path, expected: "text", found: Self.describe(value.node)))
            return nil
        }
        let text = scalar.string
        // The key's own name, for the two messages below only (worked out when one is needed).
        var leaf: String {
            value.path.split(separator: ".").last.map { $0.split(separator: "[").first.map(String.init) ?? "" } ?? ""
        }
        if text.unicodeScalars.contains("\u{0}") {
            report(
                .invalidValue(
                    at: value.position, key: value.path, message: "\"\(leaf)\" contains a NUL character",
                    hint: "remove it; Envoy cannot carry it"))
            return nil
        }
        if !multiline, text.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            report(
                .invalidValue(
                    at: value.position, key: value.path, message: "\"\(leaf)\" contains a line break",
                    hint: "write it on one line; Envoy refuses CR and LF here"))
            return nil
        }
        return text
    }

    /// A non-empty string.
    func nonEmptyString(_ value: Located) -> String? {
        guard let text = string(value) else { return nil }
        // Blank as Foundation's `.whitespaces` counts it (space separators and tab), without bridging to NSString.
        if text.unicodeScalars.allSatisfy({ $0 == "\t" || $0.properties.generalCategory == .spaceSeparator }) {
            report(
                .wrongType(at: value.position, key: value.path, expected: "non-empty text", found: "an empty string"))
            return nil
        }
        return text
    }

    func bool(_ value: Located) -> Bool? {
        guard spend(value) else { return nil }
        if let scalar = value.node.scalar, scalar.style == .plain || scalar.style == .any {
            switch scalar.string.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        report(
            .wrongType(at: value.position, key: value.path, expected: "true or false", found: Self.describe(value.node))
        )
        return nil
    }

    /// A decimal integer. `nil` with an error when the node is not one; very long numbers are returned as
    /// `Int.max` so range checks name them instead of failing to parse.
    func integer(_ value: Located) -> Int? {
        guard spend(value) else { return nil }
        if let scalar = value.node.scalar, scalar.style == .plain || scalar.style == .any,
            let number = Self.decimal(scalar.string)
        {
            return number
        }
        report(
            .wrongType(
                at: value.position, key: value.path, expected: "a whole number", found: Self.describe(value.node)))
        return nil
    }

    func port(_ value: Located) -> Int? {
        guard let number = integer(value) else { return nil }
        guard (1...65535).contains(number) else {
            report(.portOutOfRange(at: value.position, key: value.path, value: Self.scalarText(value.node)))
            return nil
        }
        return number
    }

    func duration(_ value: Located) -> Duration? {
        guard spend(value) else { return nil }
        guard let scalar = value.node.scalar, !Self.isNull(scalar) else {
            report(
                .wrongType(
                    at: value.position, key: value.path, expected: "a duration such as 30s",
                    found: Self.describe(value.node)))
            return nil
        }
        switch DurationText.parse(scalar.string) {
        case .success(let duration):
            return duration
        case .failure(let failure):
            report(.invalidDuration(at: value.position, key: value.path, text: scalar.string, reason: failure.reason))
            return nil
        }
    }

    /// A non-empty list of strings; reports an empty list with `emptyHint`.
    func stringList(_ value: Located, emptyHint: String) -> [(String, Located)]? {
        guard let items = list(value) else { return nil }
        if items.isEmpty {
            report(.emptyList(at: value.position, key: value.path, hint: emptyHint))
            return nil
        }
        return items.compactMap { item in nonEmptyString(item).map { ($0, item) } }
    }

    // MARK: Helpers

    private func spend(_ value: Located) -> Bool {
        visited += 1
        if visited <= Self.nodeBudget { return true }
        if !budgetExceeded {
            budgetExceeded = true
            report(
                .invalidValue(
                    at: value.position, key: value.path,
                    message: "the file expands to more than \(Self.nodeBudget) values",
                    hint: "aliases (*name) multiply the document; write the configuration out plainly"))
        }
        return false
    }

    static func isNull(_ scalar: Node.Scalar) -> Bool {
        guard scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func decimal(_ text: String) -> Int? {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard let magnitude = Int(digits) else { return negative ? Int.min : Int.max }
        return negative ? -magnitude : magnitude
    }

    static func scalarText(_ node: Node) -> String {
        node.scalar.map { $0.string } ?? describe(node)
    }

    /// How a node reads in an error message: `a list`, `a mapping`, `the text "abc"`, `nothing`.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull(scalar) { return "nothing" }
            let text = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "…" : scalar.string
            if scalar.style == .plain, decimal(scalar.string) != nil { return "the number \(text)" }
            if scalar.style == .plain, ["true", "false"].contains(scalar.string.lowercased()) {
                return "the boolean \(scalar.string)"
            }
            if scalar.style != .plain, decimal(scalar.string) != nil || ["true", "false"].contains(scalar.string) {
                return "\"\(text)\" in quotes, which makes it text (write it without quotes)"
            }
            return "the text \"\(text)\""
        }
    }
}

/// One YAML mapping being read: hands out values by key, then reports the keys nobody asked for.
struct MappingReader {
    let reader: YAMLReader
    let mapping: Node.Mapping
    /// Scalar keys by their text. Looked up here rather than with Yams' subscript, which resolves tags with
    /// regular expressions on every comparison (slow when aliases repeat a mapping thousands of times).
    let entries: [String: (key: Node, value: Node)]
    let located: Located
    /// How the mapping is named in messages: `listener "http"`, `route`, `the top level`.
    var place: String
    let allowed: [String]

    var position: SourcePosition { located.position }
    var path: String { located.path }

    func has(_ key: String) -> Bool { entries[key] != nil }

    /// The value under `key`, located for error messages.
    func value(_ key: String) -> Located? {
        guard let node = entries[key]?.value else { return nil }
        return located.child(node, path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// Where `key` itself is written (for conflicts between keys).
    func keyPosition(_ key: String) -> SourcePosition {
        guard let keyNode = entries[key]?.key else { return position }
        return YAMLReader.position(of: keyNode, file: position.file) ?? position
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value under a required key, or a `missingKey` error with `hint`.
    ///
    /// No error when an unknown key in this mapping looks like a misspelling of `key`: the unknown-key error
    /// already says "did you mean", and a second error for the same typo is noise.
    func required(_ key: String, hint: String) -> Located? {
        if let value = value(key) { return value }
        if !isMisspelled(key) {
            reader.report(.missingKey(at: position, key: keyPath(key), in: place, hint: hint))
        }
        return nil
    }

    /// Whether some unknown key of this mapping is most likely a typo for `key`.
    func isMisspelled(_ key: String) -> Bool {
        for (keyNode, _) in mapping {
            guard let name = keyNode.scalar?.string, !allowed.contains(name) else { continue }
            if Suggest.closest(to: name, in: allowed) == key { return true }
        }
        return false
    }

    /// Reports every key not in `allowed`, with a did-you-mean.
    func rejectUnknownKeys() {
        for (keyNode, _) in mapping {
            let name = keyNode.scalar?.string ?? YAMLReader.describe(keyNode)
            if keyNode.scalar != nil, allowed.contains(name) { continue }
            reader.report(
                .unknownKey(
                    at: YAMLReader.position(of: keyNode, file: position.file) ?? position,
                    key: keyPath(name), name: name, in: place, allowed: allowed))
        }
    }
}
