/// What Envoy's RE2 will think of a pattern that `PatternCheck` already found well formed: the product of nested
/// counted repetitions, which RE2 caps at 1000, and an upper bound on the size of the compiled program, which Envoy
/// refuses above its `re2.max_program_size.error_level` (100 unless the bootstrap raises it; `chancery bootstrap`
/// sets `limit`).
///
/// The bound over-counts on purpose: every construct is charged at least what RE2 spends on it, so a pattern under
/// `limit` here is under it in Envoy. `Tests/e2e/test_regex_limits.py` holds it to that against RE2 itself (the
/// `google-re2` package) on thousands of generated patterns; typical patterns come out 1.5–4 times their real size.
public enum RegexCost {
    /// The program size Chancery allows, and the error level `chancery bootstrap` gives Envoy. Envoy's own default
    /// (100) refuses patterns as ordinary as `^/u/[a-z0-9_-]{1,32}$`.
    public static let limit = 10_000
    /// RE2's cap on the product of nested `{n,m}` counts.
    static let maxRepeatProduct = 1000

    struct Estimate: Equatable {
        /// Upper bound on the compiled program's instruction count.
        var size: Int
        /// The largest product of nested counted repetitions.
        var repeatProduct: Int
    }

    static func estimate(_ pattern: String) -> Estimate {
        var parser = Parser(Array(pattern.unicodeScalars))
        let (cost, product) = parser.alternation()
        return Estimate(size: saturating(base + cost), repeatProduct: product)
    }

    /// The failure instruction, the match and the unanchored `.*?` prefix loop.
    private static let base = 5

    static func saturating(_ value: Int) -> Int { min(max(value, 0), 1 << 40) }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        /// Case folding (`(?i)`) doubles letters and drags in non-ASCII look-alikes (K and the Kelvin sign).
        var fold = false

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func alternation() -> (Int, Int) {
            var (cost, product) = concatenation()
            while current == "|" {
                index += 1
                let (next, nextProduct) = concatenation()
                cost = saturating(cost + next + 2)
                product = max(product, nextProduct)
            }
            return (cost, product)
        }

        mutating func concatenation() -> (Int, Int) {
            var cost = 0
            var product = 0
            while let c = current, c != "|", c != ")" {
                let start = index
                let (next, nextProduct) = repetition()
                cost = saturating(cost + next)
                product = max(product, nextProduct)
                if index == start { index += 1 }  // never stall on input PatternCheck would have refused
            }
            return (cost, product)
        }

        mutating func repetition() -> (Int, Int) {
            var (cost, product) = atom()
            while let c = current {
                if c == "*" || c == "?" {
                    index += 1
                    cost = saturating(cost + 2)
                } else if c == "+" {
                    index += 1
                    cost = saturating(2 * cost + 2)
                } else if c == "{", let (low, high) = counts() {
                    let count = high ?? low
                    product = count == 0 ? product : saturating(max(product, 1) * count)
                    if let high {
                        cost = saturating(high * cost + 2 * (high - low) + 1)
                    } else {
                        cost = saturating((low + 1) * cost + 2)
                    }
                } else {
                    break
                }
                if current == "?" { index += 1 }  // lazy: the same program
            }
            return (cost, product)
        }

        /// `{n}`, `{n,}` or `{n,m}` at `index`, consumed; nil (nothing consumed) when it is a literal `{`.
        mutating func counts() -> (Int, Int?)? {
            let start = index
            index += 1
            guard let low = number() else {
                index = start
                return nil
            }
            var high: Int? = low
            if current == "," {
                index += 1
                high = number()
            }
            guard current == "}" else {
                index = start
                return nil
            }
            index += 1
            return (low, high)
        }

        mutating func number() -> Int? {
            var value: Int?
            while let c = current, let digit = c.properties.numericType == .decimal ? Int(String(c)) : nil {
                value = saturating((value ?? 0) * 10 + digit)
                index += 1
            }
            return value
        }

        mutating func atom() -> (Int, Int) {
            guard let c = current else { return (0, 0) }
            switch c {
            case "(": return group()
            case "[": return (charClass(), 0)
            case ".":
                index += 1
                return (9, 0)
            case "^", "$":
                index += 1
                return (2, 0)
            case "\\": return (escape(), 0)
            default:
                index += 1
                return (literal(c), 0)
            }
        }

        mutating func group() -> (Int, Int) {
            index += 1
            var capture = true
            if current == "?" {
                index += 1
                if current == "P" || current == "<" {
                    while let c = current, c != ">" { index += 1 }
                    index += 1
                } else {
                    capture = false
                    var flags = ""
                    while let c = current, c != ":", c != ")" {
                        flags.unicodeScalars.append(c)
                        index += 1
                    }
                    if flags.split(separator: "-", omittingEmptySubsequences: false).first?.contains("i") == true {
                        fold = true
                    }
                    if current == ")" {  // `(?i)`: flags only
                        index += 1
                        return (0, 0)
                    }
                    index += 1
                }
            }
            let (cost, product) = alternation()
            if current == ")" { index += 1 }
            return (saturating(cost + (capture ? 2 : 0)), product)
        }

        func literal(_ c: Unicode.Scalar) -> Int {
            let bytes = UTF8.width(c)
            return fold && c.properties.isAlphabetic ? 2 * bytes + 6 : bytes
        }

        /// Escapes by what RE2 compiles them to; `\p` classes run to hundreds of instructions (`\pL` is ~1200).
        mutating func escape() -> Int {
            index += 1
            guard let c = current else { return 1 }
            index += 1
            switch c {
            case "p", "P":
                skipBraced(orOne: true)
                return 1500
            case "x":
                skipBraced(orOne: false)
                return 4
            case "Q":
                var cost = 0
                while let next = current {
                    if next == "\\", index + 1 < scalars.count, scalars[index + 1] == "E" {
                        index += 2
                        break
                    }
                    cost += literal(next)
                    index += 1
                }
                return cost
            case "d": return 1
            case "w": return fold ? 16 : 4
            case "s": return 3
            case "D": return fold ? 26 : 9
            case "W": return fold ? 32 : 12
            case "S": return fold ? 30 : 11
            case "b", "B", "A", "z": return 2
            default: return c.properties.isAlphabetic || c.properties.numericType != nil ? 1 : literal(c)
            }
        }

        /// `{...}` after `\p` or `\x`; otherwise one letter (`\pL`) or two hex digits (`\x41`).
        mutating func skipBraced(orOne: Bool) {
            if current == "{" {
                while let c = current, c != "}" { index += 1 }
                index += 1
            } else {
                index = min(scalars.count, index + (orOne ? 1 : 2))
            }
        }

        mutating func charClass() -> Int {
            index += 1
            var negated = false
            if current == "^" {
                negated = true
                index += 1
            }
            var items = 0
            var nonASCII = false
            var letters = false
            var first = true
            while let c = current, first || c != "]" {
                first = false
                if c == "[", index + 1 < scalars.count, scalars[index + 1] == ":" {
                    // `[:alpha:]`, `[:^digit:]`
                    let start = index
                    while let d = current, !(d == ":" && index + 1 < scalars.count && scalars[index + 1] == "]") {
                        index += 1
                    }
                    index = min(scalars.count, index + 2)
                    items += 6
                    letters = true
                    if scalars[start..<min(scalars.count, start + 3)].contains("^") { nonASCII = true }
                    continue
                }
                if c == "\\" {
                    let cost = escape()
                    if cost >= 1500 { return 1500 }
                    items += min(cost, 20)
                    if cost >= 9 { nonASCII = true }
                    continue
                }
                index += 1
                if !c.isASCII { nonASCII = true }
                if c.properties.isAlphabetic { letters = true }
                if current == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                    index += 1
                    if current == "\\" {
                        _ = escape()
                    } else if let high = current {
                        index += 1
                        if !high.isASCII { nonASCII = true }
                    }
                }
                items += 1
            }
            index += 1
            var cost = items
            if fold && letters { cost = 2 * items + 6 }
            if negated || nonASCII { cost += 12 + 3 * items + (fold ? 10 : 0) }
            return saturating(cost)
        }
    }
}
