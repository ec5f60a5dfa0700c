import NIOCore

/// The physical-limit client: reads length-prefixed blobs (UInt32 payload length, UInt32 ACK length, payload) and
/// answers each with an ACK of the requested length. No protocol beyond that.
final class RawProxyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let index: Int
    private let recorder: Recorder
    private var pending: ByteBuffer?
    private var scenario = -1
    private var bytesIn = 0

    init(index: Int, recorder: Recorder) {
        self.index = index
        self.recorder = recorder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending == nil { pending = bytes } else { pending!.writeBuffer(&bytes) }
        while let buffer = pending, buffer.readableBytes >= 8,
            let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            let ack = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self),
            buffer.readableBytes >= 8 + Int(length)
        {
            pending!.moveReaderIndex(forwardBy: 8 + Int(length))
            let current = recorder.currentScenario
            if current != scenario {
                scenario = current
                bytesIn = 0
            }
            bytesIn += 8 + Int(length)
            context.writeAndFlush(
                NIOAny(context.channel.allocator.buffer(repeating: 0, count: Int(ack))), promise: nil)
            recorder.complete(proxy: index, scenario: scenario, at: nowNanos(), bytesIn: bytesIn, bytesOut: Int(ack))
        }
        if pending?.readableBytes == 0 { pending = nil }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        recorder.fail("raw proxy \(index): \(error)")
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension RawProxyHandler: Sendable {}
