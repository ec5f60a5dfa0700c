import Foundation
import Yams

/// A YAML node together with the key path that led to it, for error messages.
///
/// The path is put together only when a message asks for it: a valid file never needs one, and building a string
/// such as `listeners[1].hosts[0].routes[12].cluster` for every value read was a fifth of the reading time.
struct Located {
    let node: Node
    let position: SourcePosition
    /// The path of the mapping or list this value sits in, and the step from there.
    private let parentPath: String
    private let step: Step

    private enum Step {
        case none
        case key(String)
        case index(Int)
    }

    init(node: Node, path: String, position: SourcePosition) {
        self.init(node: node, position: position, parentPath: path, step: .none)
    }

    private init(node: Node, position: SourcePosition, parentPath: String, step: Step) {
        self.node = node
        self.position = position
        self.parentPath = parentPath
        self.step = step
    }

    /// Dotted path such as `listeners[1].hosts[0].domains`.
    var path: String {
        switch step {
        case .none: return parentPath
        case .key(let key): return parentPath.isEmpty ? key : "\(parentPath).\(key)"
        case .index(let index): return "\(parentPath)[\(index)]"
        }
    }

    /// The value under `key` of this mapping; `path` is this value's own path, worked out once by the caller.
    func child(_ node: Node, key: String, path: String) -> Located {
        Located(node: node, position: Self.position(of: node, else: position), parentPath: path, step: .key(key))
    }

    /// Item `index` of this list; `path` is this value's own path, worked out once by the caller.
    func child(_ node: Node, index: Int, path: String) -> Located {
        Located(node: node, position: Self.position(of: node, else: position), parentPath: path, step: .index(index))
    }

    private static func position(of node: Node, else fallback: SourcePosition) -> SourcePosition {
        YAMLReader.position(of: node, file: fallback.file) ?? fallback
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
        return MappingReader(reader: self, mapping: mapping, located: value, place: place, allowed: allowed)
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
        let path = value.path
        for (index, node) in sequence.enumerated() {
            items.append(value.child(node, index: index, path: path))
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
    /// The text of each scalar key, and where its pair is in `mapping`, in file order. Looked up here rather than
    /// with Yams' subscript, which resolves tags on every comparison. A route or a host has a handful of keys, so
    /// comparing texts beats hashing; a large mapping also gets an index.
    private let names: [String]
    private let offsets: [Int]
    private let index: [String: Int]?
    let located: Located
    /// How the mapping is named in messages: `listener "http"`, `route`, `the top level`.
    var place: String
    let allowed: [String]
    /// This mapping's own path, worked out once for the values read from it.
    let path: String

    init(reader: YAMLReader, mapping: Node.Mapping, located: Located, place: String, allowed: [String]) {
        var names: [String] = []
        var offsets: [Int] = []
        names.reserveCapacity(mapping.count)
        offsets.reserveCapacity(mapping.count)
        for offset in mapping.indices {
            if let name = mapping[offset].key.scalar?.string {
                names.append(name)
                offsets.append(offset)
            }
        }
        var index: [String: Int]?
        if names.count > 16 {
            var byName: [String: Int] = [:]
            byName.reserveCapacity(names.count)
            for (position, name) in names.enumerated() where byName[name] == nil { byName[name] = position }
            index = byName
        }
        self.reader = reader
        self.mapping = mapping
        self.names = names
        self.offsets = offsets
        self.index = index
        self.located = located
        self.place = place
        self.allowed = allowed
        self.path = located.path
    }

    var position: SourcePosition { located.position }

    /// Where the first pair under `key` is in `mapping` (a repeated key is Yams' error, reported before reading).
    private func offset(_ key: String) -> Int? {
        if let index { return index[key].map { offsets[$0] } }
        return names.firstIndex(of: key).map { offsets[$0] }
    }

    func has(_ key: String) -> Bool { offset(key) != nil }

    /// The value under `key`, located for error messages.
    func value(_ key: String) -> Located? {
        guard let offset = offset(key) else { return nil }
        return located.child(mapping[offset].value, key: key, path: path)
    }

    /// Where `key` itself is written (for conflicts between keys).
    func keyPosition(_ key: String) -> SourcePosition {
        guard let offset = offset(key) else { return position }
        let keyNode = mapping[offset].key
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
        names.contains { !allowed.contains($0) && Suggest.closest(to: $0, in: allowed) == key }
    }

    /// Reports every key not in `allowed`, with a did-you-mean.
    func rejectUnknownKeys() {
        // The common case, every key known, without walking Yams' pairs.
        if names.count == mapping.count, names.allSatisfy(allowed.contains) { return }
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
