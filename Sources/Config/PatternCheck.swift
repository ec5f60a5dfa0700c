/// Checks of the patterns Envoy compiles when it receives a route: RE2 regular expressions and URI templates.
///
/// Not a full RE2 parser: it finds what people get wrong (unbalanced groups and brackets, invalid escapes,
/// Perl-only features RE2 refuses, a repetition with nothing to repeat, counts over RE2's limit of 1000) and says
/// where, so Envoy never NACKs a route for a pattern Chancery passed. Each check is one linear pass.
enum PatternCheck {
    /// A problem and the 0-based offset (in characters) where it is.
    struct Problem: Error, Equatable {
        var offset: Int
        var reason: String
    }

    /// Escapes RE2 knows after a backslash (outside and inside a class).
    private static let escapeLetters = Set("aftnrvdDsSwWbBAzpPQEx")
    private static let maxRepeat = 1000

    static func regex(_ text: String) -> Problem? {
        let chars = Array(text)
        var depth: [Int] = []
        var index = 0
        // Whether the previous item can be repeated by `*`, `+`, `?` or `{n}`.
        var repeatable = false
        while index < chars.count {
            let c = chars[index]
            switch c {
            case "\\":
                guard index + 1 < chars.count else { return Problem(offset: index, reason: "ends with a lone \\") }
                if let problem = escape(chars, at: index) { return problem }
                index += escapeLength(chars, at: index)
                repeatable = true
                continue
            case "(":
                depth.append(index)
                repeatable = false
                if index + 1 < chars.count, chars[index + 1] == "?" {
                    switch groupFlags(chars, at: index) {
                    case .failure(let problem): return problem
                    case .success(let last):
                        // `(?i)` sets flags and closes at once; the others open a group after their prefix.
                        if chars[last] == ")" {
                            depth.removeLast()
                        }
                        index = last
                    }
                }
            case ")":
                guard depth.popLast() != nil else {
                    return Problem(offset: index, reason: "has a \")\" without a matching \"(\"")
                }
                repeatable = true
            case "[":
                guard let end = classEnd(chars, from: index) else {
                    return Problem(offset: index, reason: "has a \"[\" without a matching \"]\"")
                }
                if let problem = classEscapes(chars, from: index, to: end) { return problem }
                index = end
                repeatable = true
            case "*", "+", "?":
                guard repeatable else {
                    return Problem(offset: index, reason: "has \"\(c)\" with nothing before it to repeat")
                }
                // `a*?` (lazy) is fine; `a**` is refused by RE2.
                if index + 1 < chars.count, chars[index + 1] == "?" { index += 1 }
                if index + 1 < chars.count, "*+".contains(chars[index + 1]) {
                    return Problem(offset: index + 1, reason: "repeats a repetition (\"\(c)\(chars[index + 1])\")")
                }
                repeatable = false
            case "{":
                if let (end, counts) = braces(chars, at: index) {
                    guard repeatable else {
                        return Problem(offset: index, reason: "has a {n} count with nothing before it to repeat")
                    }
                    if counts.contains(where: { $0 > maxRepeat }) {
                        return Problem(offset: index, reason: "repeats more than \(maxRepeat) times (RE2's limit)")
                    }
                    if counts.count == 2, counts[0] > counts[1] {
                        return Problem(offset: index, reason: "has a {min,max} count with min above max")
                    }
                    index = end
                    repeatable = false
                } else {
                    repeatable = true  // a literal `{`, as in RE2
                }
            default:
                repeatable = !("|^$".contains(c))
            }
            index += 1
        }
        if let open = depth.last { return Problem(offset: open, reason: "has a \"(\" that is never closed") }
        return nil
    }

    private static func escape(_ chars: [Character], at index: Int) -> Problem? {
        let next = chars[index + 1]
        if next.isASCII, next.isNumber {
            // RE2 reads \0 and \12 as octal; a lone \1-\9 would be a backreference, which it does not support.
            let octal = next == "0" || (next < "8" && index + 2 < chars.count && ("0"..."7").contains(chars[index + 2]))
            if !octal {
                return Problem(offset: index, reason: "uses a backreference (\\\(next)), which RE2 does not support")
            }
            return nil
        }
        if !next.isASCII || next == "_" || (next.isLetter && !escapeLetters.contains(next)) {
            return Problem(offset: index, reason: "has an invalid escape \"\\\(next)\"")
        }
        if next == "p" || next == "P" {
            guard index + 2 < chars.count else { return Problem(offset: index, reason: "ends inside \\\(next)") }
        }
        return nil
    }

    private static func escapeLength(_ chars: [Character], at index: Int) -> Int {
        let next = chars[index + 1]
        if next == "p" || next == "P", index + 2 < chars.count, chars[index + 2] == "{" {
            var end = index + 3
            while end < chars.count, chars[end] != "}" { end += 1 }
            return end - index + 1
        }
        if next == "p" || next == "P" { return 3 }
        return 2
    }

    /// `(?:`, `(?i)`, `(?P<name>`, `(?<name>`; RE2 refuses lookaround and other Perl groups.
    private static func groupFlags(_ chars: [Character], at index: Int) -> Result<Int, Problem> {
        guard index + 2 < chars.count else { return .failure(Problem(offset: index, reason: "ends inside \"(?\"")) }
        let kind = chars[index + 2]
        if kind == "=" || kind == "!" {
            return .failure(
                Problem(offset: index, reason: "uses a lookahead \"(?\(kind)\", which RE2 does not support"))
        }
        if kind == "<", index + 3 < chars.count, chars[index + 3] == "=" || chars[index + 3] == "!" {
            return .failure(Problem(offset: index, reason: "uses a lookbehind, which RE2 does not support"))
        }
        if kind == "P" || kind == "<" {
            let start = kind == "P" ? index + 4 : index + 3
            if kind == "P", !(index + 3 < chars.count && chars[index + 3] == "<") {
                return .failure(Problem(offset: index, reason: "has an invalid named group; write (?P<name>...)"))
            }
            var end = start
            while end < chars.count,
                chars[end] == "_" || (chars[end].isASCII && (chars[end].isLetter || chars[end].isNumber))
            {
                end += 1
            }
            guard end > start, end < chars.count, chars[end] == ">" else {
                return .failure(Problem(offset: index, reason: "has an invalid group name; use letters, digits and _"))
            }
            return .success(end)
        }
        var end = index + 2
        while end < chars.count, "imsU-".contains(chars[end]) { end += 1 }
        guard end < chars.count, chars[end] == ")" || chars[end] == ":", end > index + 2 || chars[end] == ":" else {
            return .failure(
                Problem(
                    offset: index,
                    reason: "has an unknown group \"(?\(kind)\"; RE2 knows (?:...), (?i) and (?P<name>...)"))
        }
        return .success(end)
    }

    /// The index of the `]` closing the class opened at `start`, or nil.
    private static func classEnd(_ chars: [Character], from start: Int) -> Int? {
        var index = start + 1
        if index < chars.count, chars[index] == "^" { index += 1 }
        if index < chars.count, chars[index] == "]" { index += 1 }  // a leading `]` is literal
        while index < chars.count {
            switch chars[index] {
            case "\\": index += 2
            case "[" where index + 1 < chars.count && chars[index + 1] == ":":
                var end = index + 2
                while end + 1 < chars.count, !(chars[end] == ":" && chars[end + 1] == "]") { end += 1 }
                index = end + 2
            case "]": return index
            default: index += 1
            }
        }
        return nil
    }

    private static func classEscapes(_ chars: [Character], from start: Int, to end: Int) -> Problem? {
        var index = start + 1
        while index < end {
            if chars[index] == "\\", index + 1 < end {
                if let problem = escape(chars, at: index) { return problem }
                index += 2
            } else {
                index += 1
            }
        }
        return nil
    }

    /// `{n}`, `{n,}`, `{n,m}` starting at `index`: the closing index and the numbers; nil when it is not a count.
    private static func braces(_ chars: [Character], at index: Int) -> (Int, [Int])? {
        var end = index + 1
        var numbers: [Int] = []
        var digits = ""
        while end < chars.count, chars[end] != "}" {
            let c = chars[end]
            if c.isASCII, c.isNumber {
                digits.append(c)
                if digits.count > 6 { return nil }
            } else if c == ",", numbers.isEmpty, !digits.isEmpty {
                numbers.append(Int(digits) ?? 0)
                digits = ""
            } else {
                return nil
            }
            end += 1
        }
        guard end < chars.count else { return nil }
        if numbers.isEmpty && digits.isEmpty { return nil }
        if !digits.isEmpty { numbers.append(Int(digits) ?? 0) }
        return (end, numbers)
    }

    // MARK: URI templates

    /// Envoy's `path_template`: `/`-separated segments, each literal text, `*`, `**` (last only), or a variable
    /// `{name}` / `{name=*}` / `{name=**}`; at most 5 variables, each named once.
    static func uriTemplate(_ text: String) -> Problem? {
        guard text.hasPrefix("/") else { return Problem(offset: 0, reason: "must start with \"/\"") }
        let segments = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var offset = 1
        var names = Set<String>()
        for (number, segment) in segments.enumerated() {
            let isLast = number == segments.count - 1
            defer { offset += segment.count + 1 }
            if segment.isEmpty {
                if isLast { continue }
                return Problem(offset: offset, reason: "has an empty segment (\"//\")")
            }
            if segment == "**" || segment.hasSuffix("=**}") {
                if !isLast { return Problem(offset: offset, reason: "uses \"**\" before the last segment") }
            }
            if segment.hasPrefix("{") {
                guard segment.hasSuffix("}") else {
                    if let close = segment.firstIndex(of: "}") {
                        let variable = segment[...close]
                        let text = segment[segment.index(after: close)...]
                        return Problem(
                            offset: offset,
                            reason:
                                "mixes variable \(variable) with the text \"\(text)\" in one segment; a variable must be a whole segment"
                        )
                    }
                    return Problem(offset: offset, reason: "has a \"{\" without a matching \"}\" in its segment")
                }
                let inner = segment.dropFirst().dropLast()
                let parts = inner.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                guard let first = name.first, first.isASCII, first.isLetter,
                    name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }), name.count <= 16
                else {
                    return Problem(
                        offset: offset, reason: "has an invalid variable name \"\(name)\"; use letters, digits and _")
                }
                if parts.count == 2, parts[1] != "*", parts[1] != "**" {
                    return Problem(
                        offset: offset, reason: "variable \"\(name)\" may only be {\(name)=*} or {\(name)=**}")
                }
                guard names.insert(name).inserted else {
                    return Problem(offset: offset, reason: "names variable \"\(name)\" twice")
                }
                if names.count > 5 {
                    return Problem(offset: offset, reason: "has more than 5 variables (Envoy's limit)")
                }
                continue
            }
            if segment != "*", segment != "**" {
                if let bad = segment.firstIndex(where: { "{}*".contains($0) }) {
                    return Problem(
                        offset: offset + segment.distance(from: segment.startIndex, to: bad),
                        reason: "mixes \"\(segment[bad])\" with literal text in one segment")
                }
            }
        }
        return nil
    }
}
