import Protobuf
import XDS

/// libFuzzer entry point: decodes the input as a state-of-the-world and as a delta discovery request, first through
/// `ProtoCodec` (which runs `NestingScan` before protobuf-c) and then through XDS's request parsing, exactly as a
/// stream handler does with each message a proxy sends. Either may throw; neither may crash or hang.
///
/// The raw pointer is libFuzzer's calling convention and is unavoidable here: it is copied into `[UInt8]` at once
/// and is the only pointer this target touches.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    for typeName in ["envoy.service.discovery.v3.DiscoveryRequest", "envoy.service.discovery.v3.DeltaDiscoveryRequest"]
    {
        if let message = try? ProtoCodec.decode(typeName, from: bytes) {
            // What decodes must encode again (the encoder takes whatever the decoder produced).
            _ = try? ProtoCodec.encode(message)
        }
    }
    _ = try? DiscoveryRequest(decoding: bytes)
    _ = try? DeltaDiscoveryRequest(decoding: bytes)
    return 0
}
