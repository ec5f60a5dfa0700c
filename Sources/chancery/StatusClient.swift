import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One reply from the admin endpoint.
struct AdminReply: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// Why the admin endpoint could not be asked: `chancery status` exits 2 with this message.
struct AdminUnreachable: Error, CustomStringConvertible {
    let description: String
}

/// A minimal HTTP/1.1 GET client for the admin endpoint (one request per connection), on SwiftNIO like the server:
/// no URL session, no C. Every request is bounded in time and in the size of the reply.
struct AdminClient: Sendable {
    let host: String
    let port: Int
    /// Sent as `Authorization: Bearer …` when the server requires `--admin-token-file`.
    let token: String?
    var timeout: TimeAmount = .seconds(10)
    /// A `/clients` page of 1000 streams is well under this.
    var maxBodyBytes = 64 << 20

    var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    func get(_ path: String) async throws -> AdminReply {
        var headers = HTTPHeaders()
        headers.add(name: "host", value: address)
        headers.add(name: "accept", value: "application/json")
        headers.add(name: "connection", value: "close")
        if let token { headers.add(name: "authorization", value: "Bearer \(token)") }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: AdminReply.self)
        let maxBody = maxBodyBytes
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            ReplyCollector(request: head, promise: promise, maxBodyBytes: maxBody))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw AdminUnreachable(description: "cannot reach the admin endpoint at \(address): \(Self.reason(error))")
        }
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(AdminUnreachable(description: "the admin endpoint at \(address) did not answer in time"))
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        do {
            return try await promise.futureResult.get()
        } catch let error as AdminUnreachable {
            throw error
        } catch {
            throw AdminUnreachable(description: "the admin endpoint at \(address) failed: \(error)")
        }
    }
}

extension AdminClient {
    /// A connection failure in a few words: NIO's own description nests every attempt and the errno.
    static func reason(_ error: any Error) -> String {
        let failure = (error as? NIOConnectionError)?.connectionErrors.first?.error ?? error
        if let io = failure as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection refused (is `chancery serve` running with this --admin?)"
            case ETIMEDOUT: return "timed out"
            case EHOSTUNREACH, ENETUNREACH: return "no route to host"
            default: return io.description
            }
        }
        if let channel = failure as? ChannelError, case .connectTimeout = channel { return "connect timed out" }
        if error is NIOConnectionError { return "no address could be connected" }
        return "\(failure)"
    }
}

/// Sends the request once connected and collects the reply; whatever ends the connection first completes it.
private final class ReplyCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let promise: EventLoopPromise<AdminReply>
    private let maxBodyBytes: Int
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var done = false

    init(request: HTTPRequestHead, promise: EventLoopPromise<AdminReply>, maxBodyBytes: Int) {
        self.request = request
        self.promise = promise
        self.maxBodyBytes = maxBodyBytes
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
        case .body(var chunk):
            guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                finish(
                    context, .failure(AdminUnreachable(description: "the admin reply is over \(maxBodyBytes) bytes")))
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            if let head {
                finish(context, .success(AdminReply(status: head.status, headers: head.headers, body: body)))
            } else {
                finish(context, .failure(AdminUnreachable(description: "the admin endpoint sent no reply head")))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(AdminUnreachable(description: "the admin endpoint closed the connection early")))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context, .failure(error))
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<AdminReply, any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ReplyCollector: Sendable {}
