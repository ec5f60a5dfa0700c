import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded

@testable import GRPCServer

/// Feeds the input to one server connection (`ServerConnectionHandler`: nghttp2 + gRPC framing) on an
/// `EmbeddedChannel`, as the bytes a client sends, then lets every timer fire and closes the connection.
/// Whatever the bytes, nothing may crash, hang or leak, and memory stays bounded by the connection limits.
///
/// Input layout: byte 0 is a flag byte, the rest is the client's byte stream.
/// - bit 0: prepend the HTTP/2 client preface and an empty SETTINGS frame, so mutations start past the preface.
/// - bits 1-2: split the stream into 1 to 4 reads; the split points come from bits 3-7 and the stream length.
///
/// The raw pointer is libFuzzer's calling convention and is unavoidable here: it is copied into `[UInt8]` at once
/// and is the only pointer this target touches.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let flags = input.first else { return 0 }
    var stream = flags & 1 == 1 ? clientPrefix : []
    stream += input.dropFirst()
    run(chunks(of: stream, pieces: Int(flags >> 1 & 3) + 1, seed: Int(flags >> 3)))
    return 0
}

/// "PRI * HTTP/2.0…" then SETTINGS with no parameters.
let clientPrefix: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]

/// Small limits, so the fuzzer reaches the budget checks with short inputs.
let configuration: GRPCServerConfiguration = {
    var configuration = GRPCServerConfiguration()
    configuration.maxReceiveMessageBytes = 4096
    configuration.maxConcurrentStreams = 16
    configuration.initialWindowBytes = 65_535
    configuration.maxConnectionBufferedBytes = 8192
    return configuration
}()

let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

func run(_ reads: [ArraySlice<UInt8>]) {
    let channel = EmbeddedChannel()
    let handler = ServerConnectionHandler(
        service: EchoService(), configuration: configuration, logger: logger,
        registry: ServerRegistry(), connectionID: 1, logs: LimitLogs())
    do {
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
    } catch {
        fatalError("cannot set up the embedded connection: \(error)")
    }
    for read in reads where channel.isActive {
        var buffer = channel.allocator.buffer(capacity: read.count)
        buffer.writeBytes(read)
        try? channel.writeInbound(buffer)
        channel.embeddedEventLoop.run()
        drainOutbound(channel)
    }
    // Fire every deadline (grpc-timeout) and the forced-close timer, then close.
    channel.embeddedEventLoop.advanceTime(by: .hours(24 * 365 * 200))
    drainOutbound(channel)
    _ = try? channel.finish(acceptAlreadyClosed: true)
    channel.embeddedEventLoop.run()
}

func drainOutbound(_ channel: EmbeddedChannel) {
    while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
}

/// A path ending in `/Echo` echoes each message and finishes OK on the client's END_STREAM; one ending in `/Hold`
/// never answers (the stream stays open until a deadline, a reset or the close); any other is UNIMPLEMENTED.
struct EchoService: GRPCService {
    func open(_ stream: GRPCServerStream) -> (any GRPCStreamHandler)? {
        stream.path.hasSuffix("/Echo") || stream.path.hasSuffix("/Hold") ? EchoHandler(stream: stream) : nil
    }
}

final class EchoHandler: GRPCStreamHandler {
    let stream: GRPCServerStream

    init(stream: GRPCServerStream) {
        self.stream = stream
    }

    func received(_ message: [UInt8]) {
        if stream.path.hasSuffix("/Echo") { stream.send(message) }
    }

    func receivedEnd() {
        if stream.path.hasSuffix("/Echo") { stream.finish(.ok) }
    }

    func closed() {}
}
