import NIOCore
import NIOHTTP1

/// Answers admin requests one at a time. The next request is answered, and the socket read again, only once the
/// current reply is written to the kernel: a client that pipelines requests and never reads holds at most one reply
/// on the server, not one per request.
final class AdminHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let pages: AdminPages
    private let limits: AdminLimits
    private let counters: AdminCounters
    private let state: AdminConnectionState

    /// The request whose head arrived and whose end has not.
    private var receiving: HTTPRequestHead?
    private var bodyBytes = 0
    /// Complete requests waiting for the reply in flight.
    private var queue = CircularBuffer<HTTPRequestHead>()
    private var writing = false
    /// A `read()` held back until the queue drains.
    private var readPending = false
    private var closing = false
    private var outstanding = 0

    init(pages: AdminPages, limits: AdminLimits, counters: AdminCounters, state: AdminConnectionState) {
        self.pages = pages
        self.limits = limits
        self.counters = counters
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            state.awaitingHead = false
            state.cancelHeadTimer()
            receiving = head
            bodyBytes = 0
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if bodyBytes > limits.maxBodyBytes {
                refuse(context: context, status: .payloadTooLarge, "admin requests take no body\n")
            }
        case .end:
            state.awaitingHead = true
            state.sawEndInRead = true
            guard let head = receiving else { return }
            receiving = nil
            queue.append(head)
            let queued = queue.count
            counters.update { $0.peakQueuedRequests = max($0.peakQueuedRequests, queued) }
            if queued > limits.maxPipelinedRequests {
                refuse(context: context, status: .tooManyRequests, "too many pipelined requests\n")
                return
            }
            serveNext(context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if writing || !queue.isEmpty || closing {
            readPending = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            counters.update { $0.idleTimeouts += 1 }
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error as? HTTPParserError {
        case .headerOverflow?:
            refuse(context: context, status: .requestHeaderFieldsTooLarge, "request head too large\n")
        case .some:
            refuse(context: context, status: .badRequest, "malformed request\n")
        case nil:
            context.close(promise: nil)
        }
    }

    /// Answers `status` once (unless a reply is being written) and closes: the rest of the stream is not trusted.
    private func refuse(context: ChannelHandlerContext, status: HTTPResponseStatus, _ message: String) {
        guard !closing else { return }
        closing = true
        queue.removeAll()
        counters.update { $0.refusedRequests += 1 }
        if writing {
            context.close(promise: nil)
            return
        }
        let page = AdminPage(status: status, contentType: "text/plain", body: message)
        write(context: context, page: page, version: .http1_1, keepAlive: false, headOnly: false)
    }

    private func serveNext(context: ChannelHandlerContext) {
        guard !writing, !closing else { return }
        guard let head = queue.popFirst() else {
            if readPending {
                readPending = false
                context.read()
            }
            return
        }
        let page =
            if let token = limits.token, !token.accepts(head.headers.first(name: "authorization")) {
                AdminPage(
                    status: .unauthorized, contentType: "text/plain", body: "a bearer token is required\n",
                    headers: [("www-authenticate", "Bearer realm=\"chancery\"")])
            } else if head.method == .GET || head.method == .HEAD {
                pages.page(for: head.uri)
            } else {
                AdminPage(status: .methodNotAllowed, contentType: "text/plain", body: "only GET\n")
            }
        write(
            context: context, page: page, version: head.version, keepAlive: head.isKeepAlive,
            headOnly: head.method == .HEAD)
    }

    private func write(
        context: ChannelHandlerContext, page: AdminPage, version: HTTPVersion, keepAlive: Bool,
        headOnly: Bool
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: page.contentType)
        headers.add(name: "content-length", value: String(page.body.utf8.count))
        headers.add(name: "cache-control", value: "no-store")
        for (name, value) in page.headers { headers.add(name: name, value: value) }
        let keepAlive = keepAlive && !closing
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: page.status, headers: headers))),
            promise: nil)
        var size = 0
        if !headOnly {
            var buffer = context.channel.allocator.buffer(capacity: page.body.utf8.count)
            buffer.writeString(page.body)
            size = buffer.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        writing = true
        outstanding += size
        let now = outstanding
        counters.update { stats in
            stats.responses += 1
            stats.outstandingBytes += size
            stats.peakConnectionOutstandingBytes = max(stats.peakConnectionOutstandingBytes, now)
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.outstanding -= size
            self.counters.update { $0.outstandingBytes -= size }
            self.writing = false
            if case .failure = result {
                context.close(promise: nil)
            } else if !keepAlive {
                context.close(promise: nil)
            } else {
                self.serveNext(context: context)
            }
        }
    }
}

@available(*, unavailable)
extension AdminHandler: Sendable {}
