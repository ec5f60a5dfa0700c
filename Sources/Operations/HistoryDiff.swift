import Foundation

/// One `/history` entry: a published snapshot version and what it changed against the one before, keyed
/// `group/type` with names marked `+` added, `~` changed, `-` removed.
public struct HistoryRecord: Hashable, Sendable {
    public var version: String
    public var at: String
    public var changes: [String: [String]]

    public init(version: String, at: String, changes: [String: [String]]) {
        self.version = version
        self.at = at
        self.changes = changes
    }

    /// The entries of a `/history` reply (a JSON array, newest first, as the endpoint serves it).
    public static func decode(_ data: Data) throws(ClientsFormatError) -> [HistoryRecord] {
        guard let array = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw ClientsFormatError("/history did not answer a JSON array")
        }
        var records: [HistoryRecord] = []
        for item in array {
            guard let object = item as? [String: Any], let version = object["version"] as? String else {
                throw ClientsFormatError("/history: an entry has no version")
            }
            let changes = (object["changes"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String] }
            records.append(HistoryRecord(version: version, at: object["at"] as? String ?? "", changes: changes))
        }
        return records
    }
}

/// What changed between two snapshot versions kept in history: the entries in between and their net effect.
public struct HistoryDiff: Hashable, Sendable {
    /// The entries after `from` up to and including `to`, oldest first (newest first when going backwards).
    public var steps: [HistoryRecord]
    /// `group/type` → net changes per name, sorted: `+name`, `~name`, `-name`.
    public var net: [String: [String]]
    /// True when `from` is newer than `to`: the net changes say how to go back.
    public var backwards: Bool

    public struct VersionMissing: Error, Hashable, CustomStringConvertible {
        public let version: String
        public let kept: Int
        public let oldest: String?
        public let newest: String?

        public var description: String {
            guard let oldest, let newest else {
                return "version \(version) is not in history: no snapshot has been published"
            }
            return "version \(version) is not in history (it keeps the last \(kept) snapshots: oldest \(oldest), "
                + "newest \(newest))"
        }
    }

    /// The diff from `from` to `to` over `history` as `/history` serves it (newest first).
    public static func between(
        _ from: String, _ to: String, in history: [HistoryRecord]
    ) -> Result<HistoryDiff, VersionMissing> {
        let chronological = Array(history.reversed())
        func missing(_ version: String) -> VersionMissing {
            VersionMissing(
                version: version, kept: chronological.count, oldest: chronological.first?.version,
                newest: chronological.last?.version)
        }
        guard let start = chronological.lastIndex(where: { $0.version == from }) else { return .failure(missing(from)) }
        guard let end = chronological.lastIndex(where: { $0.version == to }) else { return .failure(missing(to)) }
        if start <= end {
            let steps = Array(chronological[(start + 1)..<(end + 1)])
            return .success(HistoryDiff(steps: steps, net: combine(steps), backwards: false))
        }
        // Backwards: the forward changes from `to` to `from`, undone (added ↔ removed).
        let forward = Array(chronological[(end + 1)..<(start + 1)])
        let undo = combine(forward).mapValues { marks in
            marks.map { mark -> String in
                switch mark.first {
                case "+": return "-" + mark.dropFirst()
                case "-": return "+" + mark.dropFirst()
                default: return mark
                }
            }.sorted { $0.dropFirst() < $1.dropFirst() }
        }
        return .success(HistoryDiff(steps: forward.reversed(), net: undo, backwards: true))
    }

    /// Folds the marks of `chronological` steps per name into one: added then removed is nothing, removed then
    /// added is changed (history keeps names, not contents, so it cannot tell whether the content came back equal).
    static func combine(_ chronological: [HistoryRecord]) -> [String: [String]] {
        // Per key and name: whether it existed before the first step and after the last one.
        var seen: [String: [String: (before: Bool, after: Bool)]] = [:]
        for step in chronological {
            for (key, marks) in step.changes {
                for mark in marks {
                    guard let sign = mark.first, "+~-".contains(sign) else { continue }
                    let name = String(mark.dropFirst())
                    let existsAfter = sign != "-"
                    if let known = seen[key]?[name] {
                        seen[key]![name] = (known.before, existsAfter)
                    } else {
                        seen[key, default: [:]][name] = (sign != "+", existsAfter)
                    }
                }
            }
        }
        var net: [String: [String]] = [:]
        for (key, names) in seen {
            var marks: [String] = []
            for (name, state) in names.sorted(by: { $0.key < $1.key }) {
                switch (state.before, state.after) {
                case (false, true): marks.append("+" + name)
                case (true, false): marks.append("-" + name)
                case (true, true): marks.append("~" + name)
                case (false, false): break
                }
            }
            if !marks.isEmpty { net[key] = marks }
        }
        return net
    }

    /// The diff as text: each step with its time and changes, then the net effect.
    public func render(from: String, to: String) -> String {
        var out = "\(from) → \(to): \(steps.count) snapshot\(steps.count == 1 ? "" : "s")"
        out += backwards ? " (going back: the net changes undo these)\n" : "\n"
        if steps.isEmpty { return out + "no changes\n" }
        for step in steps {
            out += "\n\(step.version)  \(step.at)\n"
            out += Self.lines(step.changes)
        }
        out += "\nnet:\n" + (net.isEmpty ? "  no changes\n" : Self.lines(net))
        return out
    }

    /// `  group/type  +a ~b -c` per key, sorted, names on one line.
    public static func lines(_ changes: [String: [String]]) -> String {
        guard !changes.isEmpty else { return "  no resource changes\n" }
        let width = changes.keys.map(\.count).max() ?? 0
        return changes.keys.sorted().map { key in
            let marks = changes[key]!.map { StatusTable.oneLine($0, max: 200) }.joined(separator: " ")
            return "  " + key + String(repeating: " ", count: width - key.count) + "  " + marks + "\n"
        }.joined()
    }
}
