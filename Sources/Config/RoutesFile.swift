import Foundation
import Yams

/// The routes file: read it, parse it, validate it, and explain every problem with file:line:column.
public enum RoutesFile {
    /// Reads and parses the routes file at `path`; an unreadable file is one error naming the path.
    public static func load(path: String) throws(ConfigErrors) -> RoutesConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigErrors([.unreadableFile(path: path, reason: reason(for: error, path: path))])
        }
        // Invalid UTF-8 becomes U+FFFD, which libyaml then reports with a position rather than failing silently.
        let text = String(decoding: data, as: UTF8.self)
        return try parse(text, file: path)
    }

    /// Parses routes-file text. `file` is only used in positions (`file:line:column`).
    public static func parse(_ yaml: String, file: String) throws(ConfigErrors) -> RoutesConfig {
        let root = try compose(yaml, file: file)
        let reader = YAMLReader(file: file)
        let decoder = RoutesDecoder(reader: reader)
        let config = decoder.decode(root: root)
        Validation.check(decoder.references, declaredGroups: decoder.declaredGroups, into: reader)
        Validation.grpcJSONClusters(config, into: reader)
        if !reader.errors.isEmpty {
            throw ConfigErrors(inFileOrder(reader.errors))
        }
        return config
    }

    /// Cross-check against the certificates found in the cert directory: every `certificate:` must name one.
    public static func checkCertificates(_ config: RoutesConfig, available: Set<String>) -> [ConfigError] {
        inFileOrder(Validation.certificates(config, available: available))
    }

    /// Cross-check against the `ca.crt` files found: every listener asking for client certificates needs one.
    public static func checkClientAuthorities(_ config: RoutesConfig, available: Set<String>) -> [ConfigError] {
        inFileOrder(Validation.clientAuthorities(config, available: available))
    }

    // MARK: - Helpers

    /// Sorted by position; repeats (an aliased node read once per alias) are reported once, under the first key.
    private static func inFileOrder(_ errors: [ConfigError]) -> [ConfigError] {
        var seen = Set<String>()
        let unique = errors.filter { seen.insert($0.description).inserted }
        return unique.enumerated().sorted { a, b in
            let (x, y) = (a.element.position, b.element.position)
            if x.line != y.line { return x.line < y.line }
            if x.column != y.column { return x.column < y.column }
            return a.offset < b.offset
        }.map(\.element)
    }

    private static func reason(for error: any Error, path: String) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        if !FileManager.default.isReadableFile(atPath: path) { return "permission denied" }
        return (error as NSError).localizedDescription
    }

    /// YAML text as Yams nodes, or one positioned error. `composing` is the text given to Yams when it differs from
    /// `yaml` only inside quoted scalars (raw JSON files join surrogate escapes first); positions refer to `yaml`.
    ///
    /// A mapping key that is not text is refused before Yams sees the file (`ComplexKeyScan`): no Chancery file
    /// needs one, and Yams' check for repeated keys takes time exponential in how deeply such keys nest.
    public static func compose(_ yaml: String, file: String, composing: String? = nil) throws(ConfigErrors) -> Node? {
        if let found = ComplexKeyScan.first(in: yaml) {
            throw ConfigErrors([
                .yamlSyntax(
                    at: SourcePosition(file: file, line: found.line, column: found.column),
                    problem:
                        "\(found.what) is not supported: every key must be plain text (quote it if it starts with "
                        + "?, [, { or *)",
                    context: nil)
            ])
        }
        do {
            // `.basic`: every scalar stays text with no implicit tag. Chancery reads scalars itself (YAMLReader), and
            // Yams' default resolver would run a set of regular expressions on every key and value to tag it.
            return try Yams.compose(yaml: composing ?? yaml, .basic)
        } catch {
            throw ConfigErrors([syntaxError(error, yaml: yaml, file: file)])
        }
    }

    /// Converts whatever Yams threw into one positioned error.
    public static func syntaxError(_ error: any Error, yaml: String, file: String) -> ConfigError {
        func at(_ mark: Mark) -> SourcePosition {
            SourcePosition(file: file, line: max(mark.line, 1), column: max(mark.column, 1))
        }
        guard let yamlError = error as? YamlError else {
            return .yamlSyntax(at: SourcePosition(file: file, line: 1, column: 1), problem: "\(error)", context: nil)
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _):
            // The two mistakes people make most, said plainly: a tab, and a quote never closed.
            if character(at: at(mark), in: yaml) == "\t" {
                return .yamlSyntax(
                    at: at(mark), problem: "a tab character; YAML indents with spaces only", context: nil)
            }
            if let context, context.text.contains("quoted scalar"), problem.contains("end of stream") {
                return .yamlSyntax(
                    at: at(context.mark), problem: "the quoted value starting here is never closed", context: nil)
            }
            let contextText = context.map { "\($0.text) at line \($0.mark.line), column \($0.mark.column)" }
            return .yamlSyntax(at: at(mark), problem: problem, context: contextText)
        case .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let contextText = context.map { "\($0.text) at line \($0.mark.line), column \($0.mark.column)" }
            return .yamlSyntax(at: at(mark), problem: problem, context: contextText)
        case .reader(let problem, let offset, _, _):
            return .yamlSyntax(
                at: position(ofCharacter: offset ?? 0, in: yaml, file: file), problem: problem,
                context: nil)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let first = at(context.mark)
            guard duplicates.count == 1, let repeated = repeatedKey(duplicates[0], after: first, in: yaml) else {
                return .duplicateKey(at: first, names: duplicates)
            }
            return .duplicateKey(at: repeated, names: duplicates, firstLine: first.line)
        default:
            return .yamlSyntax(
                at: SourcePosition(file: file, line: 1, column: 1), problem: "\(yamlError)", context: nil)
        }
    }

    /// The character at a 1-based line and column, if there is one.
    private static func character(at position: SourcePosition, in yaml: String) -> Character? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard position.line >= 1, position.line <= lines.count else { return nil }
        let line = lines[position.line - 1]
        guard position.column >= 1, position.column <= line.count else { return nil }
        return line[line.index(line.startIndex, offsetBy: position.column - 1)]
    }

    /// Where a block mapping repeats `key`: the next line after `first` holding `key:` at the same column. libyaml
    /// only reports the first one, but the repeat is the line to fix. Nil when it cannot be found (flow style).
    private static func repeatedKey(_ key: String, after first: SourcePosition, in yaml: String) -> SourcePosition? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line < lines.count else { return nil }
        let indent = first.column - 1
        for number in first.line..<lines.count {
            let line = lines[number]
            let lead = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(lead)
            if rest.isEmpty || rest.hasPrefix("#") { continue }
            if lead < indent { return nil }  // left the mapping (or a new list item began)
            if lead == indent, rest.hasPrefix(key + ":") {
                return SourcePosition(file: first.file, line: number + 1, column: first.column)
            }
        }
        return nil
    }

    /// Line and column (1-based, columns in Unicode scalars like libyaml) of the `offset`-th character.
    private static func position(ofCharacter offset: Int, in text: String, file: String) -> SourcePosition {
        var line = 1
        var column = 1
        for (index, character) in text.enumerated() {
            if index >= offset { break }
            if character.isNewline {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return SourcePosition(file: file, line: line, column: column)
    }
}
