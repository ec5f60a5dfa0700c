import Testing

@testable import Config

/// `rate_limit` on hosts and routes.
@Suite("Rate limits")
struct RateLimitTests {
    /// A host on line 5 whose `hostExtra` goes on line 6 and whose one route carries `routeExtra`.
    static func yaml(host hostExtra: String = "", route routeExtra: String = "") -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [example.com]
        \(hostExtra.isEmpty ? "        name: web" : "        " + hostExtra)
                routes:
                  - { prefix: /, cluster: app\(routeExtra.isEmpty ? "" : ", " + routeExtra) }
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """
    }

    static func host(_ config: RoutesConfig?) -> VirtualHost? {
        guard case .http(let http)? = config?.listeners.first?.kind else { return nil }
        return http.hosts.first
    }

    @Test func hostAndRouteLimits() throws {
        let config = parseValid(
            Self.yaml(
                host: "rate_limit: { requests: 10, per: 1m }", route: "rate_limit: { requests: 500, per: 250ms }"))
        let host = try #require(Self.host(config))
        #expect(host.rateLimit == RateLimit(requests: 10, per: .seconds(60)))
        #expect(host.routes.first?.rateLimit == RateLimit(requests: 500, per: .milliseconds(250)))
        #expect(Self.host(parseValid(Self.yaml()))?.rateLimit == nil)
    }

    @Test func badLimitsAreRefused() {
        expectSingleError(
            Self.yaml(host: "rate_limit: { requests: 0, per: 1m }"), .invalidValue,
            key: "listeners[0].hosts[0].rate_limit.requests", line: 6, column: 33,
            messageContains: "rate_limit \"requests\" 0 is not between 1 and 1000000")
        expectSingleError(
            Self.yaml(host: "rate_limit: { requests: 5, per: 10ms }"), .invalidValue,
            key: "listeners[0].hosts[0].rate_limit.per", line: 6, column: 41,
            messageContains: "rate_limit \"per\" must be between 50ms and 24h")
        expectSingleError(
            Self.yaml(route: "rate_limit: { requests: 5 }"), .missingKey,
            key: "listeners[0].hosts[0].routes[0].rate_limit.per", line: 8, column: 52)
        expectSingleError(
            Self.yaml(route: "rate_limit: { request: 5, per: 1s }"), .unknownKey,
            key: "listeners[0].hosts[0].routes[0].rate_limit.request", line: 8, column: 54,
            hintContains: "did you mean \"requests\"?")
    }
}
