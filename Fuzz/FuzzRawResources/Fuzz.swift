import Config
import Protobuf
import RawResources

/// Reads the input as a raw resource file (`--raw`), exactly as a load does (`RawResourceFile.parse`: YAML or JSON →
/// proto3 JSON reader → checked resources), then holds what it accepted to two promises: every accepted resource
/// encodes (a snapshot can always be built from it), and its bytes are stable through a decode and a re-encode.
/// Any text may be rejected with errors; none may crash or hang.
///
/// The raw pointer is libFuzzer's calling convention and is unavoidable here: it is copied into `[UInt8]` at once
/// and is the only pointer this target touches.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let resources = try RawResourceFile.parse(text, file: "raw.yaml")
        _ = RawResourceFile.check(resources, groups: ["default", "edge"])
        for resource in resources {
            let encoded: [UInt8]
            do {
                encoded = try ProtoCodec.encode(resource.message)
            } catch {
                fatalError("an accepted raw resource does not encode: \(error)")
            }
            guard let decoded = try? ProtoCodec.decode(resource.message.typeName, from: encoded),
                let again = try? ProtoCodec.encode(decoded), again == encoded
            else {
                fatalError("an accepted raw resource does not re-encode to the same bytes")
            }
        }
    } catch let errors {
        for error in errors.errors { _ = error.description }
    }
    return 0
}
