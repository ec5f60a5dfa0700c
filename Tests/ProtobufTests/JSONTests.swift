import Protobuf
import Testing

@Suite struct JSONTests {
    private func durationJSON(_ seconds: Int64, _ nanos: Int64) -> String {
        let d = ProtoMessage("google.protobuf.Duration", ["seconds": .int(seconds), "nanos": .int(nanos)])
        let holder = ProtoMessage("envoy.config.core.v3.HttpProtocolOptions", ["idle_timeout": .message(d)])
        return ProtoJSON.render(holder)
    }

    @Test(
        arguments: [
            (5, 0, "5s"), (1, 500_000_000, "1.500s"), (0, 0, "0s"), (0, 1_000, "0.000001s"),
            (2, 1, "2.000000001s"), (-1, -500_000_000, "-1.500s"), (0, -20_000_000, "-0.020s"),
        ] as [(Int64, Int64, String)])
    func durations(_ seconds: Int64, _ nanos: Int64, _ expected: String) {
        #expect(durationJSON(seconds, nanos) == "{\n  \"idleTimeout\": \"\(expected)\"\n}")
    }

    @Test func prettyPrintedSortedCamelCase() {
        let cla = ProtoMessage(
            "envoy.config.endpoint.v3.ClusterLoadAssignment",
            [
                "cluster_name": .string("www"),
                "endpoints": .list([
                    .message(
                        ProtoMessage(
                            "envoy.config.endpoint.v3.LocalityLbEndpoints",
                            [
                                "priority": .int(2), "load_balancing_weight": .uint32Value(7),
                                "lb_endpoints": .list([]),
                            ]))
                ]),
            ])
        #expect(
            ProtoJSON.render(cla) == """
                {
                  "clusterName": "www",
                  "endpoints": [
                    {
                      "loadBalancingWeight": 7,
                      "priority": 2
                    }
                  ]
                }
                """)
    }

    @Test func defaultsAreOmittedExceptInOneofs() {
        let address = ProtoMessage(
            "envoy.config.core.v3.SocketAddress",
            [
                "address": .string(""), "port_value": .int(0), "protocol": .enumValue("TCP"),
                "ipv4_compat": .bool(false),
            ])
        #expect(ProtoJSON.render(address) == "{\n  \"portValue\": 0\n}")
        #expect(ProtoJSON.render(ProtoMessage("envoy.config.listener.v3.Listener")) == "{}")
    }

    @Test func sixtyFourBitIntsAreStrings() {
        let wrapper = ProtoMessage(
            "envoy.config.core.v3.Http2ProtocolOptions", ["hpack_table_size": .uint32Value(4096)])
        #expect(ProtoJSON.render(wrapper) == "{\n  \"hpackTableSize\": 4096\n}")
        let u64 = ProtoMessage(
            "google.rpc.Status",
            [
                "details": .list([
                    .any(ProtoMessage("google.protobuf.UInt64Value", ["value": .int(Int64(bitPattern: UInt64.max))]))
                ])
            ])
        #expect(ProtoJSON.render(u64).contains("\"value\": \"18446744073709551615\""))
        let i64 = ProtoMessage("google.protobuf.Duration", ["seconds": .int(3)])
        #expect(
            ProtoJSON.render(ProtoMessage("google.rpc.Status", ["details": .list([.any(i64)])]))
                .contains("\"value\": \"3s\""))
    }

    @Test func anyCarriesTypeAndEnumsRenderByName() {
        let json = ProtoJSON.render(Fixtures.cluster)
        #expect(
            json.contains("\"@type\": \"type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\""))
        #expect(json.contains("\"lbPolicy\": \"LEAST_REQUEST\""))
        #expect(json.contains("\"type\": \"STRICT_DNS\""))
        #expect(json.contains("\"healthStatus\": \"HEALTHY\""))
        #expect(json.contains("\"connectTimeout\": \"1.500s\""))
        // An enum given by number renders by name too.
        let byNumber = ProtoMessage("envoy.config.cluster.v3.Cluster", ["lb_policy": .int(2)])
        #expect(ProtoJSON.render(byNumber) == "{\n  \"lbPolicy\": \"RING_HASH\"\n}")
    }

    @Test func structAndWrappersAreNatural() {
        let json = ProtoJSON.render(Fixtures.discoveryRequest)
        #expect(json.contains("\"weight\": 2.5"))
        #expect(json.contains("\"none\": null"))
        #expect(json.contains("\"canary\": false"))
        #expect(json.contains("\"tags\": [\n        \"a\"\n      ]"))
        #expect(
            json.contains("\"@type\": \"type.googleapis.com/google.protobuf.StringValue\",\n        \"value\": \"why\"")
        )
        #expect(ProtoJSON.render(Fixtures.listener).contains("\"useRemoteAddress\": true"))
    }

    @Test func bytesAreBase64AndRedactionWins() {
        let plain = ProtoJSON.render(Fixtures.secret)
        #expect(plain.contains("\"inlineBytes\": \"AAEC+v8=\""))
        let redacted = ProtoJSON.render(
            Fixtures.secret, redacting: ["envoy.extensions.transport_sockets.tls.v3.TlsCertificate.private_key"])
        #expect(redacted.contains("\"privateKey\": \"[redacted]\""))
        #expect(!redacted.contains("AAEC+v8="))
        #expect(redacted.contains("\"certificateChain\": {"))
    }

    @Test func redactionReachesInsideAny() throws {
        let response = ProtoMessage(
            "envoy.service.discovery.v3.DiscoveryResponse", ["resources": .list([.any(Fixtures.secret)])])
        let decoded = try ProtoCodec.decode(response.typeName, from: ProtoCodec.encode(response))
        let json = ProtoJSON.render(decoded, redacting: ["envoy.config.core.v3.DataSource.inline_bytes"])
        #expect(!json.contains("AAEC+v8="))
        #expect(json.components(separatedBy: "[redacted]").count == 3)
    }

    @Test func stringsAreEscaped() {
        let m = ProtoMessage("envoy.config.core.v3.Locality", ["region": .string("a\"b\\c\nd\u{01}é")])
        #expect(ProtoJSON.render(m) == "{\n  \"region\": \"a\\\"b\\\\c\\nd\\u0001é\"\n}")
    }

    @Test func timestamps() {
        let ts = ProtoMessage("google.protobuf.Timestamp", ["seconds": .int(1_700_000_000), "nanos": .int(5_000_000)])
        let status = ProtoMessage("google.rpc.Status", ["details": .list([.any(ts)])])
        #expect(ProtoJSON.render(status).contains("\"value\": \"2023-11-14T22:13:20.005Z\""))
    }
}
