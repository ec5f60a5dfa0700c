import Foundation
import Operations
import Testing
import Vocabulary

/// `/clients` JSON → rows → statuses and the exit code of `chancery status`.
@Suite struct FleetRowTests {
    /// Two streams as `/clients` serves them: one synced, one with a rejected listener update.
    static let page = """
        [
          {"connected_at": "2026-11-30T20:00:00Z", "group": "edge", "kind": "ads", "node_id": "envoy-a",
           "peer": "127.0.0.1:4000", "stream_id": 1, "user_agent": "envoy",
           "types": {
             "cluster": {"acked_version": "c1", "sent_at": "2026-11-30T20:00:05Z", "sent_version": "c1",
                         "subscribed": [], "subscribed_count": 0, "wildcard": true},
             "listener": {"acked_version": "l1", "sent_at": "2026-11-30T20:00:10Z", "sent_version": "l1",
                          "subscribed": [], "subscribed_count": 0, "wildcard": true}}},
          {"connected_at": "2026-11-30T20:00:00Z", "group": "edge", "kind": "ads-delta", "node_id": "envoy-b",
           "peer": "127.0.0.1:4001", "stream_id": 2, "user_agent": "envoy",
           "types": {
             "listener": {"acked_version": "l1", "sent_version": "l2", "sent_at": "2026-11-30T20:01:00Z",
                          "last_nack": {"at": "2026-11-30T20:01:01Z", "message": "cannot bind 127.0.0.1:80",
                                        "version": "l2"},
                          "subscribed": [], "subscribed_count": 0, "wildcard": true},
             "route": {"sent_version": "r2", "subscribed": ["www"], "subscribed_count": 1, "wildcard": false},
             "future_type": {"sent_version": "x"}}}
        ]
        """

    @Test func decodesAPageIntoStreams() throws {
        let streams = try ProxyStream.decodePage(Data(Self.page.utf8))
        #expect(streams.map(\.nodeID) == ["envoy-a", "envoy-b"])
        #expect(streams[1].kind == "ads-delta")
        #expect(streams[1].types[.listener]?.nackMessage == "cannot bind 127.0.0.1:80")
        #expect(streams[1].types.count == 2)  // the unknown type is skipped, not an error
        #expect(streams[0].types[.listener]?.sentAt == Date(timeIntervalSince1970: 1_796_068_810))
    }

    @Test func refusesWhatIsNotAClientsPage() {
        #expect(throws: ClientsFormatError.self) { try ProxyStream.decodePage(Data("{}".utf8)) }
        #expect(throws: ClientsFormatError.self) { try ProxyStream.decodePage(Data("[{\"group\": 1}]".utf8)) }
        #expect(throws: ClientsFormatError.self) { try ProxyStream.decodePage(Data("not json".utf8)) }
    }

    @Test func rowsTakeTheWorstTypeAndSetTheExitCode() throws {
        let rows = try ProxyStream.decodePage(Data(Self.page.utf8)).map(FleetRow.init)
        #expect(rows[0].status == .synced)
        #expect(rows[0].types == [.synced, .none, .synced, .none, .none])
        #expect(rows[1].status == .nacked)
        #expect(rows[1].types[0] == .nacked(message: "cannot bind 127.0.0.1:80"))
        #expect(rows[1].types[1] == .stale)
        #expect(FleetRow.exitCode([rows[0]]) == 0)
        #expect(FleetRow.exitCode(rows) == 1)
        #expect(FleetRow.exitCode([]) == 0)
    }

    @Test func aNackOfAnOlderVersionIsNotNackedAnyMore() {
        // Rejected l2, then l3 was sent and ACKed: synced again, though the last NACK is still on record.
        let later = ProxyStream.TypeState(sentVersion: "l3", ackedVersion: "l3", nackedVersion: "l2", nackMessage: "x")
        #expect(TypeStatus(later) == .synced)
        // Rejected l2, then l3 sent and not answered yet: stale.
        let waiting = ProxyStream.TypeState(sentVersion: "l3", ackedVersion: "l1", nackedVersion: "l2")
        #expect(TypeStatus(waiting) == .stale)
        // A stream that has not subscribed to anything yet is not synced.
        let fresh = FleetRow(ProxyStream(nodeID: "n", group: "g", kind: "ads", peer: "", types: [:]))
        #expect(fresh.status == .stale)
    }

    @Test func ageIsThatOfTheNewestPush() throws {
        let rows = try ProxyStream.decodePage(Data(Self.page.utf8)).map(FleetRow.init)
        let now = Date(timeIntervalSince1970: 1_796_068_810 + 45)
        #expect(rows[0].age(now: now) == "45s")
        #expect(FleetRow.duration(3 * 60) == "3m")
        #expect(FleetRow.duration(5 * 3600) == "5h")
        #expect(FleetRow.duration(3 * 86400) == "3d")
        let unknown = FleetRow(ProxyStream(nodeID: "n", group: "g", kind: "ads", peer: "", types: [.cluster: .init()]))
        #expect(unknown.age(now: now) == "-")
    }

    @Test func followsTheNextLinkOnly() {
        #expect(ProxyStream.nextPage(link: "</clients?limit=2&offset=2>; rel=\"next\"") == "/clients?limit=2&offset=2")
        #expect(ProxyStream.nextPage(link: "</clients?offset=0>; rel=\"prev\"") == nil)
        #expect(ProxyStream.nextPage(link: nil) == nil)
        #expect(ProxyStream.nextPage(link: "garbage") == nil)
    }
}
