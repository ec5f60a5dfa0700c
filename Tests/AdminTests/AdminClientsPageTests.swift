import Foundation
import NIOCore
import Snapshot
import TestSupport
import Testing

@testable import Admin
@testable import XDS

/// `/clients` filters and paging, and the summary behind `/clients` and `/metrics`.
@Suite struct AdminClientsPageTests {
    /// 250 streams: nodes n-0…n-249, groups a/b alternating, every 5th NACKed, every 3rd (else) awaiting an ACK.
    func registry() -> StreamRegistry {
        let registry = StreamRegistry()
        for i in 0..<250 {
            var info = StreamInfo(
                id: UInt64(i + 1), nodeID: "n-\(i)", group: i % 2 == 0 ? "a" : "b", kind: "ads",
                peer: nil, userAgent: "", connectedAt: Date())
            var listener = StreamInfo.TypeInfo()
            listener.sentVersion = "v2"
            listener.ackedVersion = "v2"
            if i % 5 == 0 {
                listener.ackedVersion = "v1"
                listener.nackedVersion = "v2"
                listener.nackMessage = "no"
            } else if i % 3 == 0 {
                listener.ackedVersion = "v1"
            }
            info.types[.listener] = listener
            registry.upsert(info)
        }
        return registry
    }

    func pages(_ registry: StreamRegistry, maxAge: TimeAmount = .seconds(1), freshUpTo: Int = 1000) -> AdminPages {
        AdminPages(
            store: SnapshotStore(), registry: registry, groupGuard: nil, summaryMaxAge: maxAge,
            summaryFreshUpTo: freshUpTo)
    }

    func nodes(_ page: AdminPage) throws -> [String] {
        let list = try #require(try JSONSerialization.jsonObject(with: Data(page.body.utf8)) as? [[String: Any]])
        return list.map { $0["node_id"] as? String ?? "?" }
    }

    func header(_ page: AdminPage, _ name: String) -> String? {
        page.headers.first { $0.0 == name }?.1
    }

    @Test func defaultPageIsTheFirstHundredWithTheTotal() throws {
        let admin = pages(registry())
        let page = admin.page(for: "/clients")
        #expect(page.status == .ok)
        #expect(try nodes(page) == (0..<100).map { "n-\($0)" })
        #expect(header(page, "x-total-count") == "250")
        #expect(header(page, "x-offset") == "0")
        #expect(header(page, "x-limit") == "100")
        #expect(header(page, "link") == "</clients?offset=100>; rel=\"next\"")
    }

    @Test func pagingWalksEveryStreamOnce() throws {
        let admin = pages(registry())
        var seen: [String] = []
        var next: String? = "/clients?limit=70"
        while let uri = next {
            let page = admin.page(for: uri)
            seen += try nodes(page)
            next = header(page, "link").map { String($0.dropFirst().prefix { $0 != ">" }) }
        }
        #expect(seen == (0..<250).map { "n-\($0)" })
        let last = admin.page(for: "/clients?offset=240&limit=70")
        #expect(try nodes(last).count == 10)
        #expect(header(last, "link") == nil)
        #expect(try nodes(admin.page(for: "/clients?offset=1000")).isEmpty)
    }

    @Test func filtersCombineAndCountTheirTotal() throws {
        let admin = pages(registry())
        let nacked = admin.page(for: "/clients?status=nacked&limit=1000")
        #expect(header(nacked, "x-total-count") == "50")
        #expect(try nodes(nacked) == stride(from: 0, to: 250, by: 5).map { "n-\($0)" })

        let staleInB = admin.page(for: "/clients?group=b&status=stale&limit=1000")
        let expected = (0..<250).filter { $0 % 2 == 1 && $0 % 5 != 0 && $0 % 3 == 0 }.map { "n-\($0)" }
        #expect(try nodes(staleInB) == expected)
        #expect(header(staleInB, "x-total-count") == String(expected.count))

        let synced = admin.page(for: "/clients?status=synced&limit=1")
        #expect(header(synced, "x-total-count") == String((0..<250).filter { $0 % 5 != 0 && $0 % 3 != 0 }.count))

        let one = admin.page(for: "/clients?node=n-42")
        #expect(try nodes(one) == ["n-42"])
        #expect(header(one, "x-total-count") == "1")
        #expect(try nodes(admin.page(for: "/clients?node=n%2D42")) == ["n-42"])
        #expect(try nodes(admin.page(for: "/clients?node=nobody")).isEmpty)
    }

    @Test func badQueriesAreClearErrorsAndBigLimitsAreCapped() throws {
        let admin = pages(registry())
        for (uri, words) in [
            ("/clients?status=happy", "status must be"), ("/clients?limit=0", "limit must be"),
            ("/clients?limit=x", "limit must be"), ("/clients?offset=-1", "offset must be"),
            ("/clients?nod=n-1", "unknown parameter nod"),
        ] {
            let page = admin.page(for: uri)
            #expect(page.status == .badRequest, "\(uri)")
            #expect(page.body.contains(words), "\(uri): \(page.body)")
        }
        let capped = admin.page(for: "/clients?limit=5000")
        #expect(header(capped, "x-limit") == "1000")
        #expect(try nodes(capped).count == 250)
    }

    @Test func summaryIsReusedWithinItsMaxAgeAndRebuiltAfterAChange() throws {
        let registry = registry()
        let cached = pages(registry, maxAge: .hours(1), freshUpTo: 100)
        let fresh = pages(registry, maxAge: .zero, freshUpTo: 100)
        let small = pages(registry, maxAge: .hours(1), freshUpTo: 1000)
        #expect(header(small.page(for: "/clients"), "x-total-count") == "250")
        #expect(header(cached.page(for: "/clients"), "x-total-count") == "250")
        #expect(header(fresh.page(for: "/clients"), "x-total-count") == "250")
        registry.remove(1)
        // Within max age the cached copy answers, even though the registry changed.
        #expect(header(cached.page(for: "/clients"), "x-total-count") == "250")
        #expect(PrometheusText(cached.page(for: "/metrics").body).sum("chancery_streams", ["kind": "ads"]) == 250)
        #expect(header(fresh.page(for: "/clients"), "x-total-count") == "249")
        // Few streams: always as they are now, whatever the max age.
        #expect(header(small.page(for: "/clients"), "x-total-count") == "249")
        let metrics = PrometheusText(fresh.page(for: "/metrics").body)
        #expect(metrics.sum("chancery_streams", ["kind": "ads"]) == 249)
        // By group too: stream 1 (n-0) was in group a.
        #expect(metrics.value("chancery_streams", ["kind": "ads", "group": "a"]) == 124)
        #expect(metrics.value("chancery_streams", ["kind": "ads", "group": "b"]) == 125)
    }

    @Test func hostileNodeIdsRoundTripAsJSON() throws {
        let registry = StreamRegistry()
        let odd = "a\"b\\c\n\u{1}é</script>"
        var info = StreamInfo(
            id: 1, nodeID: odd, group: "g", kind: "ads", peer: "[::1]:5", userAgent: "x\ty",
            connectedAt: Date())
        var state = StreamInfo.TypeInfo()
        state.subscribed = ["n\"1"]
        state.subscribedCount = 1
        state.nackedVersion = "v"
        state.nackMessage = "bad \"thing\"\n"
        state.nackAt = Date()
        info.types[.cluster] = state
        registry.upsert(info)
        let body = pages(registry).page(for: "/clients").body
        let list = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])
        #expect(list.first?["node_id"] as? String == odd)
        #expect(list.first?["stream_id"] as? Int == 1)
        let cluster = try #require((list.first?["types"] as? [String: Any])?["cluster"] as? [String: Any])
        #expect(cluster["subscribed"] as? [String] == ["n\"1"])
        #expect(cluster["wildcard"] as? Bool == false)
        #expect((cluster["last_nack"] as? [String: Any])?["message"] as? String == "bad \"thing\"\n")
    }

    @Test func statusFollowsAcksAndNacks() {
        var info = StreamInfo(
            id: 1, nodeID: "n", group: "g", kind: "ads", peer: nil, userAgent: "", connectedAt: Date())
        #expect(StreamStatus(info) == .stale)
        var state = StreamInfo.TypeInfo()
        state.sentVersion = "v1"
        info.types[.cluster] = state
        #expect(StreamStatus(info) == .stale)
        state.ackedVersion = "v1"
        info.types[.cluster] = state
        #expect(StreamStatus(info) == .synced)
        state.sentVersion = "v2"
        state.nackedVersion = "v2"
        info.types[.cluster] = state
        #expect(StreamStatus(info) == .nacked)
        // A later version accepted: the old NACK stays on record but the stream is in sync again.
        state.sentVersion = "v3"
        state.ackedVersion = "v3"
        info.types[.cluster] = state
        #expect(StreamStatus(info) == .synced)
    }
}
