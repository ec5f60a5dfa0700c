import NIOCore

// The limits one connection enforces: the handshake and idle timers and the inbound memory budgets.
extension ServerConnectionHandler {
    func startHandshakeTimer(_ context: ChannelHandlerContext) {
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.handshakeTimeout))
        {
            [weak self] in self?.handshakeExpired()
        }
    }

    /// A stream is about to open: the handshake is complete and the connection is serving, not idle.
    func streamOpening() {
        let actions = machine.streamOpened()
        if actions.cancelHandshakeTimer {
            handshakeTimer?.cancel()
            handshakeTimer = nil
        }
        if actions.markServing {
            registry.setServing(connectionID, true)
            idleTimer?.cancel()
            idleTimer = nil
        }
    }

    /// The server-wide budget outlives the connection: give back what a stream closed with the connection held.
    func releaseInbound(_ stream: GRPCServerStream) {
        configuration.memoryBudget.release(stream.countedInboundBytes)
        bufferedInboundBytes -= stream.countedInboundBytes
        stream.countedInboundBytes = 0
    }

    func cancelTimers() {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        idleTimer?.cancel()
        idleTimer = nil
    }

    /// A peer that connects and stays silent (or sends only the preface) would hold a descriptor forever.
    func handshakeExpired() {
        handshakeTimer = nil
        let action = machine.handshakeTimerFired()
        if action == .close {
            configuration.metrics.hit(.handshakeTimeout)
            logs.handshake.log(
                logger, level: .info, "closing a connection that sent no request in time",
                metadata: ["peer": "\(remoteAddress ?? "?")", "timeout": "\(configuration.handshakeTimeout)"])
        }
        perform(action)
    }

    /// The last stream closed: the connection serves nothing, so it may be evicted, and it ends when idle too long.
    func becameIdle(armIdleTimer: Bool) {
        registry.setServing(connectionID, false)
        guard armIdleTimer, let idleTimeout = configuration.idleTimeout, let context else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(idleTimeout)) { [weak self] in
            guard let self else { return }
            self.idleTimer = nil
            let action = self.machine.idleTimerFired()
            if action == .sendGoAway {
                self.logger.debug("closing an idle connection", metadata: ["peer": "\(self.remoteAddress ?? "?")"])
            }
            self.perform(action)
        }
    }

    /// Keeps `bufferedInboundBytes` equal to the sum of the streams' unfinished messages (and charges the same to
    /// the server-wide budget), and fails the stream holding the most when the connection or the server goes over.
    func countInbound(_ stream: GRPCServerStream) {
        let now = stream.deframer.bufferedBytes
        let delta = now - stream.countedInboundBytes
        bufferedInboundBytes += delta
        stream.countedInboundBytes = now
        if delta > 0 {
            configuration.memoryBudget.forceCharge(delta)
        } else {
            configuration.memoryBudget.release(-delta)
        }
        let reason: String
        if bufferedInboundBytes > configuration.maxConnectionBufferedBytes {
            reason =
                "connection holds more than \(configuration.maxConnectionBufferedBytes) bytes of unfinished messages"
        } else if delta > 0 && configuration.memoryBudget.isExceeded {
            reason =
                "server-wide budget of \(configuration.memoryBudget.limit) bytes for buffered messages and "
                + "subscriptions is used up"
        } else {
            return
        }
        guard let largest = streams.values.max(by: { $0.countedInboundBytes < $1.countedInboundBytes }),
            largest.countedInboundBytes > 0
        else { return }
        configuration.metrics.hit(.bufferedBytes)
        logs.budget.log(
            logger, "failing a stream over a memory limit",
            metadata: ["peer": "\(remoteAddress ?? "?")", "reason": "\(reason)"])
        largest.fail(.resourceExhausted(reason))
        countInbound(largest)
    }
}
