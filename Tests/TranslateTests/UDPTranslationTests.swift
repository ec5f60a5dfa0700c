import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// A UDP listener: a UDP address, no filter chains, the UDP proxy as its listener filter.
@Suite("UDP translation")
struct UDPTranslationTests {
    @Test func theProxyRoutesEveryDatagramToTheCluster() throws {
        let yaml = """
            listeners:
              - { name: relay, port: 8388, udp: { cluster: relay, idle_timeout: 2m } }
            clusters:
              - { name: relay, endpoints: [127.0.0.1:9000] }
            """
        let group = try #require(
            Translator.translate(RoutesFile.parse(yaml, file: "routes.yaml"), certificates: [:])["default"])
        let listener = try #require(group.resources[.listener]?["relay"])
        #expect(listener["address"]?.messageValue?["socket_address"]?.messageValue?["protocol"] == .enumValue("UDP"))
        #expect(listener["filter_chains"] == nil)
        let socket = listener["udp_listener_config"]?.messageValue?["downstream_socket_config"]?.messageValue
        #expect(socket?["max_rx_datagram_size"] == .uint64Value(9000))
        let filter = try #require(listener["listener_filters"]?.listValue?.first?.messageValue)
        #expect(filter["name"] == .string("envoy.filters.udp_listener.udp_proxy"))
        let proxy = try #require(filter["typed_config"]?.messageValue)
        #expect(proxy["idle_timeout"] == .duration(.seconds(120)))
        let action = proxy["matcher"]?.messageValue?["on_no_match"]?.messageValue?["action"]?.messageValue
        #expect(action?["typed_config"]?.messageValue?["cluster"] == .string("relay"))
        #expect(group.resources[.cluster]?["relay"] != nil)
        #expect(group.resources[.route]?["relay"] == nil)
    }
}
