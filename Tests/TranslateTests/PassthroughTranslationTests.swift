import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// The filter chains behind `passthrough:`: one chain per entry, chosen by server name, with no TLS of its own.
@Suite("Passthrough translation")
struct PassthroughTranslationTests {
    static let yaml = """
        listeners:
          - name: edge
            port: 8443
            tls: { certificate: example.test }
            passthrough:
              - { server_names: [git.example.com], cluster: git, idle_timeout: 2h }
              - { server_names: ["*.lab.example.com", nas.example.org], cluster: lab }
            hosts:
              - domains: ["*.example.com"]
                routes: [{ prefix: /, cluster: web }]
          - name: sni-only
            port: 9443
            access_log: false
            passthrough:
              - { server_names: [vpn.example.com], cluster: git }
        clusters:
          - { name: web, endpoints: [127.0.0.1:9000] }
          - { name: git, endpoints: [127.0.0.1:9001] }
          - { name: lab, endpoints: [127.0.0.1:9002], proxy_protocol: v2 }
          - { name: unused, endpoints: [127.0.0.1:9003] }
        """

    static func group() throws -> GroupResources {
        let config = try RoutesFile.parse(yaml, file: "routes.yaml")
        return try #require(Translator.translate(config, certificates: [:])["default"])
    }

    static func chains(_ listener: ProtoMessage?) -> [ProtoMessage] {
        (listener?["filter_chains"]?.listValue ?? []).compactMap(\.messageValue)
    }

    static func tcpProxy(_ chain: ProtoMessage) -> ProtoMessage? {
        chain["filters"]?.listValue?.first?.messageValue?["typed_config"]?.messageValue
    }

    @Test func eachEntryIsAChainMatchedByServerNameWithoutTLS() throws {
        let chains = Self.chains(try Self.group().resources[.listener]?["edge"])
        #expect(
            chains.map { $0["name"] } == [
                .string("example.test"), .string("passthrough/git.example.com"),
                .string("passthrough/*.lab.example.com"),
            ])
        let terminated = chains[0]
        #expect(terminated["filter_chain_match"] == nil)
        #expect(terminated["transport_socket"] != nil)
        let git = chains[1]
        #expect(git["transport_socket"] == nil)
        #expect(
            git["filter_chain_match"]?.messageValue?["server_names"] == .list([.string("git.example.com")]))
        let proxy = try #require(Self.tcpProxy(git))
        #expect(proxy.typeName == "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy")
        #expect(proxy["cluster"] == .string("git"))
        #expect(proxy["stat_prefix"] == .string("edge.passthrough"))
        #expect(proxy["idle_timeout"] == .duration(.seconds(7200)))
        #expect(proxy["access_log"] != nil)
        let lab = chains[2]
        #expect(
            lab["filter_chain_match"]?.messageValue?["server_names"]
                == .list([.string("*.lab.example.com"), .string("nas.example.org")]))
        #expect(Self.tcpProxy(lab)?["idle_timeout"] == nil)
    }

    @Test func theTLSInspectorReadsTheServerName() throws {
        let group = try Self.group()
        for name in ["edge", "sni-only"] {
            let filters = group.resources[.listener]?[name]?["listener_filters"]?.listValue ?? []
            #expect(
                filters.compactMap { $0.messageValue?["name"] } == [.string("envoy.filters.listener.tls_inspector")],
                "\(name)")
        }
    }

    @Test func aListenerThatOnlyPassesThroughHasNoRouteConfiguration() throws {
        let group = try Self.group()
        let chains = Self.chains(group.resources[.listener]?["sni-only"])
        #expect(chains.count == 1)
        #expect(chains.first.flatMap(Self.tcpProxy)?["access_log"] == nil)
        #expect(group.resources[.route]?["sni-only"] == nil)
        #expect(group.resources[.route]?["edge"] != nil)
    }

    @Test func passthroughClustersAreSentAndUnusedOnesAreNot() throws {
        let clusters = try Self.group().resources[.cluster] ?? [:]
        #expect(Set(clusters.keys) == ["web", "git", "lab"])
    }
}
