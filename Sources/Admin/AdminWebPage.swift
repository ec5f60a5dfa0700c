import Foundation
import NIOHTTP1
import Operations
import Snapshot
import Vocabulary
import XDS

/// The admin web page at `/`: the fleet table, the snapshot by group and type, the history with its changes, the
/// last load and the certificates, rendered on the server as plain HTML. No script: it works with JavaScript off,
/// and `?refresh=N` reloads it with a meta tag. The fleet comes from the same bounded summary as `/clients`.
struct AdminWebPage {
    let store: SnapshotStore
    let summary: StreamSummary
    let groupGuard: GroupGuard?
    var now = Date()

    static let defaultLimit = 100

    /// `/` with `query`: `node`, `group`, `status`, `limit` and `offset` filter and page the fleet as on
    /// `/clients`; `refresh` (2 to 3600 seconds) turns on reloading.
    func index(_ query: Substring) -> AdminPage {
        guard let pairs = HTML.queryPairs(query) else { return Self.error(.badRequest, "bad percent-encoding") }
        var refresh: Int?
        var fleetQuery: [String] = []
        for (key, value) in pairs {
            if key == "refresh" {
                guard let seconds = Int(value), (2...3600).contains(seconds) else {
                    return Self.error(.badRequest, "refresh must be a whole number of seconds from 2 to 3600")
                }
                refresh = seconds
            } else if !value.isEmpty {
                // The filter form sends empty fields for "any".
                fleetQuery.append(key + "=" + HTML.queryValue(value))
            }
        }
        if !fleetQuery.contains(where: { $0.hasPrefix("limit=") }) { fleetQuery.append("limit=\(Self.defaultLimit)") }
        let request: ClientsQuery
        switch ClientsQuery.parse(Substring(fleetQuery.joined(separator: "&"))) {
        case .success(let parsed): request = parsed
        case .failure(let failure): return Self.error(.badRequest, failure.message)
        }
        let snapshot = store.current
        var body = "<header>\n<h1>Chancery admin</h1>\n"
        body += "<p class=\"muted\">snapshot <code>\(HTML.escape(snapshot.version))</code></p>\n<nav>"
        for (anchor, title) in [
            ("load", "Load"), ("fleet", "Fleet"), ("snapshot", "Snapshot"), ("history", "History"),
            ("certificates", "Certificates"),
        ] {
            body += HTML.link("#" + anchor, title) + " "
        }
        body += refresh == nil ? HTML.link("/?refresh=5", "auto-refresh") : HTML.link("/", "stop refreshing")
        body += "</nav>\n<p class=\"muted\">JSON: "
        body += ["/snapshot", "/clients", "/status", "/history", "/metrics"].map { HTML.link($0, $0) }.joined(
            separator: " ")
        body += "</p>\n</header>\n"
        body += loadSection()
        body += fleetSection(request, refresh: refresh)
        body += snapshotSection(snapshot)
        body += historySection()
        body += certificatesSection()
        return Self.html(HTML.document(title: "Chancery admin", refresh: refresh, body: body))
    }

    private func loadSection() -> String {
        let status = store.status
        var out = "<section id=\"load\">\n<h2>Last load</h2>\n<p>"
        out += status.ok ? "<span class=\"ok\">ok</span>" : "<span class=\"error\">failed</span>"
        out += " at \(HTML.escape(timestamp(status.at)))"
        if let version = status.snapshotVersion {
            out += "; serving <code>\(HTML.escape(version))</code>"
        }
        out += "</p>\n"
        out += list(status.errors, title: "Errors", className: "error")
        out += list(status.warnings, title: "Warnings", className: "warning")
        if let stalled = store.certificates.stalledReload {
            out += "<p class=\"error\">reload stalled: \(HTML.escape(stalled))</p>\n"
        }
        let rejected = groupGuard?.rejections ?? [:]
        if !rejected.isEmpty {
            out += "<p>Group versions some proxy rejected (new proxies get the last accepted one):</p>\n<ul>"
            for (group, versions) in rejected.sorted(by: { $0.key < $1.key }) {
                out += "<li>\(HTML.escape(group)): <code>\(HTML.escape(versions.joined(separator: ", ")))</code></li>"
            }
            out += "</ul>\n"
        }
        return out + "</section>\n"
    }

    private func fleetSection(_ request: ClientsQuery, refresh: Int?) -> String {
        let counts = summary.countByStatus
        var out = "<section id=\"fleet\">\n<h2>Fleet</h2>\n<p>\(summary.entries.count) streams: "
        out += [StreamStatus.synced, .stale, .nacked].map { status in
            "<span class=\"\(status.rawValue)\">\(counts[status] ?? 0) \(status.rawValue)</span>"
        }.joined(separator: ", ")
        out += "</p>\n" + filterForm(request)
        let (total, streams) = summary.page(
            node: request.node, group: request.group, status: request.status, offset: request.offset,
            limit: request.limit)
        if streams.isEmpty {
            return out + "<p class=\"muted\">no matching streams</p>\n</section>\n"
        }
        out += "<table class=\"fleet\">\n<thead><tr>"
        out += Operations.StatusTable.header.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for info in streams {
            let row = FleetRow(ProxyStream(info))
            out += "<tr class=\"\(row.status.rawValue)\"><td class=\"mono node\">\(HTML.escape(info.nodeID))</td>"
            out += "<td>\(HTML.escape(info.group))</td><td>\(HTML.escape(info.kind))</td>"
            for type in row.types { out += cell(type) }
            out += "<td>\(HTML.escape(row.age(now: now)))</td><td class=\"mono\">\(HTML.escape(info.peer ?? "-"))</td>"
            out += "</tr>\n"
        }
        out += "</tbody>\n</table>\n"
        out += "<p>streams \(request.offset + 1)–\(request.offset + streams.count) of \(total)"
        if request.offset > 0 {
            out +=
                " " + HTML.link(pageLink(request, offset: max(0, request.offset - request.limit), refresh), "previous")
        }
        if request.offset + streams.count < total {
            out += " " + HTML.link(pageLink(request, offset: request.offset + streams.count, refresh), "next")
        }
        return out + "</p>\n</section>\n"
    }

    private func cell(_ status: TypeStatus) -> String {
        switch status {
        case .nacked(let message):
            let cut = message.count > 2000 ? String(message.prefix(2000)) + "…" : message
            return "<td class=\"nacked\">NACKED<span class=\"message\">\(HTML.escape(cut))</span></td>"
        case .synced: return "<td class=\"synced\">SYNCED</td>"
        case .stale: return "<td class=\"stale\">STALE</td>"
        case .none: return "<td class=\"none\">-</td>"
        }
    }

    private func filterForm(_ request: ClientsQuery) -> String {
        var out = "<form method=\"get\" action=\"/\">"
        out += "<label>node <input name=\"node\" value=\"\(HTML.escape(request.node ?? ""))\"></label>"
        out += "<label>group <input name=\"group\" value=\"\(HTML.escape(request.group ?? ""))\"></label>"
        out += "<label>status <select name=\"status\"><option value=\"\">any</option>"
        for status in StreamStatus.allCases {
            let selected = request.status == status ? " selected" : ""
            out += "<option\(selected)>\(status.rawValue)</option>"
        }
        out += "</select></label><button type=\"submit\">filter</button></form>\n"
        return out
    }

    private func pageLink(_ request: ClientsQuery, offset: Int, _ refresh: Int?) -> String {
        var query: [String] = []
        if let node = request.node { query.append("node=" + HTML.queryValue(node)) }
        if let group = request.group { query.append("group=" + HTML.queryValue(group)) }
        if let status = request.status { query.append("status=" + status.rawValue) }
        query.append("limit=\(request.limit)")
        query.append("offset=\(offset)")
        if let refresh { query.append("refresh=\(refresh)") }
        return "/?" + query.joined(separator: "&") + "#fleet"
    }

    private func snapshotSection(_ snapshot: Snapshot) -> String {
        var out = "<section id=\"snapshot\">\n<h2>Snapshot</h2>\n"
        guard !snapshot.groupNames.isEmpty else {
            return out + "<p class=\"muted\">no snapshot loaded</p>\n</section>\n"
        }
        out += "<table class=\"snapshot\">\n<thead><tr><th>group</th>"
        out += AdminSnapshotView.types.map { "<th>\($0.rawValue)</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for name in snapshot.groupNames {
            out += "<tr><td>\(HTML.escape(name))</td>"
            let group = snapshot.group(name, mode: .ads)
            for type in AdminSnapshotView.types {
                let count = group?[type].resources.count ?? 0
                out += "<td>" + HTML.link(AdminSnapshotView.link(group: name, type: type), "\(count)") + "</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n</section>\n"
    }

    private func historySection() -> String {
        let history = store.history
        var out = "<section id=\"history\">\n<h2>History</h2>\n"
        guard !history.isEmpty else { return out + "<p class=\"muted\">nothing published yet</p>\n</section>\n" }
        out += "<p class=\"muted\">newest first; <code>+</code> added, <code>~</code> changed, <code>-</code> removed"
        out += " (the last \(history.count) snapshots)</p>\n<table class=\"history\">\n"
        out += "<thead><tr><th>version</th><th>published</th><th>changes</th></tr></thead>\n<tbody>\n"
        for entry in history.reversed() {
            out += "<tr><td class=\"mono\">\(HTML.escape(entry.version))</td>"
            out += "<td>\(HTML.escape(timestamp(entry.at)))</td><td class=\"mono\">"
            if entry.changes.isEmpty { out += "<span class=\"muted\">no resource changes</span>" }
            for key in entry.changes.keys.sorted() {
                let marks = entry.changes[key]!.joined(separator: " ")
                out += "<div>\(HTML.escape(key)): \(HTML.escape(marks))</div>"
            }
            out += "</td></tr>\n"
        }
        return out + "</tbody>\n</table>\n</section>\n"
    }

    private func certificatesSection() -> String {
        let entries = store.certificates.entries
        var out = "<section id=\"certificates\">\n<h2>Certificates</h2>\n"
        guard !entries.isEmpty else { return out + "<p class=\"muted\">no certificates</p>\n</section>\n" }
        out += "<table class=\"certificates\">\n<thead><tr><th>name</th><th>state</th><th>not after</th>"
        out += "<th>days left</th><th>DNS names</th><th>problem</th></tr></thead>\n<tbody>\n"
        for info in entries.sorted(by: { ($0.notAfter ?? .distantFuture) < ($1.notAfter ?? .distantFuture) }) {
            let expiring = (info.daysLeft ?? Int.max) < 14 && info.state == .ok
            let stateClass = info.state == .ok ? (expiring ? "expiring" : "ok") : "error"
            out += "<tr><td>\(HTML.escape(info.name))</td>"
            out += "<td class=\"\(stateClass)\">\(HTML.escape(info.state.rawValue))</td>"
            out += "<td>\(HTML.escape(info.notAfter.map(timestamp) ?? "-"))</td>"
            out += "<td>\(info.daysLeft.map(String.init) ?? "-")</td>"
            out += "<td>\(HTML.escape(info.dnsNames.joined(separator: ", ")))</td>"
            out += "<td>\(HTML.escape(info.problem ?? ""))</td></tr>\n"
        }
        return out + "</tbody>\n</table>\n</section>\n"
    }

    private func list(_ items: [String], title: String, className: String) -> String {
        guard !items.isEmpty else { return "" }
        return "<p>\(title):</p>\n<ul class=\"\(className)\">"
            + items.map { "<li><code>\(HTML.escape($0))</code></li>" }.joined() + "</ul>\n"
    }

    private func timestamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    static func html(_ body: String, status: HTTPResponseStatus = .ok) -> AdminPage {
        AdminPage(status: status, contentType: "text/html; charset=utf-8", body: body, headers: HTML.headers)
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> AdminPage {
        html(
            HTML.document(
                title: "Chancery admin",
                body: "<h1>Chancery admin</h1>\n<p class=\"error\">\(HTML.escape(message))</p>\n<p>"
                    + HTML.link("/", "back to the overview") + "</p>\n"),
            status: status)
    }
}

extension ProxyStream {
    /// The admin's own view of a stream, as `/clients` would show it.
    init(_ info: StreamInfo) {
        var types: [ResourceType: TypeState] = [:]
        for (type, state) in info.types {
            types[type] = TypeState(
                sentVersion: state.sentVersion, ackedVersion: state.ackedVersion, nackedVersion: state.nackedVersion,
                nackMessage: state.nackMessage, sentAt: state.sentAt)
        }
        self.init(nodeID: info.nodeID, group: info.group, kind: info.kind, peer: info.peer ?? "", types: types)
    }
}
