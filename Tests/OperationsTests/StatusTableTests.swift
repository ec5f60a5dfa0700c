import Foundation
import Operations
import Testing

/// The terminal table: widths fit the content, NACK messages are cut, hostile text cannot steer the terminal.
@Suite struct StatusTableTests {
    func rows() throws -> [FleetRow] {
        try ProxyStream.decodePage(Data(FleetRowTests.page.utf8)).map(FleetRow.init)
    }

    @Test func columnsAreAsWideAsTheirWidestCell() throws {
        let now = Date(timeIntervalSince1970: 1_796_068_810 + 60)
        let text = StatusTable(nackWidth: 20).render(try rows(), now: now)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("NODE     GROUP  KIND       LDS"))
        #expect(lines[1].hasPrefix("envoy-a  edge   ads        SYNCED"))
        #expect(lines[2].contains("NACKED (cannot bind 127.0.0…)"))
        #expect(lines[2].hasSuffix("127.0.0.1:4001"))
        // Every status column starts at the same offset on every line.
        let lds = lines[0].range(of: "LDS")!.lowerBound.utf16Offset(in: lines[0])
        #expect(lines[1].dropFirst(lds).hasPrefix("SYNCED"))
        #expect(lines[2].dropFirst(lds).hasPrefix("NACKED"))
        #expect(!text.contains("\u{1B}"))  // plain unless asked for colour
    }

    @Test func colourOnlyWhenAsked() throws {
        let text = StatusTable(color: true).render(try rows(), now: Date())
        #expect(text.contains("\u{1B}[32mSYNCED"))
        #expect(text.contains("\u{1B}[31mNACKED"))
    }

    @Test func hostileTextStaysOnOneLine() {
        #expect(StatusTable.oneLine("a\nb\u{1B}[2Jc\td", max: 40) == "a b [2Jc d")
        #expect(StatusTable.oneLine("abcdefgh", max: 5) == "abcd…")
        var stream = ProxyStream(nodeID: "evil\n\u{1B}[31mnode", group: "g", kind: "ads", peer: "", types: [:])
        stream.types[.listener] = .init(sentVersion: "v", ackedVersion: "v")
        let text = StatusTable().render([FleetRow(stream)], now: Date())
        #expect(text.split(separator: "\n").count == 2)
        #expect(!text.contains("\u{1B}"))
    }

    @Test func emptyFleetAndSummary() throws {
        #expect(StatusTable().render([], now: Date()) == "no proxies connected\n")
        #expect(StatusTable.summary(try rows()) == "2 streams: 1 synced, 0 stale, 1 nacked\n")
    }
}
