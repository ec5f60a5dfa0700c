import Foundation
import NIOCore
import NIOHTTP1
import Snapshot
import Vocabulary
import XDS

struct AdminPage {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String
    /// Extra response headers, e.g. the paging of `/clients`.
    var headers: [(String, String)] = []
}

/// Renders each admin path from the store and the registry. Private keys are redacted by `SnapshotJSON`.
///
/// No page walks every stream per request: `/clients` and `/metrics` read a summary refreshed at most every
/// `summaryMaxAge`, and `/snapshot` is rendered once per snapshot version.
struct AdminPages: Sendable {
    let store: SnapshotStore
    let registry: StreamRegistry
    let groupGuard: GroupGuard?
    private let summaries: SummaryCache
    private let snapshotPages = SnapshotPageCache()
    /// The admin server's own counters, shown on `/metrics`.
    private let counters: AdminCounters?
    /// The Prometheus registry `/metrics` renders.
    let metrics: MetricsExposition

    init(
        store: SnapshotStore, registry: StreamRegistry, groupGuard: GroupGuard?,
        summaryMaxAge: TimeAmount = .seconds(1), summaryFreshUpTo: Int = 1000, counters: AdminCounters? = nil,
        metrics: MetricsExposition = MetricsExposition()
    ) {
        self.metrics = metrics
        self.store = store
        self.registry = registry
        self.groupGuard = groupGuard
        self.summaries = SummaryCache(registry: registry, maxAge: summaryMaxAge, freshUpTo: summaryFreshUpTo)
        self.counters = counters
    }

    func page(for uri: String) -> AdminPage {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? uri
        let query = parts.count > 1 ? parts[1] : ""
        switch path {
        case "/healthz":
            return text("ok\n")
        case "/readyz":
            return store.current.groups.isEmpty
                ? AdminPage(status: .serviceUnavailable, contentType: "text/plain", body: "no snapshot loaded\n")
                : text("ready\n")
        case "/snapshot":
            return json(
                snapshotPages.body(for: store.current) { snapshot in
                    let groups = snapshot.groupNames.compactMap { snapshot.group($0, mode: .ads) }.map(
                        SnapshotJSON.render)
                    return SnapshotJSON.object([
                        ("version", SnapshotJSON.quoted(snapshot.version)),
                        ("groups", SnapshotJSON.array(groups)),
                    ])
                })
        case "/clients":
            return clients(query)
        case "/status":
            return json(encode(statusJSON(store.status)))
        case "/history":
            return json(
                encode(
                    store.history.reversed().map { entry in
                        ["version": entry.version, "at": timestamp(entry.at), "changes": entry.changes] as [String: Any]
                    }))
        case "/metrics":
            return AdminPage(
                status: .ok, contentType: "text/plain; version=0.0.4",
                body: metrics.render(store, summaries.current, admin: counters?.current))
        case "/":
            return webPage.index(query)
        case "/ui/snapshot":
            return AdminSnapshotView(snapshot: store.current).render(query)
        case "/ui/style.css":
            return AdminPage(
                status: .ok, contentType: "text/css; charset=utf-8", body: HTML.style,
                headers: [("x-content-type-options", "nosniff")])
        default:
            return AdminPage(status: .notFound, contentType: "text/plain", body: "not found: \(path)\n")
        }
    }

    /// The web page's view of the store and the fleet summary (never a walk of every stream).
    private var webPage: AdminWebPage {
        AdminWebPage(store: store, summary: summaries.current, groupGuard: groupGuard)
    }

    /// One page of the matching streams as a JSON array (the shape `/clients` always had); the total and the page
    /// applied travel in headers: `x-total-count`, `x-offset`, `x-limit`, and `link` to the next page if any.
    private func clients(_ query: Substring) -> AdminPage {
        let request: ClientsQuery
        switch ClientsQuery.parse(query) {
        case .success(let parsed): request = parsed
        case .failure(let error):
            return AdminPage(status: .badRequest, contentType: "text/plain", body: "/clients: \(error.message)\n")
        }
        let (total, streams) = summaries.current.page(
            node: request.node, group: request.group, status: request.status,
            offset: request.offset, limit: request.limit)
        let formatter = ISO8601DateFormatter()
        var page = json(streams.isEmpty ? "[\n\n]" : SnapshotJSON.array(streams.map { clientJSON($0, formatter) }))
        page.headers = [
            ("x-total-count", String(total)), ("x-offset", String(request.offset)), ("x-limit", String(request.limit)),
        ]
        if request.offset + streams.count < total {
            page.headers.append(("link", "<\(nextPage(query, offset: request.offset + streams.count))>; rel=\"next\""))
        }
        return page
    }

    /// The same `/clients` query with `offset` moved on.
    private func nextPage(_ query: Substring, offset: Int) -> String {
        let kept = query.split(separator: "&").filter { !$0.hasPrefix("offset=") && $0 != "offset" }
        return "/clients?" + (kept.map(String.init) + ["offset=\(offset)"]).joined(separator: "&")
    }

    /// One stream as a JSON object, written directly (keys sorted, as before): `JSONSerialization` over
    /// `[String: Any]` cost about a millisecond per stream, which made a page of 1000 take most of a second.
    private func clientJSON(_ info: StreamInfo, _ formatter: ISO8601DateFormatter) -> String {
        var types: [(String, String)] = []
        for (type, state) in info.types.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            var entry: [(String, String)] = []
            if let value = state.ackedVersion { entry.append(("acked_version", SnapshotJSON.quoted(value))) }
            if let value = state.nackedVersion {
                var nack: [(String, String)] = []
                if let at = state.nackAt { nack.append(("at", SnapshotJSON.quoted(formatter.string(from: at)))) }
                nack.append(("message", SnapshotJSON.quoted(state.nackMessage ?? "")))
                nack.append(("version", SnapshotJSON.quoted(value)))
                entry.append(("last_nack", SnapshotJSON.object(nack)))
            }
            if let at = state.sentAt { entry.append(("sent_at", SnapshotJSON.quoted(formatter.string(from: at)))) }
            if let value = state.sentNonce { entry.append(("sent_nonce", SnapshotJSON.quoted(value))) }
            if let value = state.sentVersion { entry.append(("sent_version", SnapshotJSON.quoted(value))) }
            entry.append(("subscribed", SnapshotJSON.array(state.subscribed.map(SnapshotJSON.quoted))))
            entry.append(("subscribed_count", String(state.subscribedCount)))
            entry.append(("wildcard", state.wildcard ? "true" : "false"))
            types.append((type.rawValue, SnapshotJSON.object(entry)))
        }
        return SnapshotJSON.object([
            ("connected_at", SnapshotJSON.quoted(formatter.string(from: info.connectedAt))),
            ("group", SnapshotJSON.quoted(info.group)),
            ("kind", SnapshotJSON.quoted(info.kind)),
            ("node_id", SnapshotJSON.quoted(info.nodeID)),
            ("peer", SnapshotJSON.quoted(info.peer ?? "")),
            ("stream_id", String(info.id)),
            ("types", SnapshotJSON.object(types)),
            ("user_agent", SnapshotJSON.quoted(info.userAgent)),
        ])
    }

    private func statusJSON(_ status: LoadStatus) -> [String: Any] {
        var out: [String: Any] = [
            "ok": status.ok, "errors": status.errors, "warnings": status.warnings, "at": timestamp(status.at),
        ]
        if let version = status.snapshotVersion { out["snapshot_version"] = version }
        // Group versions some proxy rejected: new proxies of those groups get the last accepted version instead.
        out["rejected_group_versions"] = groupGuard?.rejections ?? [:]
        out["certificates"] = CertificatesPage.json(store.certificates)
        if let stalled = store.certificates.stalledReload { out["reload_stalled"] = stalled }
        return out
    }

    private func text(_ body: String) -> AdminPage { AdminPage(status: .ok, contentType: "text/plain", body: body) }

    private func json(_ body: String) -> AdminPage {
        AdminPage(status: .ok, contentType: "application/json", body: body + "\n")
    }

    private func encode(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys])
        else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func timestamp(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
