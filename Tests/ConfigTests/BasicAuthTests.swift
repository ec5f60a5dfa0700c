import Testing

@testable import Config

/// `basic_auth` on hosts and routes.
@Suite("Basic auth")
struct BasicAuthTests {
    static func yaml(host: String, route: String = "") -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [admin.example.com]
                \(host)
                routes:
                  - { prefix: /, cluster: app\(route.isEmpty ? "" : ", " + route) }
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """
    }

    @Test func usersOnAHostAndAnOpenRoute() throws {
        let config = try #require(
            parseValid(Self.yaml(host: "basic_auth: { users: admins }", route: "basic_auth: false")))
        guard case .http(let http)? = config.listeners.first?.kind, let host = http.hosts.first else {
            Issue.record("no host")
            return
        }
        #expect(host.basicAuth?.folder == "admins")
        #expect(host.routes.first?.basicAuth == .off)
    }

    @Test func mistakesAreRefused() {
        expectSingleError(
            Self.yaml(host: "basic_auth: true"), .invalidValue, key: "listeners[0].hosts[0].basic_auth", line: 6,
            column: 21, messageContains: "basic_auth needs the users it checks")
        expectSingleError(
            Self.yaml(host: "basic_auth: false"), .invalidValue, key: "listeners[0].hosts[0].basic_auth", line: 6,
            column: 21, messageContains: "only applies to a route of a host with basic_auth")
        expectSingleError(
            Self.yaml(host: "basic_auth: { users: ../etc }"), .invalidValue,
            key: "listeners[0].hosts[0].basic_auth.users", line: 6, column: 30, messageContains: "is not a folder name")
        expectSingleError(
            Self.yaml(host: "basic_auth: { user: admins }"), .unknownKey, key: "listeners[0].hosts[0].basic_auth.user",
            line: 6, column: 23, hintContains: "did you mean \"users\"?")
    }
}
