import Foundation
import NIOCore
import Snapshot
import TestSupport
import Testing

@testable import Admin
@testable import XDS

/// The admin endpoint over real loopback sockets: what an abusive client can make the server hold. (That xDS is
/// served meanwhile: `XDSTests/Protocol/AdminIsolationProtocolTests.swift`.)
@Suite struct AdminLimitsTests {
    static let pipelined = 2000

    /// Waits until the server holds a reply it cannot write and has stopped answering (bounded).
    private func waitForStall(_ server: AdminServer) async -> Bool {
        var last = -1
        var steady = 0
        return await xdsEventually(.seconds(20)) {
            let stats = server.stats
            steady = stats.responses == last && stats.outstandingBytes > 0 ? steady + 1 : 0
            last = stats.responses
            return steady >= 40
        }
    }

    @Test func pipeliningClientThatNeverReadsHoldsAtMostOneReply() async throws {
        try await withAdminServer { server, port in
            let probe = try await XDSRawConnection.admin(port)
            let page = try #require(try await probe.get("/snapshot"))
            #expect(page.status == 200)
            let pageBytes = page.body.utf8.count
            await probe.close()

            let client = try await XDSRawConnection.admin(port, autoRead: false)
            let request = "GET /snapshot HTTP/1.1\r\nhost: test\r\n\r\n"
            client.channel.writeAndFlush(
                ByteBuffer(string: String(repeating: request, count: Self.pipelined)),
                promise: nil)
            #expect(await waitForStall(server), "the server never stalled on the non-reading client")
            let stalled = server.stats
            // Held open with one reply pending, not dropped: the bound comes from not reading, not from closing.
            #expect(client.channel.isActive)
            #expect(stalled.refusedRequests == 0)
            #expect(stalled.openConnections == 1)
            // Without the bound every parsed request is answered into the outbound buffer at once.
            #expect(stalled.responses < Self.pipelined)
            #expect(stalled.outstandingBytes <= pageBytes)
            #expect(stalled.peakConnectionOutstandingBytes <= pageBytes)
            #expect(stalled.peakQueuedRequests <= AdminLimits().maxPipelinedRequests)

            await client.close()
            #expect(
                await xdsEventually(.seconds(10)) {
                    server.stats.openConnections == 0 && server.stats.outstandingBytes == 0
                }, "\(server.stats)")
            // The endpoint still answers.
            let after = try await XDSRawConnection.admin(port)
            #expect(try await after.get("/healthz")?.status == 200)
            await after.close()
        }
    }

    @Test func headSentByteByByteIsClosedAfterTheHeaderTimeout() async throws {
        var limits = AdminLimits()
        limits.headerTimeout = .milliseconds(300)
        limits.idleTimeout = .seconds(60)
        try await withAdminServer(limits: limits) { server, port in
            let client = try await XDSRawConnection.admin(port)
            let head = Array("GET /healthz HTTP/1.1\r\nx-slow: " + String(repeating: "a", count: 500))
            var sent = 0
            // Every byte arrives well within the idle timeout; only the header timeout can end this.
            while client.channel.isActive && sent < head.count {
                try? await client.send(String(head[sent]))
                sent += 1
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(await client.closes(within: .seconds(10)))
            #expect(sent < head.count)
            #expect(server.stats.headerTimeouts == 1)
            #expect(server.stats.idleTimeouts == 0)
            #expect(client.received.isEmpty)
        }
    }

    @Test func silentConnectionIsClosedAfterTheHeaderTimeout() async throws {
        var limits = AdminLimits()
        limits.headerTimeout = .milliseconds(200)
        try await withAdminServer(limits: limits) { server, port in
            let client = try await XDSRawConnection.admin(port)
            #expect(await client.closes(within: .seconds(10)))
            #expect(server.stats.headerTimeouts == 1)
        }
    }

    @Test func idleKeepAliveConnectionIsClosedByTheIdleTimeoutNotTheHeaderTimeout() async throws {
        var limits = AdminLimits()
        // Long enough that the request surely gets sent in time on a loaded machine, shorter than the idle timeout.
        // (A fully loaded 2-core machine once took more than 2 s to get the request out.)
        limits.headerTimeout = .seconds(6)
        limits.idleTimeout = .seconds(9)
        try await withAdminServer(limits: limits) { server, port in
            let client = try await XDSRawConnection.admin(port)
            #expect(try await client.get("/healthz")?.status == 200)
            #expect(await client.closes(within: .seconds(30)))
            #expect(server.stats.idleTimeouts == 1)
            #expect(server.stats.headerTimeouts == 0)
        }
    }

    @Test func connectionCapHolds() async throws {
        var limits = AdminLimits()
        limits.maxConnections = 4
        try await withAdminServer(limits: limits) { server, port in
            var open: [XDSRawConnection] = []
            for _ in 0..<4 {
                let client = try await XDSRawConnection.admin(port)
                #expect(try await client.get("/healthz")?.status == 200)
                open.append(client)
            }
            #expect(server.stats.openConnections == 4)
            let over = try await XDSRawConnection.admin(port)
            #expect(await over.closes(within: .seconds(10)))
            #expect(AdminReply.parse(over.received)?.status == 503)
            #expect(server.stats.rejectedConnections == 1)
            #expect(server.stats.openConnections == 4)

            await open.removeFirst().close()
            #expect(await xdsEventually(.seconds(10)) { server.stats.openConnections == 3 })
            let next = try await XDSRawConnection.admin(port)
            #expect(try await next.get("/healthz")?.status == 200)
            for client in open + [next] { await client.close() }
        }
    }

    @Test func oversizedHeadAndBodiesAreRefused() async throws {
        try await withAdminServer { server, port in
            let big = try await XDSRawConnection.admin(port)
            try await big.send("GET /healthz HTTP/1.1\r\nx-big: \(String(repeating: "b", count: 20_000))\r\n\r\n")
            #expect(await big.closes(within: .seconds(10)))
            #expect(AdminReply.parse(big.received)?.status == 431)

            let body = try await XDSRawConnection.admin(port)
            try await body.send(
                "POST /healthz HTTP/1.1\r\ncontent-length: 100000\r\n\r\n"
                    + String(repeating: "x", count: 8192))
            #expect(await body.closes(within: .seconds(10)))
            #expect(AdminReply.parse(body.received)?.status == 413)
            #expect(server.stats.refusedRequests == 2)
        }
    }
}
