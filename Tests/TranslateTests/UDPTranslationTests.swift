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

/// `http3`: a QUIC twin of the TLS listener and the alt-svc header that advertises it.
@Suite("HTTP/3 translation")
struct HTTP3TranslationTests {
    @Test func aQUICListenerBesideTheTCPOne() throws {
        let yaml = """
            listeners:
              - name: https
                port: 8443
                tls: { certificate: example.test }
                http3: true
                hosts:
                  - domains: ["*"]
                    routes: [{ prefix: /, cluster: app }]
            clusters:
              - { name: app, endpoints: [127.0.0.1:9000] }
            """
        let group = try #require(
            Translator.translate(RoutesFile.parse(yaml, file: "routes.yaml"), certificates: [:])["default"])
        let quic = try #require(group.resources[.listener]?["https-http3"])
        #expect(quic["address"]?.messageValue?["socket_address"]?.messageValue?["protocol"] == .enumValue("UDP"))
        #expect(quic["udp_listener_config"]?.messageValue?["quic_options"] != nil)
        let chain = try #require(quic["filter_chains"]?.listValue?.first?.messageValue)
        let socket = chain["transport_socket"]?.messageValue
        #expect(socket?["name"] == .string("envoy.transport_sockets.quic"))
        let tls = socket?["typed_config"]?.messageValue?["downstream_tls_context"]?.messageValue
        let common = tls?["common_tls_context"]?.messageValue
        #expect(common?["alpn_protocols"] == .list([.string("h3")]))
        let manager = chain["filters"]?.listValue?.first?.messageValue?["typed_config"]?.messageValue
        #expect(manager?["codec_type"] == .enumValue("HTTP3"))
        #expect(manager?["rds"]?.messageValue?["route_config_name"] == .string("https"))
        let headers = group.resources[.route]?["https"]?["response_headers_to_add"]?.listValue ?? []
        let altSvc = headers.compactMap { $0.messageValue?["header"]?.messageValue }.first {
            $0["key"] == .string("alt-svc")
        }
        #expect(altSvc?["value"] == .string("h3=\":8443\"; ma=86400"))
        #expect(group.resources[.listener]?["https"]?["udp_listener_config"] == nil)
    }
}
