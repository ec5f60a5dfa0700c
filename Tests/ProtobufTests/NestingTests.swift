import Testing

@testable import Protobuf

/// Deeply nested input must be refused before any recursive code sees it (a crafted 24 KB request used to overflow
/// the event loop's stack and kill the process).
@Suite struct NestingTests {
    /// `google.protobuf.Value{list_value: ListValue{values: [Value{…}]}}`, `depth` Values deep, innermost a string.
    static func nestedValue(depth: Int) -> [UInt8] {
        var value: [UInt8] = []
        ProtoWire.appendString(field: 3, "leaf", to: &value)  // Value.string_value
        for _ in 0..<depth {
            var list: [UInt8] = []
            ProtoWire.appendLengthDelimited(field: 1, value, to: &list)  // ListValue.values
            value = []
            ProtoWire.appendLengthDelimited(field: 6, list, to: &value)  // Value.list_value
        }
        return value
    }

    @Test func moderateNestingDecodes() throws {
        let message = try ProtoCodec.decode("google.protobuf.Value", from: Self.nestedValue(depth: 40))
        #expect(message["list_value"] != nil)
    }

    @Test(arguments: [60, 3_000, 8_000])
    func deepNestingIsMalformedNotACrash(depth: Int) {
        #expect(throws: ProtoError.self) {
            _ = try ProtoCodec.decode("google.protobuf.Value", from: Self.nestedValue(depth: depth))
        }
    }

    @Test func deepNestingInsideADiscoveryRequestIsRefused() {
        var metadataEntry: [UInt8] = []
        ProtoWire.appendString(field: 1, "k", to: &metadataEntry)
        ProtoWire.appendLengthDelimited(field: 2, Self.nestedValue(depth: 3_000), to: &metadataEntry)
        var metadata: [UInt8] = []
        ProtoWire.appendLengthDelimited(field: 1, metadataEntry, to: &metadata)  // Struct.fields
        var node: [UInt8] = []
        ProtoWire.appendString(field: 1, "deep", to: &node)
        ProtoWire.appendLengthDelimited(field: 3, metadata, to: &node)  // Node.metadata
        var request: [UInt8] = []
        ProtoWire.appendLengthDelimited(field: 2, node, to: &request)  // DiscoveryRequest.node
        #expect(throws: ProtoError.self) {
            _ = try ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: request)
        }
    }

    /// A nested message whose last field claims to run past the message's end: the scan used to read up to the end
    /// of the whole buffer and trap on a negative length ("Negative value is not representable"), killing the process
    /// from a 4-byte request with no authentication.
    @Test(arguments: [
        ("envoy.service.discovery.v3.DiscoveryRequest", [0x12, 0x01, 0x0a, 0x05] as [UInt8]),
        ("envoy.service.discovery.v3.DeltaDiscoveryRequest", [0x0a, 0x01, 0x0a, 0x05]),
        ("envoy.service.discovery.v3.DiscoveryRequest", [0x12, 0x01, 0x09, 0x00, 0x00, 0x00]),  // fixed64 past the end
        ("envoy.service.discovery.v3.DiscoveryRequest", [0x12, 0x01, 0x0d, 0x00, 0x00]),  // fixed32 past the end
        ("envoy.service.discovery.v3.DiscoveryRequest", [0x12, 0x01, 0x08, 0x80, 0x80]),  // varint past the end
    ])
    func fieldRunningPastItsMessageIsMalformed(type: String, bytes: [UInt8]) {
        #expect(throws: ProtoError.self) { _ = try ProtoCodec.decode(type, from: bytes) }
    }

    /// Generated inputs: every prefix and single-byte mutation of a valid request decodes or throws, never traps.
    @Test func mutatedRequestsNeverTrap() throws {
        var node: [UInt8] = []
        ProtoWire.appendString(field: 1, "edge-1", to: &node)
        ProtoWire.appendString(field: 2, "default", to: &node)
        var request: [UInt8] = []
        ProtoWire.appendString(field: 1, "v1", to: &request)
        ProtoWire.appendLengthDelimited(field: 2, node, to: &request)
        ProtoWire.appendString(field: 3, "www", to: &request)
        ProtoWire.appendString(field: 4, "type.googleapis.com/envoy.config.cluster.v3.Cluster", to: &request)
        _ = try ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: request)
        var generator = SystemRandomNumberGenerator()
        var decoded = 0
        for length in 0...request.count {
            if (try? ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: Array(request[..<length])))
                != nil
            {
                decoded += 1
            }
        }
        for _ in 0..<20_000 {
            var mutated = request
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                mutated[Int.random(in: 0..<mutated.count, using: &generator)] = UInt8.random(
                    in: 0...255, using: &generator)
            }
            if (try? ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: mutated)) != nil {
                decoded += 1
            }
        }
        #expect(decoded > 0)  // the walk really reached the decoder, not only the scan
    }
}
