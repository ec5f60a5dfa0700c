import Foundation
import TestSupport
import Testing

@testable import Config

/// Fuzz-ish: broken input of every shape must give errors with sane positions, never a crash or a hang.
@Suite("Routes file robustness")
struct RobustnessTests {
    let example: String = {
        let path = FixturePaths.path("example-site/routes.yaml")
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }()

    /// Every error points inside the text and reads as `file:line:column: message`.
    func checkSane(_ errors: [ConfigError], text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
        for error in errors {
            #expect((1...max(lines, 1) + 1).contains(error.position.line), "\(error)", sourceLocation: sourceLocation)
            #expect(error.position.column >= 1, "\(error)", sourceLocation: sourceLocation)
            #expect(
                error.description.hasPrefix("routes.yaml:\(error.position.line):\(error.position.column): "),
                sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        }
    }

    func offset(of needle: String, after start: Int = 0) -> Int {
        let characters = Array(example)
        let target = Array(needle)
        var index = start
        while index + target.count <= characters.count {
            if Array(characters[index..<index + target.count]) == target { return index }
            index += 1
        }
        Issue.record("\"\(needle)\" not found in the example")
        return 0
    }

    /// Cutting the example anywhere gives errors, except where the cut leaves a complete, valid file:
    /// just after the first listener's `redirect_to_https: true` (through its `https_port` digits), and the end.
    @Test func everyTruncationOfTheExample() {
        #expect(example.count > 1000)
        let validFrom = offset(of: "redirect_to_https: true") + "redirect_to_https: true".count
        let validUntil = offset(of: "  - name: https")  // "  -" alone is a null list item: an error again
        let complete = offset(of: "[127.0.0.1:18022]") + "[127.0.0.1:18022]".count
        var checked = 0
        for length in 0..<example.count {
            let text = String(example.prefix(length))
            let errors = parseErrors(text)
            checkSane(errors, text: text)
            let mayBeValid = (validFrom..<validUntil + 3).contains(length) || length >= complete
            if !mayBeValid {
                #expect(!errors.isEmpty, "prefix of \(length) characters parsed without errors:\n\(text.suffix(80))")
            }
            checked += 1
        }
        #expect(checked == example.count)
        #expect(parseErrors(example).isEmpty)
    }

    /// Seeded random character edits and line shuffles of the example.
    @Test func garbledExamples() {
        var random = SplitMix64(seed: 0xC4A2_5E11)
        let nasty = Array(":[]{}-#&*!|>'\"\t\n ?%@,\\`~0\u{0}\u{FEFF}é→")
        let lines = example.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var withErrors = 0
        for round in 0..<600 {
            var text: String
            if round % 3 == 0 {
                var shuffled = lines
                let a = Int(random.next() % UInt64(lines.count))
                let b = Int(random.next() % UInt64(lines.count))
                shuffled.swapAt(a, b)
                if round % 2 == 0 { shuffled.remove(at: a) }
                text = shuffled.joined(separator: "\n")
            } else {
                var characters = Array(example)
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    let index = Int(random.next() % UInt64(characters.count))
                    characters[index] = nasty[Int(random.next() % UInt64(nasty.count))]
                }
                text = String(characters)
            }
            let errors = parseErrors(text)
            checkSane(errors, text: text)
            if !errors.isEmpty { withErrors += 1 }
        }
        // Most edits break something; a few land in comments. The exact count is fixed by the seed.
        #expect(withErrors > 300)
    }

    @Test(arguments: [
        ("empty flow", "{}"),
        ("a bare list", "[1, 2, 3]"),
        ("a number", "42"),
        ("unclosed quote", "listeners: [\"abc"),
        ("unclosed flow", "listeners: [{name: a, port: 80"),
        ("bad indentation", "listeners:\n  - name: a\n port: 80"),
        ("tab", "listeners:\n\t- name: a"),
        ("nul byte", "listeners:\u{0}\n"),
        ("control character", "listeners: \u{7}\n"),
        ("undefined alias", "listeners: *nothing"),
        ("two documents", "listeners: []\n---\nlisteners: []"),
        ("binary tag", "listeners: !!binary aGVsbG8="),
        ("custom tag", "listeners: !mine [1]"),
        ("merge key", "base: &b {port: 80}\nlisteners:\n  - <<: *b\n    name: a"),
        ("complex key", "? [a, b]\n: c\nlisteners: []"),
        ("null everything", "listeners:\n  - name:\n    port:\n    hosts:\n"),
        ("deep flow nesting", String(repeating: "[", count: 5000)),
        ("deep block nesting", (0..<300).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n")),
        ("huge number", "listeners:\n  - name: a\n    port: " + String(repeating: "9", count: 5000)),
        ("long line", "listeners: " + String(repeating: "x", count: 100_000)),
        ("only a BOM", "\u{FEFF}"),
        ("unicode names", "listeners:\n  - name: 🚀\n    port: 80\n    tcp: { cluster: 集群 }"),
        (
            "negative duration",
            "listeners:\n  - name: a\n    port: 80\n    tcp: { cluster: c, idle_timeout: -1s }\nclusters: [{name: c, endpoints: [\"a:1\"]}]"
        ),
        ("int where list", "listeners: 5"),
        ("list of lists", "listeners: [[1], [2]]"),
        ("sexagesimal port", "listeners:\n  - name: a\n    port: 1:30\n    redirect_to_https: true"),
        ("hex port", "listeners:\n  - name: a\n    port: 0x50\n    redirect_to_https: true"),
    ])
    func strangeInputs(_ name: String, _ yaml: String) {
        let errors = parseErrors(yaml)
        #expect(!errors.isEmpty, "\(name) parsed without errors")
        checkSane(errors, text: yaml)
    }

    /// Aliases can make a small file describe millions of routes; the reader stops at a fixed budget.
    @Test func aliasExplosionIsBounded() {
        var yaml = "x: &r {prefix: /, cluster: c}\n"
        yaml += "y: &rs [" + Array(repeating: "*r", count: 60).joined(separator: ", ") + "]\n"
        yaml += "z: &h {domains: [a.test], routes: *rs}\n"
        yaml += "w: &hs [" + Array(repeating: "*h", count: 60).joined(separator: ", ") + "]\n"
        yaml += "v: &l {name: l, port: 80, hosts: *hs}\n"
        yaml += "listeners: [" + Array(repeating: "*l", count: 60).joined(separator: ", ") + "]\n"
        let started = ContinuousClock.now
        let errors = parseErrors(yaml)
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(errors.contains { $0.message.contains("expands to more than") })
        // Repeats of the same aliased mistake are reported once.
        #expect(errors.count < 50, "\(errors.count) errors")
    }
}

/// A tiny deterministic generator so fuzz runs are reproducible.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
