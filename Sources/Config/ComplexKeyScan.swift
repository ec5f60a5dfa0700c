import Yams

/// Finds a mapping key that is not plain text before the text reaches Yams: an explicit key (`? `), a list or
/// mapping used as a key (`[a]: b`, `{a: b}: c`), or an alias used as one (`*a : b`).
///
/// Chancery's files never need such a key, and Yams' duplicate-key check orders repeated keys with a comparison that
/// is exponential in their nesting: a 4 KB file of nested `? - ? -` kept a core busy for more than five minutes
/// (found by FuzzRoutesFile). The scan is a small lexer, linear in the text: it steps over comments, quoted
/// scalars, plain scalars and block scalars the way YAML does, and where it cannot tell, it reports. So a complex key
/// never gets through, and a valid file can only be refused for text such as `? ` at the start of a continuation
/// line of an unquoted value, with a message that says what to change.
public enum ComplexKeyScan {
    public struct Found: Equatable, Sendable {
        /// 1-based, in bytes for the column (the positions Yams reports are close enough for a message).
        public let line: Int
        public let column: Int
        /// What was found, for the message: "an explicit key (?)", "a list or mapping as a key", "an alias as a key".
        public let what: String
    }

    /// What the scan guarantees about a file it passes: every mapping key Yams builds from it is a scalar. The
    /// tests and the fuzz target check the scan against this.
    public static func onlyTextKeys(_ root: Node) -> Bool {
        var pending = [root]
        while let node = pending.popLast() {
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    guard case .scalar = key else { return false }
                    pending.append(value)
                }
            case .sequence(let sequence):
                pending.append(contentsOf: sequence)
            case .scalar, .alias:
                break
            }
        }
        return true
    }

    public static func first(in text: String) -> Found? {
        var scanner = Scanner(lines(text))
        return scanner.run()
    }

    /// The text's bytes with every line break libyaml knows as `\n`: CR LF, a lone CR, and NEL, LS and PS (YAML 1.1),
    /// so a comment or a plain scalar ends where libyaml ends it.
    static func lines(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte == 0x0D {
                out.append(0x0A)
                index += index + 1 < utf8.count && utf8[index + 1] == 0x0A ? 2 : 1
            } else if byte == 0xC2, index + 1 < utf8.count, utf8[index + 1] == 0x85 {
                out.append(0x0A)
                index += 2
            } else if byte == 0xE2, index + 2 < utf8.count, utf8[index + 1] == 0x80,
                utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9
            {
                out.append(0x0A)
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lineStart = 0
        /// Open flow collections, innermost last (`[` or `{`).
        var flow: [UInt8] = []
        var flowDepth: Int { flow.count }
        /// In a flow mapping, whether the next entry is a key: right after `{` or `,`. There an entry needs no `:`
        /// to be a key (`{a, b}` has two keys), so a list, a mapping or an alias there is a key whatever follows.
        var flowKey = false
        /// The column of the block node a block scalar on this line belongs to: the last `- ` entry or key.
        var nodeColumn = 0
        /// Set by a block scalar header (`|`, `>`): its content starts on the next line.
        var blockOwner: Int?
        /// Where the properties (`&anchor`, `!tag`) of the node being read began: a key's node starts there.
        var propertyStart: Int?
        /// Set when a plain scalar ran to the end of its line: YAML continues it on the next lines that are indented
        /// more than this block node (in a flow collection, on any line that does not start with an indicator).
        var plainOwner: Int?

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n")
        static let carriageReturn = UInt8(ascii: "\r")

        func byte(_ at: Int) -> UInt8? { at < bytes.count ? bytes[at] : nil }
        func isBlank(_ byte: UInt8?) -> Bool {
            byte == nil || byte == Self.space || byte == Self.tab || byte == Self.newline || byte == Self.carriageReturn
        }
        func isFlowIndicator(_ byte: UInt8?) -> Bool {
            guard let byte else { return false }
            return byte == UInt8(ascii: ",") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
                || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
        }
        /// An indicator character ends here when a blank follows (or, in a flow collection, a flow indicator).
        func endsIndicator(at position: Int) -> Bool {
            isBlank(byte(position)) || (flowDepth > 0 && isFlowIndicator(byte(position)))
        }
        var column: Int { index - lineStart }

        func found(_ what: String, at position: Int) -> Found {
            Found(line: line, column: position - lineStart + 1, what: what)
        }

        mutating func newline() {
            index += 1
            line += 1
            lineStart = index
            nodeColumn = indent(from: index)
            propertyStart = nil
        }

        func indent(from position: Int) -> Int {
            var end = position
            while byte(end) == Self.space { end += 1 }
            return end - position
        }

        /// Whether `:` (a value indicator) follows, after spaces on the same line (in a flow collection also after
        /// line breaks and comments, to be safe): what came before is a key.
        func colonFollows(_ position: Int) -> Bool {
            var at = position
            while let char = byte(at) {
                if char == Self.space || char == Self.tab || char == Self.carriageReturn {
                    at += 1
                } else if flowDepth > 0 && char == Self.newline {
                    at += 1
                } else if flowDepth > 0 && char == UInt8(ascii: "#") {
                    while let next = byte(at), next != Self.newline { at += 1 }
                } else {
                    break
                }
            }
            return byte(at) == UInt8(ascii: ":")
        }

        mutating func run() -> Found? {
            nodeColumn = indent(from: 0)
            while index < bytes.count {
                let char = bytes[index]
                switch char {
                case Self.newline:
                    newline()
                    if let owner = blockOwner {
                        blockOwner = nil
                        skipBlockScalar(owner: owner)
                    } else if let owner = plainOwner {
                        plainOwner = nil
                        skipPlainContinuation(owner: owner)
                    }
                case Self.space, Self.tab, Self.carriageReturn:
                    index += 1
                case UInt8(ascii: "#") where index == lineStart || isBlank(byte(index - 1)):
                    skipToEndOfLine()
                case UInt8(ascii: "'"), UInt8(ascii: "\""):
                    flowKey = false
                    let start = propertyStart ?? (index - lineStart)
                    propertyStart = nil
                    let (from, fromLine, fromLineStart) = (index, line, lineStart)
                    if skipQuoted(char) {
                        if colonFollows(index) { nodeColumn = start }
                    } else {
                        // Never closed: YAML reads no quoted scalar here either (or fails at the end). Read on as
                        // if it were plain text, so nothing after it goes unscanned.
                        (index, line, lineStart) = (from, fromLine, fromLineStart)
                        readPlain(nodeStart: start)
                    }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    if flowKey && flow.last == UInt8(ascii: "{") {
                        return found("a list or mapping as a key", at: index)
                    }
                    flow.append(char)
                    flowKey = char == UInt8(ascii: "{")
                    propertyStart = nil
                    index += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    if !flow.isEmpty { flow.removeLast() }
                    flowKey = false
                    index += 1
                    if colonFollows(index) { return found("a list or mapping as a key", at: index - 1) }
                case UInt8(ascii: ","):
                    flowKey = flow.last == UInt8(ascii: "{")
                    index += 1
                case UInt8(ascii: "?") where endsIndicator(at: index + 1):
                    return found("an explicit key (?)", at: index)
                case UInt8(ascii: "-") where endsIndicator(at: index + 1):
                    nodeColumn = column
                    index += 1
                case UInt8(ascii: ":") where endsIndicator(at: index + 1):
                    flowKey = false
                    index += 1
                case UInt8(ascii: "*"):
                    let start = index
                    if flowKey && flow.last == UInt8(ascii: "{") { return found("an alias as a key", at: start) }
                    skipAnchorName()
                    if colonFollows(index) { return found("an alias as a key", at: start) }
                case UInt8(ascii: "&"):
                    if propertyStart == nil { propertyStart = index - lineStart }
                    skipAnchorName()  // the node follows
                case UInt8(ascii: "!"):
                    if propertyStart == nil { propertyStart = index - lineStart }
                    skipTag()  // the node follows
                case UInt8(ascii: "|") where flowDepth == 0, UInt8(ascii: ">") where flowDepth == 0:
                    blockOwner = nodeColumn
                    skipToEndOfLine()  // the header's indicators and a comment
                case UInt8(ascii: "%") where index == lineStart:
                    skipToEndOfLine()  // a directive
                default:
                    flowKey = false
                    let start = propertyStart ?? (index - lineStart)
                    propertyStart = nil
                    readPlain(nodeStart: start)
                }
            }
            return nil
        }

        /// A plain scalar from here: a key sets the node column; one that runs to the line's end may continue.
        mutating func readPlain(nodeStart: Int) {
            skipPlain()
            if colonFollows(index) {
                nodeColumn = nodeStart
            } else if byte(index) == Self.newline {
                plainOwner = flow.isEmpty ? nodeColumn : -1
            }
        }

        mutating func skipToEndOfLine() {
            while let char = byte(index), char != Self.newline { index += 1 }
        }

        /// An anchor or alias name: letters, digits, `-` and `_`, as libyaml reads them (so `*a: b` is an alias
        /// followed by a value indicator).
        mutating func skipAnchorName() {
            index += 1
            while let char = byte(index),
                char == UInt8(ascii: "-") || char == UInt8(ascii: "_") || (char >= 0x30 && char <= 0x39)
                    || (char | 0x20 >= 0x61 && char | 0x20 <= 0x7A)
            {
                index += 1
            }
        }

        /// A tag: up to a blank or a flow indicator.
        mutating func skipTag() {
            index += 1
            while !isBlank(byte(index)), !isFlowIndicator(byte(index)) { index += 1 }
        }

        /// A quoted scalar, over line breaks: `''` is a quote inside single quotes, a backslash escapes inside double.
        /// False when the text ends before the closing quote.
        mutating func skipQuoted(_ quote: UInt8) -> Bool {
            index += 1
            while let char = byte(index) {
                if char == Self.newline {
                    index += 1
                    line += 1
                    lineStart = index
                } else if quote == UInt8(ascii: "'") && char == quote {
                    if byte(index + 1) == quote {
                        index += 2
                    } else {
                        index += 1
                        return true
                    }
                } else if quote == UInt8(ascii: "\"") && char == UInt8(ascii: "\\") {
                    if byte(index + 1) == Self.newline {
                        index += 1
                    } else {
                        index += 2
                    }
                } else if char == quote {
                    index += 1
                    return true
                } else {
                    index += 1
                }
            }
            return false
        }

        /// A plain scalar on this line: it ends at `: `, ` #`, the line's end, or in a flow collection at a flow
        /// indicator. (Its continuation lines are scanned as new tokens, which can only report more.)
        mutating func skipPlain() {
            index += 1
            while let char = byte(index) {
                if char == Self.newline { return }
                if char == UInt8(ascii: ":") && endsIndicator(at: index + 1) { return }
                if char == UInt8(ascii: "#") && isBlank(byte(index - 1)) { return }
                if flowDepth > 0 && isFlowIndicator(char) { return }
                index += 1
            }
        }

        /// The lines that continue a plain scalar, as text (a quote or a `?` there is part of it, as in YAML). Stops
        /// at a line start, or where the scalar ends within a line (`: `, ` #`, a flow indicator).
        mutating func skipPlainContinuation(owner: Int) {
            while index < bytes.count {
                let indent = indent(from: index)
                let first = byte(index + indent)
                guard let first else {
                    index = bytes.count
                    return
                }
                if first == Self.newline {
                    index += indent
                    skipToEndOfLine()
                    if index < bytes.count { newline() }
                    continue
                }
                if flow.isEmpty && indent <= owner { return }
                if first == UInt8(ascii: "#") || isFlowIndicator(first) && !flow.isEmpty { return }
                if first == UInt8(ascii: ":") && endsIndicator(at: index + indent + 1) { return }
                if indent == 0, isDocumentMarker(at: index) { return }
                index += indent
                skipPlain()
                guard byte(index) == Self.newline else { return }
                newline()
            }
        }

        /// `---` or `...` at the start of a line, followed by a blank.
        func isDocumentMarker(at position: Int) -> Bool {
            guard let first = byte(position), first == UInt8(ascii: "-") || first == UInt8(ascii: ".") else {
                return false
            }
            return byte(position + 1) == first && byte(position + 2) == first && isBlank(byte(position + 3))
        }

        /// The lines of a block scalar whose header was on the line before: blank lines, and lines indented at least
        /// as much as the first non-blank one when that one is indented more than `owner`. Stops at a line start.
        mutating func skipBlockScalar(owner: Int) {
            var content: Int?
            while index < bytes.count {
                let indent = indent(from: index)
                let first = byte(index + indent)
                if first == Self.newline {
                    index += indent
                    skipToEndOfLine()
                    if index < bytes.count { newline() }
                    continue
                }
                if first == nil {
                    index = bytes.count
                    return
                }
                if content == nil {
                    guard indent > owner else { return }
                    content = indent
                }
                guard let content, indent >= content else { return }
                skipToEndOfLine()
                if index < bytes.count { newline() }
            }
        }
    }
}
