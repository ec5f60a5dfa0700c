import Config

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
    return 0
}
