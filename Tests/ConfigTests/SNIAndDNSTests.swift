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
        expectSingleError(Self.sniYAML(#"[other.test, "*"]"#), .invalidDomain,
                          key: "listeners[0].hosts[1].domains[1]", line: 11, column: 31,
                          messageContains: #"domain "*" matches every name, so it cannot select host "other"'s own certificate "other.test" by SNI"#,
                          hintContains: "listener's tls certificate")
    }

    @Test func suffixAndInnerWildcardsCannotSelectACertificate() {
        expectSingleError(Self.sniYAML("[other.test, api.*]"), .invalidDomain,
                          key: "listeners[0].hosts[1].domains[1]", line: 11, column: 31,
                          messageContains: #"domain "api.*" cannot select host "other"'s own certificate "other.test" by SNI: Envoy matches server names exactly or as *.suffix"#)
        expectSingleError(Self.sniYAML(#"["*-api.other.test"]"#), .invalidDomain,
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
        expectSingleError(yaml, .duplicateDomain, key: "listeners[0].hosts[1].domains[0]", line: 12, column: 19,
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
        expectSingleError(Self.dnsYAML + "\n    dns_lookup_family: v5\n", .invalidValue,
                          key: "clusters[0].dns_lookup_family", line: 11, column: 24,
                          messageContains: #""dns_lookup_family" "v5" is not a lookup family"#,
                          hintContains: "v4_preferred, v4_only, v6_only, auto, all")
    }
}
