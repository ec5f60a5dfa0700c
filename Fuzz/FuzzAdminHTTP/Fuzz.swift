import Admin
import Foundation
import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded
import Pipeline
import Snapshot
import XDS

/// Feeds the input to one admin connection, configured by `AdminServer.configureChildPipeline` exactly as an
/// accepted socket is (NIOHTTP1's server codec + the admin pages), on an `EmbeddedChannel`; then closes it.
/// Any bytes may get a 4xx or a closed connection; none may crash, hang or leak.
///
/// Input layout: byte 0 splits the rest into 1 to 4 reads (bits 0-1: count; bits 2-7: where to cut).
///
/// The raw pointer is libFuzzer's calling convention and is unavoidable here: it is copied into `[UInt8]` at once
/// and is the only pointer this target touches.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let flags = input.first else { return 0 }
    let bytes = Array(input.dropFirst())
    let channel = EmbeddedChannel()
    do {
        try server.configureChildPipeline(channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9901)).wait()
    } catch {
        fatalError("cannot set up the embedded connection: \(error)")
    }
    for read in chunks(of: bytes, pieces: Int(flags & 3) + 1, seed: Int(flags >> 2)) where channel.isActive {
        var buffer = channel.allocator.buffer(capacity: read.count)
        buffer.writeBytes(read)
        do {
            try channel.writeInbound(buffer)
        } catch {
            break  // the HTTP decoder refused the bytes; the real server closes the connection then too
        }
        channel.embeddedEventLoop.run()
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
    }
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return 0
}

/// One admin server for the whole run, holding the example-site snapshot (so /snapshot, /status and /metrics render
/// real content), or an empty store when the fixture cannot be loaded. Never started: only its pipeline is used.
let server: AdminServer = {
    let store = SnapshotStore()
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/example-site")
    if let loaded = try? Loader.load(
        configPath: fixture.appendingPathComponent("routes.yaml").path,
        certsPath: fixture.appendingPathComponent("certs").path)
    {
        _ = store.publish(loaded.snapshot, warnings: loaded.warnings)
    }
    return AdminServer(
        store: store, registry: StreamRegistry(), group: EmbeddedEventLoop(),
        logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
}()
