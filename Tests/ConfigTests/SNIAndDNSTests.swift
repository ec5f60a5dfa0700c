import Testing

@testable import Config

/// Shapes Envoy refuses in an SNI filter chain, refused first by the validator; `dns_lookup_family`.
@Suite("SNI domains and DNS lookup family")
struct SNIAndDNSTests {
    /// A TLS listener whose second host has its own certificate; `DOMAINS` is that host's domain list.
    static func sniYAML(_ domains: String, certificate: String = "other.test") -> String {
        """
        listeners:
          - name: web
            port: 8443
            tls:
              certificate: main.test
            hosts:
              - domains: [a.test]
                routes:
                  - { prefix: /, cluster: www }
              - name: other
                domains: \(domains)
                certificate: \(certificate)
                routes:
                  - { prefix: /, cluster: www }
        clusters:
          - name: www
            endpoints: [127.0.0.1:8080]
        """
    }

    @Test func catchAllDomainCannotSelectItsOwnCertificate() {
        expectSingleError(
            Self.sniYAML(#"[other.test, "*"]"#), .invalidDomain,
            key: "listeners[0].hosts[1].domains[1]", line: 11, column: 31,
            messageContains:
                #"domain "*" matches every name, so it cannot select host "other"'s own certificate "other.test" by SNI"#,
            hintContains: "listener's tls certificate")
    }

    @Test func suffixAndInnerWildcardsCannotSelectACertificate() {
        expectSingleError(
            Self.sniYAML("[other.test, api.*]"), .invalidDomain,
            key: "listeners[0].hosts[1].domains[1]", line: 11, column: 31,
            messageContains:
                #"domain "api.*" cannot select host "other"'s own certificate "other.test" by SNI: Envoy matches server names exactly or as *.suffix"#
        )
        expectSingleError(
            Self.sniYAML(#"["*-api.other.test"]"#), .invalidDomain,
            key: "listeners[0].hosts[1].domains[0]", line: 11, column: 19,
            messageContains: "Envoy matches server names exactly or as *.suffix")
    }

    @Test func sniCompatibleDomainsAreValid() {
        #expect(parseValid(Self.sniYAML(#"["*.other.test", other.test, "Other.test:8443"]"#)) != nil)
        // A host with the listener's own certificate is served by the default chain: any domain will do.
        #expect(parseValid(Self.sniYAML(#"["*", "api.*"]"#, certificate: "main.test")) != nil)
    }

    @Test func oneServerNameCannotSelectTwoCertificates() {
        let yaml = Self.sniYAML("[other.test]").replacingOccurrences(
            of: "      - domains: [a.test]\n",
            with: "      - domains: [a.test, \"other.test:8443\"]\n        certificate: third.test\n")
        expectSingleError(
            yaml, .duplicateDomain, key: "listeners[0].hosts[1].domains[0]", line: 12, column: 19,
            messageContains: #"domain "other.test" is already served by host "a.test""#,
            hintContains: #"server name "other.test" would select both certificate "third.test" and "other.test""#)
    }

    static let dnsYAML = """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [example.com]
                routes:
                  - { prefix: /, cluster: www }
        clusters:
          - name: www
            endpoints: [localhost:8080]
        """

    @Test func dnsLookupFamilyDefaultsToV4Preferred() throws {
        let config = try #require(parseValid(Self.dnsYAML))
        #expect(config.clusters[0].dnsLookupFamily == .v4Preferred)
        for family in Cluster.DNSLookupFamily.allCases {
            let parsed = try #require(parseValid(Self.dnsYAML + "\n    dns_lookup_family: \(family.rawValue)\n"))
            #expect(parsed.clusters[0].dnsLookupFamily == family)
        }
    }

    @Test func unknownDNSLookupFamilyIsRefused() {
        expectSingleError(
            Self.dnsYAML + "\n    dns_lookup_family: v5\n", .invalidValue,
            key: "clusters[0].dns_lookup_family", line: 11, column: 24,
            messageContains: #""dns_lookup_family" "v5" is not a lookup family"#,
            hintContains: "v4_preferred, v4_only, v6_only, auto, all")
    }

    static func routeYAML(_ route: String) -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [example.com]
                routes:
                  - \(route)
        clusters:
          - name: www
            endpoints: [127.0.0.1:8080]
        """
    }

    /// Envoy refuses a direct response body over 4096 bytes ("response body size is … maximum is 4096").
    @Test func respondBodyOverEnvoysLimitIsRefused() {
        let ok = "{ prefix: /, respond: { status: 200, body: \(String(repeating: "x", count: 4096)) } }"
        #expect(parseValid(Self.routeYAML(ok)) != nil)
        let long = "{ prefix: /, respond: { status: 200, body: \(String(repeating: "x", count: 4097)) } }"
        expectSingleError(
            Self.routeYAML(long), .invalidValue, key: "listeners[0].hosts[0].routes[0].respond.body",
            line: 7, column: 56,
            messageContains: #"respond "body" is 4097 bytes; Envoy allows at most 4096"#)
    }

    /// Envoy's header-value rule refuses CR, LF and NUL in domains, redirect hosts and paths, and rewrites; a NUL
    /// cannot even be encoded, so it used to surface as an encoding error without a position.
    @Test func lineBreaksAndNULAreRefusedWhereEnvoyRefusesThem() {
        expectSingleError(
            Self.routeYAML(#"{ prefix: /, redirect: { path: "/a\nb" } }"#), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].redirect.path", line: 7, column: 44,
            messageContains: #""path" contains a line break"#)
        expectSingleError(
            Self.routeYAML(#"{ prefix: /, redirect: { host: "a\rb" } }"#), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].redirect.host", line: 7, column: 44,
            messageContains: #""host" contains a line break"#)
        expectSingleError(
            Self.routeYAML(#"{ prefix: /, cluster: www, prefix_rewrite: "/a\nb" }"#), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].prefix_rewrite", line: 7, column: 56)
        expectSingleError(
            Self.routeYAML(#"{ prefix: "/a\0b", cluster: www }"#), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].prefix", line: 7, column: 23,
            messageContains: #""prefix" contains a NUL character"#)
        expectSingleError(
            Self.routeYAML("{ prefix: /, cluster: www }").replacingOccurrences(
                of: "[example.com]", with: #"["a\nb.example.com"]"#),
            .invalidValue, key: "listeners[0].hosts[0].domains[0]", line: 5, column: 19,
            messageContains: #""domains" contains a line break"#)
        // A body may span lines.
        #expect(parseValid(Self.routeYAML(#"{ prefix: /, respond: { status: 200, body: "a\nb" } }"#)) != nil)
    }
}
