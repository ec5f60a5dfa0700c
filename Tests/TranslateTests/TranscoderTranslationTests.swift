import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// The transcoder filter disabled in the chain, and each `grpc_json` route carrying its descriptors and services.
@Suite("gRPC-JSON translation")
struct TranscoderTranslationTests {
    @Test func theRouteCarriesItsDescriptorsAndTurnsTheFilterOn() throws {
        let yaml = """
            listeners:
              - name: api
                port: 8080
                hosts:
                  - domains: ["*"]
                    routes:
                      - { prefix: /hello.Greeter/, cluster: greeter, grpc_json: { descriptors: api, services: [hello.Greeter] } }
                      - { prefix: /, cluster: greeter }
            clusters:
              - { name: greeter, endpoints: [127.0.0.1:9000], http2: true }
            """
        let bytes: [UInt8] = [0x0a, 0x02, 0x61, 0x62]
        let group = try #require(
            Translator.translate(
                RoutesFile.parse(yaml, file: "routes.yaml"), certificates: [:], descriptors: ["api": bytes])["default"])
        let chain = group.resources[.listener]?["api"]?["filter_chains"]?.listValue?.first?.messageValue
        let manager = chain?["filters"]?.listValue?.first?.messageValue?["typed_config"]?.messageValue
        let filter = try #require(manager?["http_filters"]?.listValue?.first?.messageValue)
        #expect(filter["name"] == .string("envoy.filters.http.grpc_json_transcoder"))
        #expect(filter["disabled"] == .bool(true))
        let host = try #require(group.resources[.route]?["api"]?["virtual_hosts"]?.listValue?.first?.messageValue)
        let routes = host["routes"]?.listValue?.compactMap(\.messageValue) ?? []
        guard case .map(let perFilter)? = routes.first?["typed_per_filter_config"] else {
            Issue.record("no per-route transcoder")
            return
        }
        let config = try #require(perFilter["envoy.filters.http.grpc_json_transcoder"]?.messageValue)
        #expect(config["proto_descriptor_bin"] == .bytes(bytes))
        #expect(config["services"] == .list([.string("hello.Greeter")]))
        #expect(config["auto_mapping"] == .bool(true))
        #expect(routes.last?["typed_per_filter_config"] == nil)
    }
}
