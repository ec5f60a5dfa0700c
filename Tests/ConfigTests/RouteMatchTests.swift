import Foundation
import Testing

@testable import Config

/// `regex`, `path_template`, `headers` and `query` matches of routes.
@Suite("Route matching")
struct RouteMatchTests {
    /// One route; `route` is its inline mapping body, on line 7.
    static func yaml(_ route: String) -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [example.com]
                routes:
                  - { \(route), cluster: app }
        clusters:
          - name: app
            endpoints: [127.0.0.1:9000]
        """
    }

    static func route(_ config: RoutesConfig?) -> Route? {
        guard case .http(let http)? = config?.listeners.first?.kind else { return nil }
        return http.hosts.first?.routes.first
    }

    @Test func regexAndTemplateMatches() throws {
        let regex = try #require(Self.route(parseValid(Self.yaml(#"regex: "^/api/v[0-9]+/(users|teams)/\\d+$""#))))
        #expect(regex.match == .regex(#"^/api/v[0-9]+/(users|teams)/\d+$"#))
        let template = try #require(Self.route(parseValid(Self.yaml("path_template: \"/users/{id}/files/{rest=**}\""))))
        #expect(template.match == .template("/users/{id}/files/{rest=**}"))
    }

    @Test(arguments: [
        ("regex: /a(b", 7, 24, "has a \"(\" that is never closed"),
        ("regex: /a)b", 7, 24, "has a \")\" without a matching \"(\""),
        (#"regex: /a\qb"#, 7, 24, "has an invalid escape \"\\q\""),
        ("regex: \"/a[bc\"", 7, 25, "has a \"[\" without a matching \"]\""),
        ("regex: /(?=x)", 7, 23, "uses a lookahead"),
        (#"regex: /(a)\1"#, 7, 26, "uses a backreference"),
        ("regex: \"/a{2000}\"", 7, 25, "repeats more than 1000 times"),
        ("regex: \"*a\"", 7, 23, "has \"*\" with nothing before it to repeat"),
    ])
    func invalidRegexIsReportedWhereItIs(_ route: String, _ line: Int, _ column: Int, _ reason: String) {
        expectSingleError(
            Self.yaml(route), .invalidValue, key: "listeners[0].hosts[0].routes[0].regex", line: line,
            column: column, messageContains: reason, hintContains: "RE2")
    }

    @Test func validRegexFeaturesPass() {
        for pattern in [
            #"^/(?i:static)/.*\.(css|js)$"#, #"^/(?P<name>[a-z_]+)/?$"#, "^/x{2,3}y*?$", #"^/[\]a-z]+$"#,
            #"^/\p{Greek}+$"#, "^/{literal$", "^/[[:alpha:]]+$",
        ] {
            #expect(PatternCheck.regex(pattern) == nil, "\(pattern)")
        }
    }

    @Test func invalidTemplates() {
        expectSingleError(
            Self.yaml("path_template: /a/**/b"), .invalidValue, key: "listeners[0].hosts[0].routes[0].path_template",
            line: 7, column: 33, messageContains: "uses \"**\" before the last segment")
        expectSingleError(
            Self.yaml("path_template: \"/users/{1id}\""), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].path_template", line: 7, column: 38,
            messageContains: "invalid variable name \"1id\"")
        expectSingleError(
            Self.yaml("path_template: \"/x/a{id}\""), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].path_template",
            line: 7, column: 35, messageContains: "mixes \"{\" with literal text")
    }

    @Test func twoPathMatchesConflict() {
        expectSingleError(
            Self.yaml("prefix: /, regex: ^/a"), .conflictingKeys, key: "listeners[0].hosts[0].routes[0].regex",
            line: 7, column: 26, messageContains: "route has both \"prefix\" and \"regex\"")
    }

    @Test func headerAndQueryMatches() throws {
        let route = try #require(
            Self.route(
                parseValid(
                    Self.yaml(
                        "prefix: /, headers: [{ name: X-Canary, exact: \"1\" }, { name: cookie, regex: \".*beta=1.*\" }, "
                            + "{ name: x-debug, present: false }, { name: user-agent, prefix: curl, invert: true }], "
                            + "query: [{ name: preview, present: true }, { name: v, exact: \"2\" }]"))))
        #expect(
            route.headerMatches == [
                HeaderMatch(name: "x-canary", match: .exact("1")),
                HeaderMatch(name: "cookie", match: .regex(".*beta=1.*")),
                HeaderMatch(name: "x-debug", match: .present(false)),
                HeaderMatch(name: "user-agent", match: .prefix("curl"), invert: true),
            ])
        #expect(
            route.queryMatches == [
                QueryMatch(name: "preview", match: .present(true)), QueryMatch(name: "v", match: .exact("2")),
            ])
    }

    @Test func invalidHeaderMatches() {
        expectSingleError(
            Self.yaml("prefix: /, headers: [{ name: x-a, exact: b, prefix: c }]"), .conflictingKeys,
            key: "listeners[0].hosts[0].routes[0].headers[0].prefix", line: 7, column: 59,
            messageContains: "header match has both \"exact\" and \"prefix\"")
        expectSingleError(
            Self.yaml("prefix: /, headers: [{ name: \"x a\", exact: b }]"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].headers[0].name", line: 7, column: 44,
            messageContains: "\"x a\" is not a header name")
        expectSingleError(
            Self.yaml("prefix: /, headers: [{ name: x-a, regex: \"(\" }]"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].headers[0].regex", line: 7, column: 57,
            messageContains: "has a \"(\" that is never closed")
        expectSingleError(
            Self.yaml("prefix: /, headers: [{ name: x-a, exakt: b }]"), .unknownKey,
            key: "listeners[0].hosts[0].routes[0].headers[0].exakt", line: 7, column: 49, hintContains: "exact")
    }

    @Test func invalidQueryMatches() {
        expectSingleError(
            Self.yaml("prefix: /, query: [{ name: a, present: false }]"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].query[0].present", line: 7, column: 54,
            messageContains: "a query match cannot ask for a parameter to be absent")
        expectSingleError(
            Self.yaml("prefix: /, query: [{ exact: a }]"), .missingKey,
            key: "listeners[0].hosts[0].routes[0].query[0].name", line: 7, column: 34)
    }
}
