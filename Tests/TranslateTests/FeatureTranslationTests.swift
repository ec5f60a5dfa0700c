import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// The Envoy resources behind HSTS, access logs, trusted proxies, matches, route actions and cluster options.
@Suite("Feature translation")
struct FeatureTranslationTests {
    static let yaml = """
        listeners:
          - name: https
            port: 8443
            trusted_proxies: 2
            tls: { certificate: example.test }
            hsts: { max_age: 730d, include_subdomains: true }
            hosts:
              - domains: [example.com]
                response_headers: { set: { x-frame-options: DENY } }
                routes:
                  - regex: "^/api/v[0-9]+/"
                    headers: [{ name: x-canary, present: false }]
                    query: [{ name: v, exact: "2" }]
                    clusters: [{ name: app, weight: 90 }, { name: canary, weight: 10 }]
                    retries: { on: [5xx, reset], count: 3, per_try_timeout: 1s }
                    host_rewrite: app.internal
                    idle_timeout: 1m
                    request_headers: { add: { x-cost: "5%" }, remove: [x-debug] }
                  - { path_template: "/u/{id}", cluster: app }
          - name: http
            port: 8080
            access_log: false
            hosts:
              - domains: ["*"]
                routes: [{ prefix: /, cluster: app }]
          - name: ssh
            port: 2222
            access_log: { path: /var/log/envoy/ssh.log }
            tcp: { cluster: app }
        clusters:
          - name: app
            endpoints: [127.0.0.1:9000, { address: 127.0.0.1:9001, weight: 3 }]
            lb_policy: maglev
            health_check: { path: /healthz, statuses: [200, "300-399"] }
            outlier_detection: { consecutive_5xx: 3 }
            circuit_breakers: { max_requests: 50, max_retries: 0 }
          - name: canary
            endpoints: [nas.lan:5001]
            tls: { ca: nas, certificate: client }
        """

    static func group() throws -> GroupResources {
        let config = try RoutesFile.parse(yaml, file: "routes.yaml")
        return try #require(Translator.translate(config, certificates: [:])["default"])
    }

    static func manager(_ listener: ProtoMessage?) -> ProtoMessage? {
        let chain = listener?["filter_chains"]?.listValue?.first?.messageValue
        return chain?["filters"]?.listValue?.first?.messageValue?["typed_config"]?.messageValue
    }

    @Test func hstsOnTheTLSRouteConfigurationOnly() throws {
        let group = try Self.group()
        let header = group.resources[.route]?["https"]?["response_headers_to_add"]?.listValue?.first?.messageValue
        #expect(header?["header"]?.messageValue?["key"] == .string("strict-transport-security"))
        #expect(header?["header"]?.messageValue?["value"] == .string("max-age=63072000; includeSubDomains"))
        #expect(header?["append_action"] == .enumValue("OVERWRITE_IF_EXISTS_OR_ADD"))
        #expect(group.resources[.route]?["http"]?["response_headers_to_add"] == nil)
    }

    @Test func accessLogsAndTrustedProxies() throws {
        let group = try Self.group()
        let https = try #require(Self.manager(group.resources[.listener]?["https"]))
        #expect(https["xff_num_trusted_hops"] == .int(2))
        let log = https["access_log"]?.listValue?.first?.messageValue
        #expect(log?["name"] == .string("envoy.access_loggers.stdout"))
        let format = log?["typed_config"]?.messageValue?["log_format"]?.messageValue
        let fields = format?["json_format"]?.messageValue?["fields"]?.mapValue
        #expect(fields?["status"]?.messageValue?["string_value"] == .string("%RESPONSE_CODE%"))
        #expect(fields?["listener"]?.messageValue?["string_value"] == .string("https"))
        #expect(Self.manager(group.resources[.listener]?["http"])?["access_log"] == nil)
        let tcp = try #require(Self.manager(group.resources[.listener]?["ssh"]))
        let tcpLog = tcp["access_log"]?.listValue?.first?.messageValue
        #expect(tcpLog?["name"] == .string("envoy.access_loggers.file"))
        #expect(tcpLog?["typed_config"]?.messageValue?["path"] == .string("/var/log/envoy/ssh.log"))
    }

    static func routes(_ group: GroupResources) -> [ProtoMessage] {
        let host = group.resources[.route]?["https"]?["virtual_hosts"]?.listValue?.first?.messageValue
        return host?["routes"]?.listValue?.compactMap(\.messageValue) ?? []
    }

    @Test func matches() throws {
        let routes = Self.routes(try Self.group())
        let match = try #require(routes.first?["match"]?.messageValue)
        #expect(match["safe_regex"]?.messageValue?["regex"] == .string("^/api/v[0-9]+/"))
        let header = match["headers"]?.listValue?.first?.messageValue
        #expect(header?["present_match"] == .bool(true) && header?["invert_match"] == .bool(true))
        let query = match["query_parameters"]?.listValue?.first?.messageValue
        #expect(query?["string_match"]?.messageValue?["exact"] == .string("2"))
        let policy = routes.last?["match"]?.messageValue?["path_match_policy"]?.messageValue
        #expect(policy?["name"] == .string("envoy.path.match.uri_template.uri_template_matcher"))
        #expect(policy?["typed_config"]?.messageValue?["path_template"] == .string("/u/{id}"))
    }

    @Test func routeAction() throws {
        let group = try Self.group()
        let route = try #require(Self.routes(group).first)
        let action = try #require(route["route"]?.messageValue)
        #expect(action["cluster"] == nil)
        let weights = action["weighted_clusters"]?.messageValue?["clusters"]?.listValue?.compactMap(\.messageValue)
        #expect(weights?.map { $0["name"] } == [.string("app"), .string("canary")])
        #expect(weights?.map { $0["weight"] } == [.uint32Value(90), .uint32Value(10)])
        #expect(action["host_rewrite_literal"] == .string("app.internal"))
        #expect(action["idle_timeout"] == .duration(.seconds(60)))
        let retry = action["retry_policy"]?.messageValue
        #expect(retry?["retry_on"] == .string("5xx,reset") && retry?["num_retries"] == .uint32Value(3))
        // `%` is literal in a header value, so it is doubled for Envoy's formatter.
        let added = route["request_headers_to_add"]?.listValue?.first?.messageValue
        #expect(added?["header"]?.messageValue?["value"] == .string("5%%"))
        #expect(added?["append_action"] == .enumValue("APPEND_IF_EXISTS_OR_ADD"))
        #expect(route["request_headers_to_remove"] == .list([.string("x-debug")]))
        // Both clusters of the split are sent.
        #expect(Set(group.resources[.cluster]?.keys ?? [:].keys) == ["app", "canary"])
    }

    @Test func clusterOptions() throws {
        let group = try Self.group()
        let app = try #require(group.resources[.cluster]?["app"])
        #expect(app["lb_policy"] == .enumValue("MAGLEV"))
        let check = app["health_checks"]?.listValue?.first?.messageValue
        #expect(check?["http_health_check"]?.messageValue?["path"] == .string("/healthz"))
        let ranges = check?["http_health_check"]?.messageValue?["expected_statuses"]?.listValue
        #expect(ranges?.last?.messageValue?["end"] == .int(400))
        #expect(app["outlier_detection"]?.messageValue?["consecutive_5xx"] == .uint32Value(3))
        let limits = app["circuit_breakers"]?.messageValue?["thresholds"]?.listValue?.first?.messageValue
        #expect(limits?["max_requests"] == .uint32Value(50) && limits?["max_retries"] == .uint32Value(0))
        let endpoints = group.resources[.endpoint]?["app"]?["endpoints"]?.listValue?.first?.messageValue?[
            "lb_endpoints"]?.listValue?.compactMap(\.messageValue)
        #expect(endpoints?.map { $0["load_balancing_weight"] } == [nil, .uint32Value(3)])
    }

    @Test func upstreamTLSUsesSDS() throws {
        let canary = try #require(try Self.group().resources[.cluster]?["canary"])
        let socket = canary["transport_socket"]?.messageValue
        let context = socket?["typed_config"]?.messageValue
        #expect(context?.typeName == "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext")
        #expect(context?["sni"] == .string("nas.lan"))
        #expect(context?["auto_sni_san_validation"] == .bool(true))
        let common = context?["common_tls_context"]?.messageValue
        #expect(common?["validation_context_sds_secret_config"]?.messageValue?["name"] == .string("nas/ca.crt"))
        #expect(
            common?["tls_certificate_sds_secret_configs"]?.listValue?.first?.messageValue?["name"] == .string("client"))
    }

    @Test func aClusterWhoseUpstreamCAIsMissingGetsNoEndpoints() throws {
        let config = try RoutesFile.parse(Self.yaml, file: "routes.yaml")
        let (kept, skipped) = CertificateSelection.apply(
            config, usable: ["example.test", "client"], usableAuthorities: [])
        #expect(kept.clusters.first { $0.name == "canary" }?.endpoints.isEmpty == true)
        #expect(kept.clusters.first { $0.name == "app" }?.endpoints.count == 2)
        #expect(skipped.map(\.description).contains { $0.contains("cluster \"canary\" gets no endpoints") })
    }
}
