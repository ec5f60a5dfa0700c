/// The life of one server-side gRPC stream, as a value: events in, actions out.
///
/// It does no I/O and holds no references. `GRPCServerStream` feeds it what nghttp2 and the service report and
/// carries out what it answers (deliver a message, submit headers, submit trailers, reset, notify the handler).
/// An event that does not fit the current state is never a trap: it is ignored and the returned action says why,
/// or it becomes a gRPC error for this stream only.
///
///     idle ──accept──▶ open(inbound, response) ──finish──▶ finishing(trailers) ──drained──▶ done
///       │                   │ └────────finish before any response / deadline / reset──────────▶ done
///       └──finish (Trailers-Only)──────────────────────────────────────────────────────────────▶ done
///     any ──closed──▶ closed
struct StreamStateMachine {
    /// Whether the client may still send request messages.
    enum Inbound: Equatable {
        /// No END_STREAM from the client yet.
        case open
        /// The client sent END_STREAM (on HEADERS or DATA).
        case closed
    }

    /// How far the response got.
    enum Response: Equatable {
        /// No HEADERS sent: an error can still go out as one Trailers-Only HEADERS frame (docs/PROTOCOL.md §4).
        case notStarted
        /// `:status 200` submitted with a body; DATA is pulled from the stream's queue.
        case streaming
    }

    /// Why the response is over before the stream closed.
    enum Ending: Equatable {
        /// Trailers or Trailers-Only were submitted.
        case trailers
        /// We reset the stream (deadline or forced shutdown with bytes still queued).
        case reset
    }

    enum State: Equatable {
        /// Request headers arrived and are being validated; the service has not seen the stream yet.
        case idle(inbound: Inbound)
        /// The service owns the stream: messages flow both ways.
        case open(inbound: Inbound, response: Response)
        /// `finish` was called while DATA was queued: trailers wait until the queue drains.
        case finishing(inbound: Inbound)
        /// The response is over; waiting for nghttp2 to close the stream.
        case done(inbound: Inbound, ending: Ending)
        /// nghttp2 closed the stream (or the connection went away). Terminal.
        case closed
    }

    private(set) var state: State = .idle(inbound: .open)
    /// Trailers held in `finishing` until the outbound queue is empty.
    private var pendingTrailers: [HeaderField] = []

    /// Whether request messages are still delivered to the handler.
    var deliversInbound: Bool {
        if case .open(.open, _) = state { return true }
        return false
    }

    /// Whether the response is complete (or abandoned): later sends and finishes are dropped.
    var isFinished: Bool {
        switch state {
        case .idle, .open: return false
        case .finishing, .done, .closed: return true
        }
    }

    var isClosed: Bool { state == .closed }

    private var inbound: Inbound? {
        switch state {
        case .idle(let inbound), .open(let inbound, _), .finishing(let inbound), .done(let inbound, _): return inbound
        case .closed: return nil
        }
    }

    // MARK: Events

    /// Why an event changed nothing.
    enum Ignored: Equatable {
        case notOpen
        case alreadyFinished
        case alreadyClosed
    }

    /// The request headers passed validation and the service is about to see the stream.
    mutating func requestAccepted() -> Ignored? {
        guard case .idle(let inbound) = state else { return state == .closed ? .alreadyClosed : .notOpen }
        state = .open(inbound: inbound, response: .notStarted)
        return nil
    }

    enum InboundAction: Equatable {
        /// Append the DATA to the deframer / hand this message to the handler.
        case accept
        /// Drop it: the stream no longer delivers (finished, reset or closed).
        case discard(Ignored)
    }

    /// DATA arrived for this stream.
    func receivedData() -> InboundAction {
        deliversInbound ? .accept : .discard(isClosed ? .alreadyClosed : isFinished ? .alreadyFinished : .notOpen)
    }

    /// The deframer produced a complete message. Checked per message: the handler may finish mid-batch.
    func messageDeframed() -> InboundAction { receivedData() }

    enum EndAction: Equatable {
        /// Tell the handler the client half-closed.
        case deliverEnd
        /// END_STREAM cut a message short: fail the stream with this status.
        case fail(GRPCStatus)
        case ignore(Ignored)
    }

    /// The client sent END_STREAM. Recorded in every state, since it decides whether our trailers need a
    /// following RST_STREAM (docs/PROTOCOL.md §4); a second END_STREAM is nghttp2's protocol error, not ours.
    mutating func receivedEnd(partialMessage: Bool) -> EndAction {
        let deliver = deliversInbound
        switch state {
        case .idle: state = .idle(inbound: .closed)
        case .open(_, let response): state = .open(inbound: .closed, response: response)
        case .finishing: state = .finishing(inbound: .closed)
        case .done(_, let ending): state = .done(inbound: .closed, ending: ending)
        case .closed: return .ignore(.alreadyClosed)
        }
        guard deliver else { return .ignore(isFinished ? .alreadyFinished : .notOpen) }
        if partialMessage {
            return .fail(.internalError("stream ended inside a message (truncated length-prefixed message)"))
        }
        return .deliverEnd
    }

    enum SendAction: Equatable {
        /// First message: submit `:status 200` headers with a body that pulls from the queue.
        case submitHeaders
        /// Headers are out: wake nghttp2's deferred data provider.
        case resumeData
        /// The message is not sent; release its bytes.
        case drop(Ignored)
    }

    /// The service queued a message.
    mutating func sendQueued() -> SendAction {
        switch state {
        case .open(let inbound, .notStarted):
            state = .open(inbound: inbound, response: .streaming)
            return .submitHeaders
        case .open(_, .streaming): return .resumeData
        case .idle: return .drop(.notOpen)
        case .finishing, .done: return .drop(.alreadyFinished)
        case .closed: return .drop(.alreadyClosed)
        }
    }

    enum FinishAction {
        /// No response yet: one HEADERS frame with `:status`, content type and the trailers, END_STREAM set.
        case submitTrailersOnly([HeaderField])
        /// Messages are queued or sent: trailers follow the queue (`outboundDrained` hands them over).
        case resumeData
        case ignore(Ignored)
    }

    /// The service (or the server, for a protocol error) ends the RPC. Idempotent: only the first call counts.
    mutating func finish(httpStatus: String, trailers: [HeaderField]) -> FinishAction {
        switch state {
        case .idle(let inbound), .open(let inbound, .notStarted):
            state = .done(inbound: inbound, ending: .trailers)
            return .submitTrailersOnly([(":status", httpStatus), ("content-type", "application/grpc")] + trailers)
        case .open(let inbound, .streaming):
            state = .finishing(inbound: inbound)
            pendingTrailers = trailers
            return .resumeData
        case .finishing, .done: return .ignore(.alreadyFinished)
        case .closed: return .ignore(.alreadyClosed)
        }
    }

    /// nghttp2's data provider found the queue empty: in `finishing` the trailers go out now.
    mutating func outboundDrained() -> [HeaderField]? {
        guard case .finishing(let inbound) = state else { return nil }
        state = .done(inbound: inbound, ending: .trailers)
        defer { pendingTrailers = [] }
        return pendingTrailers
    }

    enum CancelAction {
        /// Nothing queued: end with this status in trailers (or Trailers-Only).
        case finish(GRPCStatus)
        /// Bytes are part-way out, so trailers would wait behind them: RST_STREAM CANCEL instead.
        case reset
        case ignore(Ignored)
    }

    /// The `grpc-timeout` deadline passed (docs/PROTOCOL.md §4: the stream ends at its deadline).
    mutating func deadlineFired(outboundEmpty: Bool) -> CancelAction {
        cancel(outboundEmpty: outboundEmpty, status: .deadlineExceeded("deadline exceeded"))
    }

    /// The shutdown grace period is over: UNAVAILABLE so the proxy reconnects elsewhere (docs/PROTOCOL.md §4).
    mutating func shutdownForced(outboundEmpty: Bool) -> CancelAction {
        cancel(outboundEmpty: outboundEmpty, status: .unavailable("server is shutting down"))
    }

    private mutating func cancel(outboundEmpty: Bool, status: GRPCStatus) -> CancelAction {
        switch state {
        case .idle, .open:
            if outboundEmpty { return .finish(status) }
            state = .done(inbound: inbound ?? .open, ending: .reset)
            return .reset
        case .finishing(let inbound):
            // Trailers are pending behind queued DATA: they cannot be sent in time.
            state = .done(inbound: inbound, ending: .reset)
            pendingTrailers = []
            return .reset
        case .done: return .ignore(.alreadyFinished)
        case .closed: return .ignore(.alreadyClosed)
        }
    }

    enum SentEndAction: Equatable {
        /// Our END_STREAM went out before the client's: RST_STREAM NO_ERROR tells it to stop sending
        /// (docs/PROTOCOL.md §4, "Trailers sent before the client finished are followed by RST_STREAM NO_ERROR").
        case resetNoError
        case none
    }

    /// nghttp2 sent a frame of ours carrying END_STREAM.
    func sentEndStream() -> SentEndAction {
        inbound == .open ? .resetNoError : .none
    }

    enum CloseAction: Equatable {
        /// Release queued bytes, cancel the deadline, and call the handler's `closed()` (exactly once).
        case notifyHandler
        case ignore(Ignored)
    }

    /// nghttp2 closed the stream (completed, RST_STREAM from either side) or the connection is gone.
    mutating func closed() -> CloseAction {
        guard state != .closed else { return .ignore(.alreadyClosed) }
        state = .closed
        pendingTrailers = []
        return .notifyHandler
    }
}
