import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// The resources behind `rate_limit`: the filter in the connection manager, the buckets per host and route.
@Suite("Rate limit translation")
struct RateLimitTranslationTests {
    static let yaml = """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [login.example.com]
                rate_limit: { requests: 5, per: 1m }
                routes:
                  - { prefix: /api/, cluster: app, rate_limit: { requests: 100, per: 1s } }
                  - { prefix: /, cluster: app }
          - name: plain
            port: 8081
            hosts:
              - domains: ["*"]
                routes: [{ prefix: /, cluster: app }]
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """

    static func group() throws -> GroupResources {
        try #require(Translator.translate(RoutesFile.parse(yaml, file: "routes.yaml"), certificates: [:])["default"])
    }

    static func filters(_ listener: ProtoMessage?) -> [ProtoValue] {
        let chain = listener?["filter_chains"]?.listValue?.first?.messageValue
        let manager = chain?["filters"]?.listValue?.first?.messageValue?["typed_config"]?.messageValue
        return (manager?["http_filters"]?.listValue ?? []).compactMap { $0.messageValue?["name"] }
    }

    @Test func theFilterRunsBeforeTheRouterOnlyWhereALimitIsSet() throws {
        let group = try Self.group()
        #expect(
            Self.filters(group.resources[.listener]?["web"]) == [
                .string("envoy.filters.http.local_ratelimit"), .string("envoy.filters.http.router"),
            ])
        #expect(Self.filters(group.resources[.listener]?["plain"]) == [.string("envoy.filters.http.router")])
    }

    @Test func bucketsAreEnforcedPerHostAndRoute() throws {
        let host = try #require(
            Self.group().resources[.route]?["web"]?["virtual_hosts"]?.listValue?.first?.messageValue)
        func bucket(_ fields: ProtoMessage?) -> ProtoMessage? {
            guard case .map(let configs)? = fields?["typed_per_filter_config"] else { return nil }
            return configs["envoy.filters.http.local_ratelimit"]?.messageValue
        }
        let hostConfig = try #require(bucket(host))
        let tokens = hostConfig["token_bucket"]?.messageValue
        #expect(tokens?["max_tokens"] == .int(5))
        #expect(tokens?["fill_interval"] == .duration(.seconds(60)))
        let enforced = hostConfig["filter_enforced"]?.messageValue?["default_value"]?.messageValue
        #expect(enforced?["numerator"] == .int(100))
        #expect(hostConfig["filter_enabled"] == hostConfig["filter_enforced"])
        let routes = host["routes"]?.listValue?.compactMap(\.messageValue) ?? []
        #expect(bucket(routes.first)?["token_bucket"]?.messageValue?["max_tokens"] == .int(100))
        #expect(bucket(routes.last) == nil)
    }
}
