import Foundation
import TestSupport
import Testing

@testable import Admin

/// The bearer token of an admin bound beyond loopback (`serve --admin-token-file`).
@Suite struct AdminTokenTests {
    static let secret = "s3cr3t-admin-token-0123456789"

    @Test func tokenRules() throws {
        let token = try #require(AdminToken("  \(Self.secret)\n"))
        #expect(token.accepts("Bearer \(Self.secret)"))
        #expect(token.accepts("bearer \(Self.secret)"))
        #expect(!token.accepts(nil))
        #expect(!token.accepts(Self.secret))
        #expect(!token.accepts("Basic \(Self.secret)"))
        #expect(!token.accepts("Bearer \(Self.secret)x"))
        #expect(!token.accepts("Bearer \(Self.secret.dropLast())"))
        #expect(!token.accepts("Bearer "))
        // Too short to protect anything, or not a header value.
        #expect(AdminToken("short") == nil)
        #expect(AdminToken("has a space in the middle of it") == nil)
        #expect(AdminToken("") == nil)
    }

    @Test func constantTimeComparisonIsStillExact() {
        #expect(AdminToken.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!AdminToken.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!AdminToken.constantTimeEqual(Array("abc".utf8), Array("abcabc".utf8)))
        #expect(!AdminToken.constantTimeEqual([], Array("a".utf8)))
        // Lengths that differ by a multiple of 256 must not look equal.
        #expect(!AdminToken.constantTimeEqual([], [UInt8](repeating: 0, count: 256)))
    }

    @Test func everyPageNeedsTheTokenAndTheSnapshotShowsNoKey() async throws {
        var limits = AdminLimits()
        limits.token = AdminToken(Self.secret)
        try await withAdminServer(limits: limits) { _, port in
            let client = try await XDSRawConnection.admin(port)
            for path in ["/snapshot", "/clients", "/metrics", "/status"] {
                let reply = try #require(try await client.get(path))
                #expect(reply.status == 401, "\(path)")
                #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                #expect(!reply.body.contains("example.test"))
            }
            await client.close()
            let authorized = try await XDSRawConnection.admin(port)
            try await authorized.send(
                "GET /snapshot HTTP/1.1\r\nhost: test\r\nauthorization: Bearer \(Self.secret)\r\n\r\n")
            var reply: AdminReply?
            _ = await xdsEventually(.seconds(10)) {
                reply = AdminReply.parse(authorized.received)
                return reply != nil
            }
            let page = try #require(reply)
            #expect(page.status == 200)
            #expect(page.body.contains("example.test"))
            #expect(!page.body.contains("PRIVATE KEY"))
            await authorized.close()
        }
    }
}
