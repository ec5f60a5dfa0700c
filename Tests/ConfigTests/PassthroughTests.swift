import Testing

@testable import Config

/// `passthrough:` on a listener: TLS server names forwarded untouched, checked against the names it terminates.
@Suite("Passthrough")
struct PassthroughTests {
    /// An HTTPS listener terminating `*.example.com` (line 8) and `nas.lab.example.com` with its own certificate
    /// (line 10); `entries` is the passthrough list, starting on line 6.
    static func shared(_ entries: String) -> String {
        """
        listeners:
          - name: edge
            port: 443
            tls: { certificate: example.test }
            passthrough:
        \(entries)
            hosts:
              - domains: ["*.example.com", www.example.org]
                routes: [{ prefix: /, cluster: web }]
              - domains: [nas.lab.example.com]
                certificate: nas.test
                routes: [{ prefix: /, cluster: web }]
        clusters:
          - { name: web, endpoints: [127.0.0.1:9000] }
          - { name: git, endpoints: [127.0.0.1:9001] }
          - { name: lab, endpoints: [127.0.0.1:9002] }
        """
    }

    static func http(_ config: RoutesConfig?) -> HTTPListener? {
        guard case .http(let http)? = config?.listeners.first?.kind else { return nil }
        return http
    }

    @Test func namesCarveOutOfATerminatedWildcard() throws {
        let yaml = Self.shared(
            """
                  - { server_names: [Git.Example.com, "*.lab.example.com"], cluster: git, idle_timeout: 2h }
            """)
        let http = try #require(Self.http(parseValid(yaml)))
        #expect(http.passthrough.count == 1)
        #expect(http.passthrough[0].serverNames == ["git.example.com", "*.lab.example.com"])
        #expect(http.passthrough[0].cluster == "git")
        #expect(http.passthrough[0].idleTimeout == .seconds(7200))
        #expect(http.hosts.count == 2)
    }

    @Test func aListenerMayOnlyPassThrough() throws {
        let yaml = """
            listeners:
              - name: sni
                port: 8443
                passthrough:
                  - { server_names: [git.example.com], cluster: git }
            clusters:
              - { name: git, endpoints: [127.0.0.1:9001] }
            """
        let http = try #require(Self.http(parseValid(yaml)))
        #expect(http.tls == nil && http.hosts.isEmpty && http.hsts == nil)
        #expect(http.passthrough.map(\.cluster) == ["git"])
    }

    @Test func aNameBothPassedThroughAndTerminatedIsRefused() {
        expectSingleError(
            Self.shared("      - { server_names: [www.example.org], cluster: git }"), .conflictingKeys,
            key: "listeners[0].passthrough[0]", line: 6, column: 9,
            messageContains:
                "passthrough \"www.example.org\" to \"git\" would take TLS connections for \"www.example.org\", which host \"*.example.com\" (line 8)",
            hintContains: "either passed through or terminated")
    }

    @Test func aWildcardCoveringADefaultCertificateNameIsRefused() {
        // `*.org` would swallow www.example.org, which the listener's own certificate terminates.
        expectSingleError(
            Self.shared("      - { server_names: [\"*.org\"], cluster: git }"), .conflictingKeys,
            key: "listeners[0].passthrough[0]", line: 6, column: 9,
            messageContains: "passthrough \"*.org\" to \"git\" would take TLS connections for \"www.example.org\"",
            hintContains: "list the passthrough names exactly")
    }

    @Test func aWildcardCoveringAnotherWildcardIsRefused() {
        expectSingleError(
            Self.shared("      - { server_names: [\"*.com\"], cluster: git }"), .conflictingKeys,
            key: "listeners[0].passthrough[0]", line: 6, column: 9,
            messageContains: "would take TLS connections for \"*.example.com\"")
    }

    @Test func aNameWithItsOwnCertificateChainWinsOverAWildcard() throws {
        // nas.lab.example.com has its own certificate: its exact SNI chain beats `*.lab.example.com`.
        let yaml = Self.shared("      - { server_names: [\"*.lab.example.com\"], cluster: lab }")
        #expect(try #require(Self.http(parseValid(yaml))).passthrough.count == 1)
        // But the very same name cannot be both.
        expectSingleError(
            Self.shared("      - { server_names: [nas.lab.example.com], cluster: lab }"), .conflictingKeys,
            key: "listeners[0].passthrough[0]", line: 6, column: 9,
            messageContains: "which host \"nas.lab.example.com\" (line 10)")
    }

    @Test func aServerNameTwiceIsRefused() {
        let entries = """
                  - { server_names: [git.example.com], cluster: git }
                  - { server_names: [GIT.example.com], cluster: lab }
            """
        expectSingleError(
            Self.shared(entries), .invalidDomain, key: "listeners[0].passthrough[1].server_names[0]", line: 7,
            column: 26, messageContains: "is already passed through to \"git\" (line 6)")
    }

    @Test(arguments: [
        ("\"*\"", "matches every name"),
        ("git.example.com:443", "has a port"),
        ("\"git.*\"", "not a server name Envoy can match"),
        ("\"*-git.example.com\"", "not a server name Envoy can match"),
        ("https://git.example.com", "contains a scheme"),
        ("git.example.com/", "contains a space or \"/\""),
        ("git..example.com", "has an empty label"),
    ])
    func badServerNamesAreRefused(name: String, reason: String) {
        expectSingleError(
            Self.shared("      - { server_names: [\(name)], cluster: git }"), .invalidDomain,
            key: "listeners[0].passthrough[0].server_names[0]", line: 6, column: 26, messageContains: reason)
    }

    @Test func anUndefinedClusterIsRefusedWithASuggestion() {
        expectSingleError(
            Self.shared("      - { server_names: [git.example.com], cluster: gti }"), .unknownCluster,
            key: "listeners[0].passthrough[0].cluster", line: 6, column: 53, hintContains: "did you mean \"git\"?")
    }

    @Test func passthroughNeedsTLSBesideHTTPHosts() {
        let yaml = minimalYAML.replacingOccurrences(
            of: "    port: 8080\n",
            with: "    port: 8080\n    passthrough: [{ server_names: [git.example.com], cluster: app }]\n")
        expectSingleError(
            yaml, .conflictingKeys, key: "listeners[0].passthrough", line: 4, column: 5,
            messageContains: "serves plain HTTP and has \"passthrough\"")
    }

    @Test func passthroughAndTCPAreRefusedTogether() {
        let yaml = """
            listeners:
              - name: ssh
                port: 2222
                tcp: { cluster: git }
                passthrough: [{ server_names: [git.example.com], cluster: git }]
            clusters:
              - { name: git, endpoints: [127.0.0.1:9001] }
            """
        expectSingleError(
            yaml, .conflictingKeys, key: "listeners[0].passthrough", line: 5, column: 5,
            messageContains: "has both \"tcp\" and \"passthrough\"")
    }

    @Test func unknownKeysAndEmptyListsAreReported() {
        expectSingleError(
            Self.shared("      - { server_name: [git.example.com], cluster: git }"), .unknownKey,
            key: "listeners[0].passthrough[0].server_name", line: 6, column: 11,
            hintContains: "did you mean \"server_names\"?")
        let empty = Self.shared("").replacingOccurrences(of: "    passthrough:\n\n", with: "    passthrough: []\n")
        expectSingleError(empty, .emptyList, key: "listeners[0].passthrough", line: 5, column: 18)
    }
}
