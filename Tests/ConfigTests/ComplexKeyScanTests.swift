import Foundation
import Testing
import Yams

@testable import Config

/// `ComplexKeyScan` keeps keys that are not text away from Yams, whose repeated-key check is exponential in how
/// deeply such keys nest. It must never miss one (Yams is the oracle), and must not refuse the files people write.
@Suite struct ComplexKeyScanTests {
    @Test(arguments: [
        ("? a\n: b\n", "an explicit key (?)"),
        ("x:\n  - ? a\n    : b\n", "an explicit key (?)"),
        ("{? a : b}\n", "an explicit key (?)"),
        ("[a, b]: c\n", "a list or mapping as a key"),
        ("{a: b}: c\n", "a list or mapping as a key"),
        ("x: {[a]: b}\n", "a list or mapping as a key"),
        ("x: {[a]\n  : b}\n", "a list or mapping as a key"),
        ("&k [a]: b\n", "a list or mapping as a key"),
        ("a: &x [1]\n*x : 2\n", "an alias as a key"),
        ("a: &x 1\n*x: 2\n", "an alias as a key"),
        ("a: b\n  'c\n? [x]\n: y\n", "an explicit key (?)"),
        ("x: [a\n  'b, {[c]: d}]\n", "a list or mapping as a key"),
        ("# comment\r? [a]\r: b\r", "an explicit key (?)"),
        ("# comment\u{2028}? [a]\n: b\n", "an explicit key (?)"),
        ("# comment\u{85}[a]: b\n", "a list or mapping as a key"),
        ("x: {a, [b]}\n", "a list or mapping as a key"),
        ("x: {a: 1, {b: 2}}\n", "a list or mapping as a key"),
        ("x: {a: 1,\n  # note\n  &y [c]}\n", "a list or mapping as a key"),
        ("a: &r 1\nx: {*r}\n", "an alias as a key"),
        ("key: |\n  text\n? a\n: b\n", "an explicit key (?)"),
        ("- key: |\n    text\n  ? a\n  : b\n", "an explicit key (?)"),
    ])
    func complexKeysAreFound(text: String, what: String) throws {
        let found = try #require(ComplexKeyScan.first(in: text))
        #expect(found.what == what, "\(text.debugDescription)")
    }

    @Test(arguments: [
        "\"?\": a\n'[a]': b\n\"{a}\": c\n",
        "# ? a comment\nkey: value # [a]: b\n",
        "key: a ? b\nother: what? [x]\n",
        "key: |\n  ? not a key\n  [a]: b\nnext: 1\n",
        "- body: >-\n    ? folded\n    {a}: b\n  other: 2\n",
        "list: [a, b]\nmap: {a: b, c: [d]}\n",
        "{\"a\": [1, {\"b\": \"?\"}], \"c\": {\"d\": null}}\n",
        "key: 'it''s ? [a]: b'\nother: \"say \\\"? [a]: b\\\"\"\n",
        "a: &x 1\nb: *x\nc: [*x]\n",
        "url: http://x/?a=[b]\n",
        "a: b\n  ? c 'd\nnext: \"e\"\n",
        "--- !tag\nkey: value\n...\n",
    ])
    func textKeysPass(text: String) throws {
        #expect(ComplexKeyScan.first(in: text) == nil, "\(text.debugDescription)")
        let root = try #require(try Yams.compose(yaml: text, .basic))
        #expect(ComplexKeyScan.onlyTextKeys(root))
    }

    /// Every YAML file the project ships (examples, fixtures, goldens) passes.
    @Test func theProjectsOwnFilesPass() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
            .standardized
        var checked = 0
        for folder in ["Fixtures", "deploy", "Tests"] {
            let enumerator = FileManager.default.enumerator(
                at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
            while let url = enumerator?.nextObject() as? URL {
                guard ["yaml", "yml", "json"].contains(url.pathExtension),
                    let text = try? String(contentsOf: url, encoding: .utf8),
                    (try? Yams.compose(yaml: text, .basic)).map({ $0.map(ComplexKeyScan.onlyTextKeys) ?? true }) == true
                else { continue }
                #expect(ComplexKeyScan.first(in: text) == nil, "\(url.path)")
                checked += 1
            }
        }
        #expect(checked > 50)
    }

    /// Generated documents from fragments that are hard to lex (quotes, block scalars, comments, flow collections,
    /// anchors, continuation lines, indicators inside text) mixed with every kind of complex key: whenever the scan
    /// finds nothing and Yams reads the document, Yams must have built only text keys.
    /// A small deterministic generator, so a failure names a document that reproduces it.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    @Test func theScanNeverMissesAKeyYamsWouldBuild() {
        var random = Seeded(state: 0x5CA7_C0DE)
        let keys = [
            "a", "\"q?\"", "'s''q'", "? x", "!t k", "&a b c", "!t [k]", "&a {k}", "[a]", "{a: b}", "*r", "&t k", "!t k",
            "-", "? [a]", "\"a\nb\"", "a b",
            "? |\n  x", "[a]\n", "{a: [b]}",
        ]
        let values = [
            "v", "\"x ? [y]: z\"", "'it''s'", "|\n  ? a\n  [b]: c", ">-\n    {a}: b\n  x", "[1, {a: b}]",
            "{[k]: v}", "&r [1]", "*r", "a ? b", "# ? c", "\"\\\"?\"", "- ? a", "!t [x]", "? ", "|2\n  [a]: b",
            "x\n  ? cont", "{a: b,\n  c: d}", "{k, [x]}", "{a, *r}", "{a: [b], c: {d: e}}", "[{a: b}, [c]]",
            "{a: 1, \"b\": [2], 'c': {d}}", "b\n  'c", "b\n    \"c ? [d]", "[a\n  'b, c]", "# c\r? [x]",
            "x\r\n  'y", "# c\u{2028}[k]: v",
        ]
        var checked = 0
        var composed = 0
        for _ in 0..<20000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let indent = String(repeating: " ", count: Int.random(in: 0...3, using: &random) * 2)
                let dash = Bool.random(using: &random) ? "- " : ""
                text +=
                    "\(indent)\(dash)\(keys.randomElement(using: &random)!): \(values.randomElement(using: &random)!)\n"
            }
            checked += 1
            guard ComplexKeyScan.first(in: text) == nil, let root = try? Yams.compose(yaml: text, .basic) else {
                continue
            }
            composed += 1
            #expect(ComplexKeyScan.onlyTextKeys(root), "\(text.debugDescription)")
        }
        // Not vacuous: many documents passed the scan and were read by Yams.
        #expect(composed > 1000, "\(composed) of \(checked)")
    }
}
