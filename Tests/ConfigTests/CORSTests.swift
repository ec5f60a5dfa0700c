import Testing

@testable import Config

/// `cors` on hosts and routes.
@Suite("CORS")
struct CORSTests {
    /// A host on line 5 whose `cors` is written on line 6.
    static func yaml(_ cors: String) -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [api.example.com]
                cors: \(cors)
                routes: [{ prefix: /, cluster: app }]
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """
    }

    static func policy(_ yaml: String) -> CORS? {
        guard case .http(let http)? = parseValid(yaml)?.listeners.first?.kind else { return nil }
        return http.hosts.first?.cors
    }

    @Test func originsMethodsAndHeaders() throws {
        let policy = try #require(
            Self.policy(
                Self.yaml(
                    "{ origins: [\"HTTPS://App.Example.com\", \"https://*.example.org:8443\", \"http://[::1]:3000\"], "
                        + "methods: [get, Post], headers: [Content-Type], credentials: true, max_age: 10m }")))
        #expect(
            policy.origins == [
                .exact("https://app.example.com"), .subdomains(scheme: "https", suffix: "example.org", port: "8443"),
                .exact("http://[::1]:3000"),
            ])
        #expect(policy.methods == ["GET", "POST"])
        #expect(policy.headers == ["content-type"])
        #expect(policy.credentials && policy.maxAge == .seconds(600))
        #expect(Self.policy(Self.yaml("{ origins: [\"*\"] }"))?.origins == [.any])
    }

    @Test(arguments: [
        ("app.example.com", "has no scheme"),
        ("ftp://app.example.com", "has scheme \"ftp\""),
        ("https://app.example.com/", "ends with \"/\""),
        ("https://app.example.com/path", "has a path"),
        ("https://app.example.com:99999", "has a port that is not a number"),
        ("https://app.*.com", "does not name a host"),
        ("https://*.*.com", "has a wildcard Chancery cannot match"),
    ])
    func badOriginsAreRefused(origin: String, reason: String) {
        expectSingleError(
            Self.yaml("{ origins: [\"\(origin)\"] }"), .invalidValue, key: "listeners[0].hosts[0].cors.origins[0]",
            line: 6, column: 27, messageContains: reason)
    }

    @Test func anyOriginWithCredentialsIsRefused() {
        expectSingleError(
            Self.yaml("{ origins: [\"https://a.example.com\", \"*\"], credentials: true }"), .conflictingKeys,
            key: "listeners[0].hosts[0].cors.origins[1]", line: 6, column: 52,
            messageContains: "origin \"*\" with credentials: true is refused by every browser")
        expectSingleError(
            Self.yaml("{ origins: [\"*\"], methods: [\"GET POST\"] }"), .invalidValue,
            key: "listeners[0].hosts[0].cors.methods[0]", line: 6, column: 43,
            messageContains: "\"GET POST\" is not an HTTP token")
    }
}
