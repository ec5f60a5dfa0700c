import Foundation

/// The fleet as a terminal table in the spirit of `istioctl proxy-status`: one row per stream, columns as wide as
/// their widest cell, colours only when asked (a terminal), never when piped.
public struct StatusTable: Sendable {
    /// A NACK message is cut to this many characters (Envoy's can run to kilobytes).
    public var nackWidth = 60
    /// ANSI colours for the status words and a bold header.
    public var color = false

    public init(nackWidth: Int = 60, color: Bool = false) {
        self.nackWidth = nackWidth
        self.color = color
    }

    public static let header = ["NODE", "GROUP", "KIND"] + FleetRow.columns.map(\.1) + ["AGE", "PEER"]

    /// The cells of one row, uncoloured: node, group, kind, the five types, age, peer.
    public func cells(_ row: FleetRow, now: Date) -> [String] {
        let stream = row.stream
        return [Self.oneLine(stream.nodeID, max: 64), Self.oneLine(stream.group, max: 64), stream.kind]
            + row.types.map(cell) + [row.age(now: now), stream.peer.isEmpty ? "-" : stream.peer]
    }

    /// The table, newline-terminated; a line saying so when no proxy is connected.
    public func render(_ rows: [FleetRow], now: Date) -> String {
        guard !rows.isEmpty else { return "no proxies connected\n" }
        let table = [Self.header] + rows.map { cells($0, now: now) }
        var widths = Array(repeating: 0, count: Self.header.count)
        for line in table {
            for (index, cell) in line.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var out = ""
        for (lineIndex, line) in table.enumerated() {
            var fields: [String] = []
            for (index, cell) in line.enumerated() {
                let last = index == line.count - 1
                let padded = last ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
                fields.append(lineIndex == 0 ? paint(padded, code: "1") : paint(padded, code: code(for: cell)))
            }
            out += fields.joined(separator: "  ") + "\n"
        }
        return out
    }

    /// A one-line summary under the table: how many streams stand where.
    public static func summary(_ rows: [FleetRow]) -> String {
        let nacked = rows.filter { $0.status == .nacked }.count
        let stale = rows.filter { $0.status == .stale }.count
        return "\(rows.count) streams: \(rows.count - nacked - stale) synced, \(stale) stale, \(nacked) nacked\n"
    }

    private func cell(_ status: TypeStatus) -> String {
        guard case .nacked(let message) = status else { return status.word }
        let text = Self.oneLine(message, max: nackWidth)
        return text.isEmpty ? "NACKED" : "NACKED (\(text))"
    }

    private func code(for cell: String) -> String? {
        if cell == "SYNCED" { return "32" }
        if cell == "STALE" { return "33" }
        if cell.hasPrefix("NACKED") { return "31" }
        return nil
    }

    private func paint(_ text: String, code: String?) -> String {
        guard color, let code else { return text }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// `text` on one line (control characters become spaces, so a hostile node id cannot move the cursor), at most
    /// `max` characters, with `…` when cut.
    public static func oneLine(_ text: String, max: Int) -> String {
        var flat = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        flat = flat.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        guard flat.count > max else { return flat }
        return String(flat.prefix(Swift.max(0, max - 1))) + "…"
    }
}
