import Testing

@testable import Config

/// The RE2 limits Chancery checks before Envoy does: nested counts and the compiled program's size.
@Suite("Regex cost")
struct RegexCostTests {
    /// Sizes RE2 itself reports (google-re2's `programsize`): the estimate may exceed them, never fall below.
    @Test(arguments: [
        ("a", 5), ("[a-z0-9_-]", 8), ("^/u/[a-z0-9_-]{1,32}/?$", 165), (".", 12), ("\\W", 15),
        ("(?i)[a-z]", 10), ("\\pL", 1200), ("[a-z0-9_-]{1,1000}", 5003), ("((a{10}){10}){10}", 1224),
        ("^/api/v[0-9]+/(users|teams)/[0-9]+$", 22), ("(?i)\\W*", 31), ("\\b*", 9), ("é", 6),
    ])
    func theEstimateIsNeverBelowRE2(pattern: String, size: Int) {
        let estimate = RegexCost.estimate(pattern)
        #expect(estimate.size >= size, "\(pattern): \(estimate.size) < \(size)")
        #expect(estimate.size <= 4 * size + 20, "\(pattern): \(estimate.size) is far above \(size)")
    }

    @Test func nestedCountsMultiply() {
        #expect(RegexCost.estimate("((a{10}){10}){10}").repeatProduct == 1000)
        #expect(RegexCost.estimate("(a{10}|b{3}){5,20}x{7}").repeatProduct == 200)
        #expect(RegexCost.estimate("(\\w{1,100}){2,}").repeatProduct == 200)
        #expect(RegexCost.estimate("a*b+c?").repeatProduct == 0)
    }

    static func yaml(_ regex: String) -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [example.com]
                routes:
                  - { regex: '\(regex)', cluster: app }
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """
    }

    @Test func patternsRE2RefusesOrEnvoyWouldAreRefused() {
        expectSingleError(
            Self.yaml("^(a{100}){11}$"), .invalidValue, key: "listeners[0].hosts[0].routes[0].regex", line: 7,
            column: 22, messageContains: "nests counted repetitions that multiply to 1100; RE2 allows at most 1000")
        expectSingleError(
            Self.yaml("^\\pL{10}$"), .invalidValue, key: "listeners[0].hosts[0].routes[0].regex", line: 7,
            column: 22, messageContains: "is too large for Envoy: it compiles to up to")
        #expect(parseValid(Self.yaml("^/u/[a-z0-9_-]{1,32}/?$")) != nil)
        #expect(parseValid(Self.yaml("^/static/[a-zA-Z0-9._-]{0,200}$")) != nil)
    }
}
