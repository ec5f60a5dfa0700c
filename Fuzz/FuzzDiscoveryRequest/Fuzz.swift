import Protobuf
import XDS

/// libFuzzer entry point: decodes the input as a state-of-the-world and as a delta discovery request, first through
/// `ProtoCodec` (which runs `NestingScan` before protobuf-c) and then through XDS's request parsing, exactly as a
/// stream handler does with each message a proxy sends. Either may throw; neither may crash or hang.
///
/// XDS reads requests straight off the wire (`ProtoWireReader`). Whenever both the codec and that reader accept an
/// input they must read the same values, or the target traps (a finding). The reader may refuse bytes protobuf-c
/// tolerates (a field number 0, an over-long key, invalid UTF-8 after a NUL, which protobuf-c never looks at because
/// it keeps strings as C strings): a proxy sending those gets INVALID_ARGUMENT, which is stricter, not wrong.
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
    if let sotw {
        // The same bytes as an ACK whose names repeat the stream's last request: they are not decoded again, and
        // everything else reads the same.
        let again = try? DiscoveryRequest(decoding: bytes, node: true) { _, digest in digest == sotw.namesDigest }
        precondition(again?.namesRepeated == true && again?.resourceNames.isEmpty == true, "names not skipped")
        var expected = sotw
        expected.resourceNames = []
        expected.namesRepeated = true
        precondition(again == expected, "a repeated request reads differently")
    }
    let delta = try? DeltaDiscoveryRequest(decoding: bytes)
    _ = try? DeltaDiscoveryRequest(decoding: bytes, node: false)
    if let message = try? ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: bytes) {
        if let sotw { checkAgreement(sotw, message) }
    }
    if let message = try? ProtoCodec.decode("envoy.service.discovery.v3.DeltaDiscoveryRequest", from: bytes) {
        if let delta { checkAgreement(delta, message) }
    }
    return 0
}

func checkAgreement(_ sotw: DiscoveryRequest, _ message: ProtoMessage) {
    let names = message["resource_names"]?.listValue?.compactMap(\.stringValue) ?? []
    precondition(sotw.resourceNames.map(cString) == names, "resource_names differ")
    precondition(cString(sotw.typeURL) == message["type_url"]?.stringValue ?? "", "type_url differs")
    precondition(cString(sotw.versionInfo) == message["version_info"]?.stringValue ?? "", "version_info differs")
    precondition(
        cString(sotw.responseNonce) == message["response_nonce"]?.stringValue ?? "", "response_nonce differs")
    precondition((sotw.errorDetail != nil) == (message["error_detail"] != nil), "error_detail differs")
}

func checkAgreement(_ delta: DeltaDiscoveryRequest, _ message: ProtoMessage) {
    let subscribe = message["resource_names_subscribe"]?.listValue?.compactMap(\.stringValue) ?? []
    precondition(delta.subscribe.map(cString) == subscribe, "resource_names_subscribe differ")
    precondition(
        cString(delta.responseNonce) == message["response_nonce"]?.stringValue ?? "", "response_nonce differs")
    precondition((delta.errorDetail != nil) == (message["error_detail"] != nil), "error_detail differs")
}

/// protobuf-c keeps strings as C strings, so the codec reads a string field only up to its first NUL byte; the wire
/// reader reads (and validates) all of it. The two agree on the part before the NUL.
func cString(_ text: String) -> String {
    String(text.unicodeScalars.prefix { $0 != "\0" })
}
