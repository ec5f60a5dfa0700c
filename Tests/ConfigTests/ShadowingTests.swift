import Testing

@testable import Config

/// A route that an earlier route of its host always takes first is refused as dead configuration.
@Suite("Shadowed routes")
struct ShadowingTests {
    /// A host whose routes are `routes` (one per line, from line 7), all to cluster `app`.
    static func host(_ routes: [String]) -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [example.com]
                routes:
        \(routes.map { "          - { \($0), cluster: app }" }.joined(separator: "\n"))
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """
    }

    @Test(arguments: [
        (["prefix: /", "prefix: /api/"], "prefix \"/\" covers prefix \"/api/\""),
        (["prefix: /api", "path: /api/v1"], "prefix \"/api\" covers path \"/api/v1\""),
        (["prefix: /files/", "path_template: \"/files/{owner}/{p=**}\""], "prefix \"/files/\" covers path_template"),
        (["prefix: /", "regex: \"^/a+$\""], "prefix \"/\" covers regex"),
        (["path: /a", "path: /a"], "the same path \"/a\""),
        (["regex: \"^/x$\"", "regex: \"^/x$\""], "the same regex"),
        (["prefix: /api/", "prefix: /api/, headers: [{ name: x-canary, exact: \"1\" }]"], "the same prefix"),
        (
            [
                "prefix: /, query: [{ name: v, exact: \"2\" }]",
                "prefix: /a, query: [{ name: v, exact: \"2\" }], headers: [{ name: x, present: true }]",
            ], "prefix \"/\" covers prefix \"/a\" with the same conditions"
        ),
    ])
    func shadowedRoutesAreRefused(routes: [String], reason: String) {
        expectSingleError(
            Self.host(routes), .shadowedRoute, key: "listeners[0].hosts[0].routes[1]", line: 8, column: 13,
            messageContains: "route is never used: the route on line 7 takes every request it would (\(reason)",
            hintContains: "put the more specific route first")
    }

    @Test(arguments: [
        ["prefix: /api/", "prefix: /"],
        ["prefix: /api/", "prefix: /api"],
        ["path: /api", "prefix: /api/"],
        ["prefix: /, headers: [{ name: x-canary, exact: \"1\" }]", "prefix: /"],
        ["prefix: /, query: [{ name: v, exact: \"2\" }]", "prefix: /a, query: [{ name: v, exact: \"3\" }]"],
        ["regex: \"^/a$\"", "prefix: /a"],
        ["path_template: \"/u/{id}\"", "path: /u/1"],
        ["prefix: /b", "path_template: \"/{x}/b\""],
    ])
    func routesThatCanStillMatchAreKept(routes: [String]) throws {
        let config = try #require(parseValid(Self.host(routes)))
        guard case .http(let http)? = config.listeners.first?.kind else {
            Issue.record("not an HTTP listener")
            return
        }
        #expect(http.hosts.first?.routes.count == 2)
    }

    @Test func everyShadowedRouteIsReportedAgainstTheFirstRouteThatTakesIt() {
        let errors = parseErrors(Self.host(["prefix: /a", "prefix: /", "prefix: /a/b", "path: /z"]))
        #expect(errors.map(\.code) == [.shadowedRoute, .shadowedRoute])
        #expect(errors.map(\.position.line) == [9, 10])
        #expect(errors[0].message.contains("line 7") && errors[0].message.contains("prefix \"/a\" covers"))
        #expect(errors[1].message.contains("line 8") && errors[1].message.contains("prefix \"/\" covers path"))
    }
}

/// The indexed search for shadowing routes agrees with comparing every pair, on generated hosts.
@Suite("Shadowed routes, generated")
struct ShadowingSearchTests {
    /// Paths from a small alphabet, so prefixes often cover one another; "é" both composed and decomposed, which
    /// `hasPrefix` treats as the same character.
    static let pieces = ["/", "a", "b", "/a", "é", "e\u{301}", "{x}", "*"]

    static func text(_ random: inout SplitMix64) -> String {
        var text = "/"
        for _ in 0..<Int(random.next() % 4) { text += pieces[Int(random.next() % UInt64(pieces.count))] }
        return text
    }

    static func route(_ random: inout SplitMix64) -> Route {
        let text = text(&random)
        let match: Route.Match
        switch random.next() % 6 {
        case 0, 1, 2: match = .prefix(text)
        case 3: match = .path(text)
        case 4: match = .template(text)
        default: match = .regex(random.next() % 2 == 0 ? "^/a+$" : "^/b$")
        }
        var route = Route(
            match: match, action: .forward(.init(cluster: "app")),
            position: SourcePosition(file: "f", line: 1, column: 1))
        if random.next() % 4 == 0 { route.headerMatches = [HeaderMatch(name: "x", match: .present(true))] }
        if random.next() % 5 == 0 { route.queryMatches = [QueryMatch(name: "v", match: .exact("2"))] }
        return route
    }

    @Test func indexedSearchAgreesWithThePairwiseScan() {
        var random = SplitMix64(seed: 0x5EED)
        var reported = 0
        for _ in 0..<2000 {
            let routes = (0..<Int(1 + random.next() % 12)).map { _ in Self.route(&random) }
            let indexed = Shadowing.shadowed(routes)
            let scanned = Shadowing.shadowedByScan(routes)
            #expect(indexed.map(\.index) == scanned.map(\.index))
            #expect(indexed.map(\.by) == scanned.map(\.by))
            #expect(indexed.map(\.reason) == scanned.map(\.reason))
            reported += scanned.count
        }
        // The generator makes hosts with and without shadowed routes, so the comparison is not vacuous.
        #expect(reported > 1000)
    }
}
