import Protobuf
import Testing

@testable import XDS

/// Requests are read straight off the wire; the codec is the reference they must agree with.
@Suite struct RequestDecodingTests {
    static let node = ProtoMessage(
        "envoy.config.core.v3.Node",
        [
            "id": .string("envoy-1"), "cluster": .string("edge"), "user_agent_name": .string("envoy"),
            "client_features": .list([.string("envoy.lb.does_not_support_overprovisioning")]),
        ])

    @Test func discoveryRequestAgreesWithTheCodec() throws {
        let bytes = try ProtoCodec.encode(
            ProtoMessage(
                "envoy.service.discovery.v3.DiscoveryRequest",
                [
                    "version_info": .string("abc"), "node": .message(Self.node),
                    "resource_names": .list([.string("www"), .string("dav"), .string("www")]),
                    "type_url": .string("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"),
                    "response_nonce": .string("7"),
                    "error_detail": .message(
                        ProtoMessage("google.rpc.Status", ["code": .int(13), "message": .string("bad")])),
                ]))
        let request = try DiscoveryRequest(decoding: bytes)
        #expect(request.versionInfo == "abc")
        #expect(request.resourceNames == ["www", "dav", "www"])
        #expect(request.typeURL.hasSuffix("ClusterLoadAssignment"))
        #expect(request.responseNonce == "7")
        #expect(request.errorDetail == ErrorDetail(code: 13, message: "bad"))
        #expect(request.node?.id == "envoy-1")
        #expect(request.node?.cluster == "edge")
        #expect(request.node?.clientFeatures == ["envoy.lb.does_not_support_overprovisioning"])
        // An ACK after the first request: the node's bytes are skipped, everything else is the same.
        var ack = try DiscoveryRequest(decoding: bytes, node: false)
        #expect(ack.node == nil)
        ack.node = request.node
        #expect(ack == request)
    }

    @Test func deltaRequestAgreesWithTheCodec() throws {
        let bytes = try ProtoCodec.encode(
            ProtoMessage(
                "envoy.service.discovery.v3.DeltaDiscoveryRequest",
                [
                    "node": .message(Self.node), "type_url": .string("t"),
                    "resource_names_subscribe": .list([.string("a"), .string("b")]),
                    "resource_names_unsubscribe": .list([.string("c")]),
                    "initial_resource_versions": .map(["a": .string("1"), "b": .string("2")]),
                    "response_nonce": .string("9"),
                ]))
        let request = try DeltaDiscoveryRequest(decoding: bytes)
        #expect(request.node?.id == "envoy-1")
        #expect(request.typeURL == "t")
        #expect(request.subscribe == ["a", "b"])
        #expect(request.unsubscribe == ["c"])
        #expect(request.initialResourceVersions == ["a": "1", "b": "2"])
        #expect(request.responseNonce == "9")
        #expect(request.errorDetail == nil)
        #expect(try DeltaDiscoveryRequest(decoding: bytes, node: false).node == nil)
    }

    @Test func aStringFieldSentAsAVarintIsRefused() {
        var wire: [UInt8] = []
        ProtoWire.appendVarintField(field: 5, 7, to: &wire)  // response_nonce must be length-delimited
        #expect(throws: (any Error).self) { try DiscoveryRequest(decoding: wire) }
        #expect(throws: (any Error).self) { try DeltaDiscoveryRequest(decoding: [0x32, 0x01]) }
    }

    /// Found by FuzzDiscoveryRequest's cross-check: protobuf-c keeps strings as C strings, so the codec reads
    /// version_info `00 D0` as "" (it stops at the NUL); the wire reader checks every byte and refuses the invalid
    /// UTF-8 after it. Refusing is the stricter answer, and the stream then ends with INVALID_ARGUMENT.
    @Test func aNULFollowedByInvalidUTF8IsRefused() throws {
        let bytes: [UInt8] = [0x0a, 0x02, 0x00, 0xd0]
        #expect(throws: Never.self) {
            try ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: bytes)
        }
        #expect(throws: (any Error).self) { try DiscoveryRequest(decoding: bytes) }
        // A NUL inside otherwise valid text is kept whole.
        var wire: [UInt8] = []
        ProtoWire.appendLengthDelimited(field: 5, [0x61, 0x00, 0x62], to: &wire)
        #expect(try DiscoveryRequest(decoding: wire).responseNonce == "a\u{0}b")
    }
}
