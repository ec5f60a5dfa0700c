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
        if let sotw {
            checkAgreement(sotw, message)
        } else {
            precondition(hasNULQuirk(bytes), "the codec accepts a DiscoveryRequest the wire reader refuses")
        }
    }
    if let message = try? ProtoCodec.decode("envoy.service.discovery.v3.DeltaDiscoveryRequest", from: bytes) {
        if let delta {
            checkAgreement(delta, message)
        } else {
            precondition(hasNULQuirk(bytes), "the codec accepts a DeltaDiscoveryRequest the wire reader refuses")
        }
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

/// Whether some length-delimited field (at the top level, or one level down) is invalid UTF-8 only after
/// a NUL byte: text the codec accepts (it stops at the NUL) and the wire reader refuses (it checks every byte).
func hasNULQuirk(_ bytes: [UInt8], depth: Int = 0) -> Bool {
    var reader = ProtoWireReader(bytes)
    while true {
        // An error or the end of the message: either way, nothing more to look at.
        guard let (_, value) = try? reader.next() else { return false }
        guard let range = value.range else { continue }
        let payload = bytes[range]
        if let nul = payload.firstIndex(of: 0), String(validating: payload, as: UTF8.self) == nil,
            String(validating: payload[..<nul], as: UTF8.self) != nil
        {
            return true
        }
        // One level down: the key and value of a map entry (initial_resource_versions).
        if depth == 0, hasNULQuirk(Array(payload), depth: 1) { return true }
    }
}
