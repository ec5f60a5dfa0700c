import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// One compressor filter per algorithm, the first preferred, and routes that turn them off.
@Suite("Compression translation")
struct CompressionTranslationTests {
    static let yaml = """
        listeners:
          - name: web
            port: 8080
            compression: { algorithms: [zstd, gzip], min_size: 256 }
            hosts:
              - domains: ["*"]
                rate_limit: { requests: 5, per: 1s }
                routes:
                  - { prefix: /downloads/, cluster: app, compression: false, rate_limit: { requests: 1, per: 1s } }
                  - { prefix: /, cluster: app }
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """

    static func group() throws -> GroupResources {
        try #require(Translator.translate(RoutesFile.parse(yaml, file: "routes.yaml"), certificates: [:])["default"])
    }

    @Test func oneFilterPerAlgorithmBeforeTheRouter() throws {
        let chain = try Self.group().resources[.listener]?["web"]?["filter_chains"]?.listValue?.first?.messageValue
        let manager = chain?["filters"]?.listValue?.first?.messageValue?["typed_config"]?.messageValue
        let filters = (manager?["http_filters"]?.listValue ?? []).compactMap(\.messageValue)
        #expect(
            filters.map { $0["name"] } == [
                .string("envoy.filters.http.local_ratelimit"), .string("envoy.filters.http.compressor.zstd"),
                .string("envoy.filters.http.compressor.gzip"), .string("envoy.filters.http.router"),
            ])
        let zstd = try #require(filters[1]["typed_config"]?.messageValue)
        #expect(zstd["choose_first"] == .bool(true))
        #expect(filters[2]["typed_config"]?.messageValue?["choose_first"] == nil)
        let library = zstd["compressor_library"]?.messageValue
        #expect(library?["name"] == .string("envoy.compression.zstd.compressor"))
        let common = zstd["response_direction_config"]?.messageValue?["common_config"]?.messageValue
        #expect(common?["min_content_length"] == .uint32Value(256))
    }

    @Test func aRouteTurnsEveryCompressorOffAndKeepsItsBucket() throws {
        let host = try #require(
            Self.group().resources[.route]?["web"]?["virtual_hosts"]?.listValue?.first?.messageValue)
        let routes = host["routes"]?.listValue?.compactMap(\.messageValue) ?? []
        guard case .map(let perFilter)? = routes.first?["typed_per_filter_config"] else {
            Issue.record("no per-filter configuration on the downloads route")
            return
        }
        #expect(
            Set(perFilter.keys) == [
                "envoy.filters.http.local_ratelimit", "envoy.filters.http.compressor.zstd",
                "envoy.filters.http.compressor.gzip",
            ])
        #expect(perFilter["envoy.filters.http.compressor.gzip"]?.messageValue?["disabled"] == .bool(true))
        #expect(routes.last?["typed_per_filter_config"] == nil)
    }
}
