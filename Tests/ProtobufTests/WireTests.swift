import Protobuf
import Testing

@Suite struct WireTests {
    @Test func varints() {
        var out: [UInt8] = []
        ProtoWire.appendVarint(0, to: &out)
        ProtoWire.appendVarint(300, to: &out)
        ProtoWire.appendVarint(UInt64.max, to: &out)
        #expect(out == [0x00, 0xAC, 0x02] + Array(repeating: 0xFF, count: 9) + [0x01])
    }

    /// The xDS layer's fast path: splice pre-encoded Any resources into a response with a per-stream nonce.
    @Test func assembledResponseDecodesLikeTheCodecsOwn() throws {
        let typeURL = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
        let resources = [Fixtures.cluster, ProtoMessage("envoy.config.cluster.v3.Cluster", ["name": .string("www")])]
        let encodedAnys = try resources.map { try ProtoCodec.encodeAny($0) }

        var wire: [UInt8] = []
        ProtoWire.appendString(field: 1, "v42", to: &wire)
        for any in encodedAnys { ProtoWire.appendLengthDelimited(field: 2, any, to: &wire) }
        ProtoWire.appendString(field: 4, typeURL, to: &wire)
        ProtoWire.appendString(field: 5, "nonce-9", to: &wire)
        ProtoWire.appendBool(field: 3, false, to: &wire)  // an explicit default decodes as absent

        let expected = ProtoMessage(
            "envoy.service.discovery.v3.DiscoveryResponse",
            [
                "version_info": .string("v42"),
                "resources": .list(resources.map { .any($0) }),
                "type_url": .string(typeURL),
                "nonce": .string("nonce-9"),
            ])
        #expect(try ProtoCodec.decode(expected.typeName, from: wire) == expected)

        var inOrder: [UInt8] = []
        ProtoWire.appendString(field: 1, "v42", to: &inOrder)
        for any in encodedAnys { ProtoWire.appendLengthDelimited(field: 2, any, to: &inOrder) }
        ProtoWire.appendString(field: 4, typeURL, to: &inOrder)
        ProtoWire.appendString(field: 5, "nonce-9", to: &inOrder)
        #expect(inOrder == (try ProtoCodec.encode(expected)), "field-number order gives the codec's exact bytes")
    }

    @Test func appendAnyMatchesEncodeAny() throws {
        let router = ProtoMessage(
            "envoy.extensions.filters.http.router.v3.Router", ["suppress_envoy_headers": .bool(true)])
        var out: [UInt8] = []
        ProtoWire.appendAny(
            field: 4, typeURL: ProtoCodec.typeURL(for: router.typeName), value: try ProtoCodec.encode(router), to: &out)
        var expected: [UInt8] = []
        ProtoWire.appendString(field: 1, "envoy.filters.http.router", to: &expected)
        expected += out
        let decoded = try ProtoCodec.decode(
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter", from: expected)
        #expect(decoded["typed_config"] == .any(router))
    }

    @Test func negativeInt32TakesTenBytes() throws {
        var out: [UInt8] = []
        ProtoWire.appendInt64Field(field: 1, -1, to: &out)
        #expect(out.count == 11)
        #expect(try ProtoCodec.decode("google.rpc.Status", from: out)["code"] == .int(-1))
        #expect(try ProtoCodec.encode(ProtoMessage("google.rpc.Status", ["code": .int(-1)])) == out)
    }
}
