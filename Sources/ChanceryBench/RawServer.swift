import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// `raw-server`: the physical limit. Accepts TCP connections on loopback and, for each line `send BYTES ACK` on
/// stdin, writes one blob of BYTES (with an 8-byte length prefix) to every socket — the same shared buffer, no
/// protocol, no encoding — and reads the ACKs back. EOF on stdin stops it.
struct RawServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raw-server", abstract: "The no-protocol baseline server the load command spawns.")

    @Option(help: "Port on 127.0.0.1.") var port: Int
    @Option(help: "Bytes sent to each new connection (its initial config).") var initialBytes: Int = 0
    @Option(help: "ACK bytes the client answers each blob with.") var ackBytes: Int = 0

    func run() async throws {
        _ = raiseDescriptorLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let connections = RawConnections()
        let initial = RawConnections.blob(bytes: initialBytes, ack: ackBytes)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.add(channel)
                channel.closeFuture.whenComplete { _ in connections.remove(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawAckReader())
                    if initial.readableBytes > 8 { channel.writeAndFlush(initial, promise: nil) }
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        let done = Thread {
            while let line = readLine() {
                let words = line.split(separator: " ")
                guard words.count == 3, words[0] == "send", let bytes = Int(words[1]), let ack = Int(words[2])
                else { continue }
                connections.broadcast(RawConnections.blob(bytes: bytes, ack: ack))
            }
            Foundation.exit(0)
        }
        done.start()
        try await server.closeFuture.get()
    }
}

/// The open raw connections; a blob is one buffer written to all of them.
final class RawConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) { channels.withLock { $0[ObjectIdentifier(channel)] = channel } }
    func remove(_ channel: any Channel) { _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }

    func broadcast(_ blob: ByteBuffer) {
        for channel in channels.withLock({ Array($0.values) }) { channel.writeAndFlush(blob, promise: nil) }
    }

    static func blob(bytes: Int, ack: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(bytes))
        buffer.writeInteger(UInt32(ack))
        buffer.writeRepeatingByte(0x2a, count: bytes)
        return buffer
    }
}

/// Reads and drops the ACKs (the server still has to take them off the socket).
final class RawAckReader: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
