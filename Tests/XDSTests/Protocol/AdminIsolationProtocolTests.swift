import Admin
import NIOCore
import TestSupport
import Testing
import XDS

/// The admin endpoint cannot hurt xDS: an abused admin (a pipelining client that never reads, slow-header clients,
/// one over the connection cap) runs on its own loop while a fresh proxy is served.
@Suite struct AdminIsolationProtocolTests {
    static let pipelined = 2000

    @Test func xdsIsServedWhileTheAdminIsAbused() async throws {
        try await withXDSServer { h in
            var limits = AdminLimits()
            limits.maxConnections = 16
            try await withAdminServer(limits: limits, registry: h.xds.registry, store: h.store) { admin, port in
                // The admin's loop is none of the xDS loops.
                let adminLoop = try #require(admin.eventLoop)
                var xdsLoops: [any EventLoop] = []
                for loop in xdsTestGroup.makeIterator() { xdsLoops.append(loop) }
                #expect(!xdsLoops.contains { $0 === adminLoop })
                #expect(!adminLoop.inEventLoop)

                let hog = try await XDSRawConnection.admin(port, autoRead: false)
                hog.channel.writeAndFlush(
                    ByteBuffer(
                        string: String(
                            repeating: "GET /snapshot HTTP/1.1\r\nhost: t\r\n\r\n", count: Self.pipelined)),
                    promise: nil)
                var slow: [XDSRawConnection] = []
                for _ in 0..<15 {
                    let client = try await XDSRawConnection.admin(port)
                    try await client.send("GET /clients HTTP/1.1\r\nx-a: ")
                    slow.append(client)
                }
                // One more than the cap: refused, xDS unaffected.
                let extra = try await XDSRawConnection.admin(port)
                #expect(await extra.closes(within: .seconds(10)))

                try await h.expectServesFreshClient()
                let stream = try await h.open()
                try await stream.send(.sotw(.listener, node: .default))
                _ = try await stream.response()
                #expect(await xdsEventually(.seconds(10)) { h.xds.registry.count >= 1 })

                for client in slow + [hog, extra] { await client.close() }
                #expect(await xdsEventually(.seconds(10)) { admin.stats.openConnections == 0 })
                let probe = try await XDSRawConnection.admin(port)
                let clients = try #require(try await probe.get("/clients"))
                #expect(clients.status == 200)
                #expect(Int(clients.headers["x-total-count"] ?? "") ?? 0 >= 1)
                await probe.close()
            }
            await h.expectNoLeaks()
        }
    }
}
