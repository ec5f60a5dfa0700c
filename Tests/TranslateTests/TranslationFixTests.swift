import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// Translations that used to produce resources Envoy refuses or that fail on one machine.
@Suite("Translation fixes")
struct TranslationFixTests {
    static func parse(_ yaml: String) throws -> RoutesConfig {
        try RoutesFile.parse(yaml, file: "routes.yaml")
    }

    static func resources(_ yaml: String) throws -> GroupResources {
        let config = try parse(yaml)
        return try #require(Translator.translate(config, certificates: [:])["default"])
    }

    static func virtualHosts(_ group: GroupResources, _ route: String) -> [ProtoMessage] {
        group.resources[.route]?[route]?["virtual_hosts"]?.listValue?.compactMap(\.messageValue) ?? []
    }

    static let acme = """
        listeners:
          - name: http
            port: 80
            redirect_to_https: true
            https_port: 8443
            hosts:
              - name: acme
                domains: ["*"]
                routes:
                  - { prefix: /.well-known/acme-challenge/, cluster: solver }
        clusters:
          - name: solver
            endpoints: [127.0.0.1:8089]
        """

    /// Envoy allows one `*` virtual host per route configuration: the redirect joins the catch-all host.
    @Test func acmeChallengeBesideTheRedirectIsOneCatchAllHost() throws {
        let hosts = Self.virtualHosts(try Self.resources(Self.acme), "http")
        #expect(hosts.count == 1)
        #expect(hosts.first?["domains"] == .list([.string("*")]))
        let routes = hosts.first?["routes"]?.listValue?.compactMap(\.messageValue) ?? []
        #expect(routes.count == 2)
        #expect(routes.first?["match"]?.messageValue?["prefix"] == .string("/.well-known/acme-challenge/"))
        #expect(routes.first?["route"]?.messageValue?["cluster"] == .string("solver"))
        let redirect = routes.last?["redirect"]?.messageValue
        #expect(redirect?["https_redirect"] == .bool(true))
        #expect(redirect?["port_redirect"] == .int(8443))
        #expect(routes.last?["match"]?.messageValue?["prefix"] == .string("/"))
    }

    @Test func redirectHostNameDoesNotCollideWithAHostOfTheSameName() throws {
        let yaml = Self.acme.replacingOccurrences(of: #"domains: ["*"]"#, with: "domains: [example.test]")
            .replacingOccurrences(of: "name: acme", with: "name: redirect_to_https")
        let names = Self.virtualHosts(try Self.resources(yaml), "http").map { $0["name"] }
        #expect(names == [.string("redirect_to_https"), .string("redirect_to_https-2")])
    }

    @Test func serverNamesCarryNoPortAndNoCapitals() throws {
        let yaml = """
            listeners:
              - name: web
                port: 443
                tls: { certificate: main.test }
                hosts:
                  - domains: [Other.test, "other.test:443", "*.Other.test"]
                    certificate: other.test
                    routes:
                      - { prefix: /, cluster: www }
            clusters:
              - name: www
                endpoints: [127.0.0.1:8080]
            """
        let listener = try #require(try Self.resources(yaml).resources[.listener]?["web"])
        let chains = listener["filter_chains"]?.listValue?.compactMap(\.messageValue) ?? []
        #expect(chains.count == 2)
        let match = chains.last?["filter_chain_match"]?.messageValue
        #expect(match?["server_names"] == .list([.string("other.test"), .string("*.other.test")]))
    }

    static let dns = """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: ["*"]
                routes:
                  - { prefix: /a, cluster: local }
                  - { prefix: /b, cluster: six }
                  - { prefix: /, cluster: ip }
        clusters:
          - name: local
            endpoints: [localhost:8080]
          - name: six
            endpoints: [backend.internal:8080]
            dns_lookup_family: v6_only
          - name: ip
            endpoints: [127.0.0.1:8080]
        """

    /// `localhost` must reach a backend on 127.0.0.1: Envoy's own default (AUTO) resolves `::1` only.
    @Test func dnsClustersPreferIPv4UnlessTold() throws {
        let clusters = try #require(try Self.resources(Self.dns).resources[.cluster])
        #expect(clusters["local"]?["dns_lookup_family"] == .enumValue("V4_PREFERRED"))
        #expect(clusters["six"]?["dns_lookup_family"] == .enumValue("V6_ONLY"))
        #expect(clusters["ip"]?["type"] == .enumValue("EDS"))
        #expect(clusters["ip"]?["dns_lookup_family"] == nil)
    }

    /// The static bootstrap carries routes inline, endpoints in the cluster and secrets without a config source.
    @Test func staticBootstrapInlinesWhatXDSWouldSend() throws {
        let group = try Self.resources(Self.acme)
        var byType: [ResourceType: [ProtoMessage]] = [:]
        for (type, items) in group.resources { byType[type] = items.keys.sorted().compactMap { items[$0] } }
        let json = StaticBootstrap.json(group: "default", resources: byType)
        #expect(!json.contains("\"rds\""))
        #expect(!json.contains("edsClusterConfig"))
        #expect(json.contains("\"routeConfig\""))
        #expect(json.contains("\"type\": \"STATIC\""))
        #expect(json.contains("/.well-known/acme-challenge/"))
        #expect(json.contains("\"cluster\": \"default\""))
    }
}
