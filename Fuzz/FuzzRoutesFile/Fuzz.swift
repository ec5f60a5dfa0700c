import Config
import Yams

/// Parses and validates the input as a routes file, exactly as `chancery validate` does after reading the file
/// (`RoutesFile.parse`: YAML → model → cross-checks), then runs the certificate cross-check on what parsed.
/// Any text may be rejected with errors; none may crash or hang.
///
/// The raw pointer is libFuzzer's calling convention and is unavoidable here: it is copied into `[UInt8]` at once
/// and is the only pointer this target touches.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    // As RoutesFile.load: invalid UTF-8 becomes U+FFFD.
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let config = try RoutesFile.parse(text, file: "routes.yaml")
        _ = RoutesFile.checkCertificates(config, available: ["example.test"])
    } catch let errors {
        for error in errors.errors { _ = error.description }
    }
    // What keeps Yams from keys that are not text (its repeated-key check is exponential in their nesting) must see
    // every such key Yams would build. Composing here is safe when the scan found none: then every key is text.
    if ComplexKeyScan.first(in: text) == nil, let root = try? Yams.compose(yaml: text, .basic) {
        precondition(ComplexKeyScan.onlyTextKeys(root), "a key that is not text got past ComplexKeyScan")
    }
    return 0
}
