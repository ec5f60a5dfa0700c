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
}
