import NIOCore
import NIOHTTP1

/// What the byte guard and the request handler of one admin connection share. Lives on the connection's loop.
final class AdminConnectionState {
    /// No request head is being parsed or answered: the next bytes start one.
    var awaitingHead = true
    /// A request ended during the read being forwarded: bytes after it may be a pipelined head, or nothing.
    var sawEndInRead = false
    private var headTimer: Scheduled<Void>?

    /// Starts the head clock unless it runs: the head must be complete `timeout` from now, or the connection closes.
    func startHeadTimer(_ context: ChannelHandlerContext, timeout: TimeAmount, counters: AdminCounters) {
        guard headTimer == nil, context.channel.isActive else { return }
        let channel = context.channel
        headTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, self.awaitingHead else { return }
            self.headTimer = nil
            counters.update { $0.headerTimeouts += 1 }
            channel.close(promise: nil)
        }
    }

    func cancelHeadTimer() {
        headTimer?.cancel()
        headTimer = nil
    }
}

/// First in the pipeline, before the HTTP decoder: sees raw bytes, so it knows when a request head *starts*, which
/// the decoder does not report. A connection that opens, or starts a head, must finish the head within the header
/// timeout; an idle keep-alive connection is left to the idle timeout instead.
final class AdminByteGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let state: AdminConnectionState
    private let timeout: TimeAmount
    private let counters: AdminCounters

    init(state: AdminConnectionState, timeout: TimeAmount, counters: AdminCounters) {
        self.state = state
        self.timeout = timeout
        self.counters = counters
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { state.startHeadTimer(context, timeout: timeout, counters: counters) }
    }

    func channelActive(context: ChannelHandlerContext) {
        state.startHeadTimer(context, timeout: timeout, counters: counters)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        state.sawEndInRead = false
        context.fireChannelRead(data)
        // Bytes that completed no request are (part of) a head: its clock starts with its first byte. Bytes after a
        // request's end in the same read are bounded by the head size limit and the idle timeout.
        if state.awaitingHead && !state.sawEndInRead {
            state.startHeadTimer(context, timeout: timeout, counters: counters)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.cancelHeadTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        state.cancelHeadTimer()
    }
}

@available(*, unavailable)
extension AdminByteGuard: Sendable {}
