import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Snapshot
import Synchronization
import XDS

/// The admin HTTP/1.1 endpoint: read-only JSON views of the snapshot, the proxies and the last load.
public final class AdminServer: Sendable {
    private let pages: AdminPages
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = Mutex<(any Channel)?>(nil)

    public init(store: SnapshotStore, registry: StreamRegistry, groupGuard: GroupGuard? = nil,
                group: any EventLoopGroup, logger: Logger) {
        self.pages = AdminPages(store: store, registry: registry, groupGuard: groupGuard)
        self.group = group
        self.logger = logger
    }

    /// Binds and returns the port (0 picks a free one).
    public func start(host: String, port: Int) async throws -> Int {
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.configureChildPipeline(channel) }
            }
            .bind(host: host, port: port).get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? port
    }

    /// Sets up an accepted connection's pipeline (HTTP/1.1 server codec + the admin pages); on its event loop.
    /// Public so the admin fuzz target can drive exactly what a real connection runs on an `EmbeddedChannel`.
    public func configureChildPipeline(_ channel: any Channel) throws {
        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
        try channel.pipeline.syncOperations.addHandler(AdminHandler(pages: pages))
    }

    public func shutdown() async {
        let bound = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
    }
}

final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let pages: AdminPages
    private var request: HTTPRequestHead?

    init(pages: AdminPages) {
        self.pages = pages
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let page = head.method == .GET || head.method == .HEAD
                ? pages.page(for: head.uri)
                : AdminPage(status: .methodNotAllowed, contentType: "text/plain", body: "only GET\n")
            respond(context: context, head: head, page: page)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, page: AdminPage) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: page.contentType)
        headers.add(name: "content-length", value: String(page.body.utf8.count))
        headers.add(name: "cache-control", value: "no-store")
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        let responseHead = HTTPResponseHead(version: head.version, status: page.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: page.body.utf8.count)
            buffer.writeString(page.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension AdminHandler: Sendable {}
