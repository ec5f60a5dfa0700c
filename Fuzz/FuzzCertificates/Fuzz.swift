import Certs
import Foundation

/// Runs the certificate bundle checks (`CertificateDirectory.bundle`: PEM blocks, X.509 chain, private key type,
/// key-to-leaf match, validity) on fuzzed `tls.crt` and `tls.key` bytes, the `ca.crt` check on the same `tls.crt`
/// bytes and the basic-auth `htpasswd` check on the `tls.key` bytes, without touching files.
///
/// Input layout: the `tls.crt` bytes, one NUL byte, the `tls.key` bytes (PEM text never holds NUL). Like the
/// directory loader, which refuses empty files before checking anything, an input with an empty part is skipped.
///
/// The raw pointer is libFuzzer's calling convention and is unavoidable here: it is copied into `[UInt8]` at once
/// and is the only pointer this target touches.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let split = input.firstIndex(of: 0) else { return 0 }
    let chain = Array(input[..<split])
    let key = Array(input[(split + 1)...])
    guard !chain.isEmpty, !key.isEmpty else { return 0 }
    let result = CertificateDirectory.bundle(
        name: "fuzz", chain: chain, key: key, certificatePath: "fuzz/tls.crt",
        keyPath: "fuzz/tls.key", now: now)
    // The chain bytes also go through the ca.crt check (CERTIFICATE blocks only, each valid X.509).
    if case .failure(let error) = TrustedAuthority.parse(name: "fuzz", bytes: chain, path: "fuzz/ca.crt") {
        _ = "\(error)"
    }
    // The key bytes also go through the htpasswd check; a refusal must never repeat what follows a user's colon.
    switch UserList.parse(name: "fuzz", bytes: key, path: "fuzz/htpasswd") {
    case .success(let list): precondition(!list.users.isEmpty && list.text.hasSuffix("\n"))
    case .failure(let error): _ = "\(error)"
    }
    switch result {
    case .success(let bundle):
        _ = bundle.description
        _ = bundle.debugDescription
    case .failure(let error):
        _ = "\(error)"
    }
    return 0
}

/// A fixed instant inside the validity of the fixture certificates, so runs are reproducible.
let now = Date(timeIntervalSince1970: 1_798_761_600)  // 2027-01-01T00:00:00Z
