/// The life of one server HTTP/2 connection, as a value: events in, actions out.
///
/// `ServerConnectionHandler` feeds it what the channel, nghttp2 and the timers report and carries out the answers
/// (arm or cancel a timer, send GOAWAY, close, read, flush). It does no I/O and holds no references. Events that do
/// not fit the state (a timer firing late, a second shutdown) are ignored, never trapped on.
///
///     awaitingFirstRequest ──stream opened──▶ active(streams) ──idle timer / graceful──▶ draining(streams)
///     draining with no stream left and nothing to write ──▶ closing ──channel inactive──▶ closed
///     any live state ──handshake timeout (first state only) / error / forced shutdown / nghttp2 done──▶ closing
struct ConnectionStateMachine {
    enum State: Equatable {
        /// Accepted; the preface and first request HEADERS have not both arrived. The handshake timer runs.
        case awaitingFirstRequest
        /// Serving: `openStreams` streams are open (0 = idle, the idle timer runs when configured).
        case active(openStreams: Int)
        /// GOAWAY sent: open streams may finish, new ones are refused by nghttp2; closes when the last one ends.
        case draining(openStreams: Int)
        /// Closing once written bytes are flushed; input is ignored.
        case closing
        /// The channel is inactive. Terminal.
        case closed
    }

    private(set) var state: State = .awaitingFirstRequest
    /// Whether an idle timeout is configured at all.
    let idleTimeoutEnabled: Bool
    private(set) var idleTimerArmed = false
    /// A `read()` from the pipeline was held back under write pressure and must be issued later.
    private(set) var readHeld = false
    /// A pump is already scheduled for the end of this event-loop tick.
    private(set) var flushScheduled = false

    init(idleTimeoutEnabled: Bool) {
        self.idleTimeoutEnabled = idleTimeoutEnabled
    }

    /// Whether bytes from the peer are still fed to nghttp2.
    var acceptsInput: Bool {
        switch state {
        case .awaitingFirstRequest, .active, .draining: return true
        case .closing, .closed: return false
        }
    }

    var isDraining: Bool {
        if case .draining = state { return true }
        return false
    }

    private var openStreams: Int {
        switch state {
        case .active(let count), .draining(let count): return count
        case .awaitingFirstRequest, .closing, .closed: return 0
        }
    }

    // MARK: Streams

    struct StreamOpenedActions: Equatable {
        /// The first request arrived: the handshake deadline no longer applies.
        var cancelHandshakeTimer = false
        /// The connection went from idle to serving: tell the registry (it is no longer evictable) and stop the
        /// idle timer.
        var markServing = false
    }

    /// nghttp2 accepted request HEADERS for a new stream.
    mutating func streamOpened() -> StreamOpenedActions {
        var actions = StreamOpenedActions()
        switch state {
        case .awaitingFirstRequest:
            state = .active(openStreams: 1)
            actions.cancelHandshakeTimer = true
            actions.markServing = true
        case .active(let count):
            state = .active(openStreams: count + 1)
            actions.markServing = count == 0
        case .draining(let count):
            // A stream at or below GOAWAY's last stream ID may still open (RFC 9113 §6.8).
            state = .draining(openStreams: count + 1)
            actions.markServing = count == 0
        case .closing, .closed:
            break
        }
        if actions.markServing { idleTimerArmed = false }
        return actions
    }

    enum StreamClosedAction: Equatable {
        /// The last stream closed: the connection is evictable again; arm the idle timer if `armIdleTimer`.
        case becameIdle(armIdleTimer: Bool)
        case none
    }

    /// A stream closed (nghttp2 reported it, or it was torn down with the connection).
    mutating func streamClosed() -> StreamClosedAction {
        switch state {
        case .active(let count) where count > 0:
            state = .active(openStreams: count - 1)
            guard count == 1 else { return .none }
            let arm = idleTimeoutEnabled && !idleTimerArmed
            if arm { idleTimerArmed = true }
            return .becameIdle(armIdleTimer: arm)
        case .draining(let count) where count > 0:
            state = .draining(openStreams: count - 1)
            // Draining: the pump closes the connection once nghttp2 has written everything.
            return count == 1 ? .becameIdle(armIdleTimer: false) : .none
        default:
            return .none
        }
    }

    // MARK: Timers and shutdown

    enum Action: Equatable {
        /// GOAWAY NO_ERROR naming the last processed stream, then keep serving the open ones (docs/PROTOCOL.md §4).
        case sendGoAway
        /// Close the channel now.
        case close
        /// Write what nghttp2 queued (e.g. its GOAWAY after a protocol error), then close.
        case flushAndClose
        /// End every stream (UNAVAILABLE, or RST_STREAM CANCEL when bytes are queued), flush, then close.
        case forceCloseStreams
        case none
    }

    /// The handshake timer fired: a peer that stays silent would hold a descriptor forever.
    mutating func handshakeTimerFired() -> Action {
        guard state == .awaitingFirstRequest else { return .none }
        state = .closing
        return .close
    }

    /// The idle timer fired; streams may have opened since it was armed.
    mutating func idleTimerFired() -> Action {
        idleTimerArmed = false
        guard state == .active(openStreams: 0) else { return .none }
        state = .draining(openStreams: 0)
        return .sendGoAway
    }

    /// `GRPCServer.shutdown()` began: GOAWAY first so proxies reconnect elsewhere (docs/PROTOCOL.md §4 Shutdown).
    mutating func gracefulShutdown() -> Action {
        switch state {
        case .awaitingFirstRequest:
            state = .draining(openStreams: 0)
            return .sendGoAway
        case .active(let count):
            state = .draining(openStreams: count)
            return .sendGoAway
        case .draining, .closing, .closed:
            return .none
        }
    }

    /// The shutdown grace period is over.
    mutating func forcedShutdown() -> Action {
        switch state {
        case .awaitingFirstRequest, .active, .draining:
            state = .closing
            return .forceCloseStreams
        case .closing, .closed:
            return .none
        }
    }

    /// nghttp2 rejected the input (not HTTP/2, or a connection error); it may have queued a GOAWAY.
    mutating func protocolError() -> Action {
        guard acceptsInput else { return .none }
        state = .closing
        return .flushAndClose
    }

    /// The channel failed (I/O error) or the session could not be created or written.
    mutating func channelFailed() -> Action {
        guard state != .closed else { return .none }
        state = .closing
        return .close
    }

    /// The channel went inactive: every stream is gone.
    mutating func channelClosed() {
        state = .closed
        idleTimerArmed = false
        readHeld = false
    }

    // MARK: Output and read pressure

    /// Someone queued frames; true when a pump must be scheduled (at most one per tick).
    mutating func flushRequested() -> Bool {
        guard !flushScheduled, state != .closed else { return false }
        flushScheduled = true
        return true
    }

    /// The scheduled pump runs now.
    mutating func flushRan() {
        flushScheduled = false
    }

    /// The pipeline asks for more input. `canRead` is false while the socket is backed up or nghttp2 holds too many
    /// unsent frames: the read is held, so a peer that does not read cannot make us buffer without bound.
    mutating func readRequested(canRead: Bool) -> Bool {
        if canRead { return true }
        readHeld = true
        return false
    }

    struct PumpActions: Equatable {
        /// Issue the read held back earlier.
        var resumeRead = false
        /// Nothing more will be written or read: flush and close.
        var closeAfterFlush = false
    }

    /// nghttp2's output was written. `sessionWantsRead`/`sessionWantsWrite` are nghttp2's view of the session.
    mutating func outputPumped(canRead: Bool, sessionWantsRead: Bool, sessionWantsWrite: Bool) -> PumpActions {
        var actions = PumpActions()
        guard acceptsInput else { return actions }
        if readHeld && canRead {
            readHeld = false
            actions.resumeRead = true
        }
        if !sessionWantsRead && !sessionWantsWrite {
            // nghttp2 is done with this connection (e.g. it sent GOAWAY after a protocol error).
            state = .closing
            actions.closeAfterFlush = true
        } else if state == .draining(openStreams: 0) && !sessionWantsWrite {
            state = .closing
            actions.closeAfterFlush = true
        }
        return actions
    }
}
