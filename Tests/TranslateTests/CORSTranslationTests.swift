import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// The cors filter first in the chain, and each route carrying its whole policy (its own or its host's).
@Suite("CORS translation")
struct CORSTranslationTests {
    static let yaml = """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [api.example.com]
                cors: { origins: ["https://app.example.com", "https://*.example.org"], credentials: true, max_age: 1h }
                routes:
                  - { prefix: /public/, cluster: app, cors: { origins: ["*"], methods: [GET] } }
                  - { prefix: /, cluster: app }
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """

    static func policies() throws -> (host: ProtoMessage, routes: [ProtoMessage]) {
        let group = try #require(
            Translator.translate(RoutesFile.parse(yaml, file: "routes.yaml"), certificates: [:])["default"])
        let host = try #require(group.resources[.route]?["web"]?["virtual_hosts"]?.listValue?.first?.messageValue)
        return (host, host["routes"]?.listValue?.compactMap(\.messageValue) ?? [])
    }

    static func policy(_ fields: ProtoMessage?) -> ProtoMessage? {
        guard case .map(let configs)? = fields?["typed_per_filter_config"] else { return nil }
        return configs["envoy.filters.http.cors"]?.messageValue
    }

    @Test func eachRouteCarriesItsWholePolicyAndTheHostNone() throws {
        let (host, routes) = try Self.policies()
        #expect(Self.policy(host) == nil)
        let own = try #require(Self.policy(routes.first))
        #expect(own["allow_credentials"] == nil)
        #expect(own["allow_methods"] == .string("GET"))
        let inherited = try #require(Self.policy(routes.last))
        #expect(inherited["allow_credentials"] == .boolValue(true))
        #expect(inherited["max_age"] == .string("3600"))
        let matchers = inherited["allow_origin_string_match"]?.listValue?.compactMap(\.messageValue) ?? []
        #expect(matchers.first?["exact"] == .string("https://app.example.com"))
        let regex = matchers.last?["safe_regex"]?.messageValue?["regex"]
        #expect(regex == .string("^https://[a-z0-9.-]+\\.example\\.org$"))
    }
}
