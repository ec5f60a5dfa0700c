import Foundation
import Pipeline
import Snapshot
import TestSupport
import Testing

@testable import Admin
@testable import XDS

/// The admin web page: the fleet, snapshot, history, load and certificate sections, and that nothing a proxy sends
/// becomes markup.
@Suite struct AdminWebPageTests {
    func pages() throws -> (AdminPages, SnapshotStore, StreamRegistry) {
        let store = SnapshotStore()
        let dir = "\(FixturePaths.fixtures)/example-site"
        let result = try Loader.load(configPath: "\(dir)/routes.yaml", certsPath: "\(dir)/certs")
        store.publish(result.snapshot)
        store.certificates.update(with: result)
        let registry = StreamRegistry()
        return (AdminPages(store: store, registry: registry, groupGuard: GroupGuard()), store, registry)
    }

    func stream(_ id: UInt64, node: String, nack: String? = nil) -> StreamInfo {
        var info = StreamInfo(
            id: id, nodeID: node, group: "default", kind: "ads", peer: "127.0.0.1:5000", userAgent: "envoy",
            connectedAt: Date())
        var listener = StreamInfo.TypeInfo()
        listener.sentVersion = "b"
        listener.ackedVersion = nack == nil ? "b" : "a"
        if let nack {
            listener.nackedVersion = "b"
            listener.nackMessage = nack
        }
        info.types[.listener] = listener
        return info
    }

    @Test func hostileNodeIdsAndNackMessagesAreEscaped() throws {
        let (admin, _, registry) = try pages()
        registry.upsert(stream(1, node: "<script>alert(1)</script>", nack: "bad & <b>bold</b> \"quoted\" 'single'"))
        let page = admin.page(for: "/")
        #expect(page.status == .ok)
        #expect(page.contentType == "text/html; charset=utf-8")
        #expect(!page.body.contains("<script>"))
        #expect(!page.body.contains("<b>bold"))
        #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.body.contains("bad &amp; &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot; &#39;single&#39;"))
        #expect(page.body.contains("<td class=\"nacked\">NACKED"))
    }

    @Test func pageCarriesAStrictPolicyAndNoScript() throws {
        let (admin, _, _) = try pages()
        let page = admin.page(for: "/")
        let policy = try #require(page.headers.first { $0.0 == "content-security-policy" }?.1)
        #expect(policy.contains("default-src 'none'"))
        #expect(!policy.contains("unsafe-inline"))
        #expect(!page.body.contains("<script"))
        #expect(!page.body.contains("http://") && !page.body.contains("https://"))  // no external resources
        #expect(admin.page(for: "/ui/style.css").contentType.hasPrefix("text/css"))
    }

    @Test func everySectionIsThere() throws {
        let (admin, store, registry) = try pages()
        registry.upsert(stream(1, node: "edge-1"))
        let body = admin.page(for: "/").body
        for anchor in ["load", "fleet", "snapshot", "history", "certificates"] {
            #expect(body.contains("<section id=\"\(anchor)\">"))
        }
        #expect(body.contains("<td class=\"mono node\">edge-1</td>"))
        #expect(body.contains("<td class=\"synced\">SYNCED</td>"))
        #expect(body.contains("href=\"/ui/snapshot?group=default&amp;type=cluster\""))
        #expect(body.contains(store.current.version))
        #expect(body.contains("<span class=\"ok\">ok</span>"))
        #expect(body.contains("<table class=\"certificates\">"))
        #expect(body.contains("<td>example.test</td>"))
    }

    @Test func fleetPagesLikeClients() throws {
        let (admin, _, registry) = try pages()
        for id in 1...5 { registry.upsert(stream(UInt64(id), node: "node-\(id)")) }
        let first = admin.page(for: "/?limit=2").body
        #expect(first.contains("node-1") && first.contains("node-2") && !first.contains("node-3"))
        #expect(first.contains("streams 1–2 of 5"))
        #expect(first.contains("href=\"/?limit=2&amp;offset=2#fleet\""))
        let second = admin.page(for: "/?limit=2&offset=2").body
        #expect(second.contains("node-3") && !second.contains("node-2<"))
        #expect(second.contains("previous"))
        // The filter form's empty fields mean "any".
        let filtered = admin.page(for: "/?node=node-4&group=&status=").body
        #expect(filtered.contains("node-4") && !filtered.contains("node-1<"))
        #expect(admin.page(for: "/?status=sideways").status == .badRequest)
        #expect(admin.page(for: "/?refresh=1").status == .badRequest)
        #expect(admin.page(for: "/?refresh=5").body.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
    }

    @Test func snapshotViewRendersOneTypeRedacted() throws {
        let (admin, _, _) = try pages()
        let clusters = admin.page(for: "/ui/snapshot?group=default&type=clusters")
        #expect(clusters.status == .ok)
        #expect(clusters.body.contains("&quot;name&quot;"))
        #expect(clusters.body.contains("<strong>cluster</strong>"))
        let secrets = admin.page(for: "/ui/snapshot?group=default&type=secret")
        #expect(secrets.body.contains("[redacted]"))
        #expect(!secrets.body.contains("PRIVATE KEY"))
        let missing = admin.page(for: "/ui/snapshot?group=%3Cb%3Enope&type=cluster")
        #expect(missing.status == .notFound)
        #expect(missing.body.contains("&lt;b&gt;nope") && !missing.body.contains("<b>nope"))
        #expect(admin.page(for: "/ui/snapshot?group=default&type=widgets").status == .badRequest)
        #expect(admin.page(for: "/ui/snapshot?group=default").status == .badRequest)
    }

    @Test func historyShowsChanges() throws {
        let (admin, store, _) = try pages()
        let body = admin.page(for: "/").body
        let entry = try #require(store.history.last)
        let key = try #require(entry.changes.keys.sorted().first)
        #expect(body.contains("<div>\(key): "))
    }

    @Test func jsonEndpointsAreUnchanged() throws {
        let (admin, _, registry) = try pages()
        registry.upsert(stream(1, node: "edge-1"))
        #expect(admin.page(for: "/clients").contentType == "application/json")
        #expect(admin.page(for: "/status").contentType == "application/json")
        #expect(admin.page(for: "/history").contentType == "application/json")
    }

    @Test func sentTimeIsKeptUntilTheVersionChanges() throws {
        let first = Date(timeIntervalSince1970: 1000)
        var sent = StreamInfo.TypeInfo()
        sent.sentVersion = "v1"
        sent.stampSent(previous: nil, now: first)
        var acked = sent
        acked.ackedVersion = "v1"
        acked.sentAt = nil
        acked.stampSent(previous: sent, now: Date(timeIntervalSince1970: 2000))
        #expect(acked.sentAt == first)  // the ACK does not make the push younger
        var next = acked
        next.sentVersion = "v2"
        next.stampSent(previous: acked, now: Date(timeIntervalSince1970: 3000))
        #expect(next.sentAt == Date(timeIntervalSince1970: 3000))

        let (admin, _, registry) = try pages()
        var info = stream(1, node: "edge-1")
        info.types[.listener]?.sentAt = first
        registry.upsert(info)
        #expect(admin.page(for: "/clients").body.contains("\"sent_at\": \"1970-01-01T00:16:40Z\""))
    }
}
