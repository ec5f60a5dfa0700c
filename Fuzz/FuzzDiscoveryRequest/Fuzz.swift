import Protobuf
import XDS

/// libFuzzer entry point: decodes the input as a state-of-the-world and as a delta discovery request, first through
/// `ProtoCodec` (which runs `NestingScan` before protobuf-c) and then through XDS's request parsing, exactly as a
/// stream handler does with each message a proxy sends. Either may throw; neither may crash or hang.
///
/// XDS reads requests straight off the wire (`ProtoWireReader`); whatever the codec accepts, that reader must accept
/// too and read the same values, or the target traps (a finding).
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
    let sotw = try? DiscoveryRequest(decoding: bytes)
    _ = try? DiscoveryRequest(decoding: bytes, node: false)
    let delta = try? DeltaDiscoveryRequest(decoding: bytes)
    _ = try? DeltaDiscoveryRequest(decoding: bytes, node: false)
    if let message = try? ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: bytes) {
        guard let sotw else { fatalError("the codec accepts a DiscoveryRequest the wire reader refuses") }
        let names = message["resource_names"]?.listValue?.compactMap(\.stringValue) ?? []
        precondition(sotw.resourceNames == names, "resource_names differ")
        precondition(sotw.typeURL == message["type_url"]?.stringValue ?? "", "type_url differs")
        precondition(sotw.versionInfo == message["version_info"]?.stringValue ?? "", "version_info differs")
        precondition(sotw.responseNonce == message["response_nonce"]?.stringValue ?? "", "response_nonce differs")
        precondition((sotw.errorDetail != nil) == (message["error_detail"] != nil), "error_detail differs")
    }
    if let message = try? ProtoCodec.decode("envoy.service.discovery.v3.DeltaDiscoveryRequest", from: bytes) {
        guard let delta else { fatalError("the codec accepts a DeltaDiscoveryRequest the wire reader refuses") }
        let subscribe = message["resource_names_subscribe"]?.listValue?.compactMap(\.stringValue) ?? []
        precondition(delta.subscribe == subscribe, "resource_names_subscribe differ")
        precondition(delta.responseNonce == message["response_nonce"]?.stringValue ?? "", "response_nonce differs")
        precondition((delta.errorDetail != nil) == (message["error_detail"] != nil), "error_detail differs")
    }
    return 0
}
