import Foundation
import NIOHTTP1
import Snapshot
import Translate
import XDS

struct AdminPage {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String
}

/// Renders each admin path from the store and the registry. Private keys are redacted by `SnapshotJSON`.
struct AdminPages: Sendable {
    let store: SnapshotStore
    let registry: StreamRegistry
    let groupGuard: GroupGuard?

    func page(for uri: String) -> AdminPage {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        switch path {
        case "/healthz":
            return text("ok\n")
        case "/readyz":
            return store.current.groups.isEmpty
                ? AdminPage(status: .serviceUnavailable, contentType: "text/plain", body: "no snapshot loaded\n")
                : text("ready\n")
        case "/snapshot":
            let snapshot = store.current
            let groups = snapshot.groupNames.compactMap { snapshot.group($0, mode: .ads) }.map(SnapshotJSON.render)
            return json(SnapshotJSON.object([
                ("version", SnapshotJSON.quoted(snapshot.version)),
                ("groups", SnapshotJSON.array(groups)),
            ]))
        case "/clients":
            return json(encode(registry.all.map(clientJSON)))
        case "/status":
            return json(encode(statusJSON(store.status)))
        case "/history":
            return json(encode(store.history.reversed().map { entry in
                ["version": entry.version, "at": timestamp(entry.at), "changes": entry.changes] as [String: Any]
            }))
        case "/metrics":
            return AdminPage(status: .ok, contentType: "text/plain; version=0.0.4", body: Metrics.render(store, registry))
        case "/":
            return text("chancery admin: /snapshot /clients /status /history /healthz /readyz /metrics\n")
        default:
            return AdminPage(status: .notFound, contentType: "text/plain", body: "not found: \(path)\n")
        }
    }

    private func clientJSON(_ info: StreamInfo) -> [String: Any] {
        var types: [String: Any] = [:]
        for (type, state) in info.types {
            var entry: [String: Any] = [
                "subscribed": state.subscribed, "subscribed_count": state.subscribedCount, "wildcard": state.wildcard,
            ]
            if let value = state.sentVersion { entry["sent_version"] = value }
            if let value = state.sentNonce { entry["sent_nonce"] = value }
            if let value = state.ackedVersion { entry["acked_version"] = value }
            if let value = state.nackedVersion {
                var nack: [String: Any] = ["version": value, "message": state.nackMessage ?? ""]
                if let at = state.nackAt { nack["at"] = timestamp(at) }
                entry["last_nack"] = nack
            }
            types[type.rawValue] = entry
        }
        return [
            "stream_id": Int(info.id), "node_id": info.nodeID, "group": info.group, "kind": info.kind,
            "peer": info.peer ?? "", "user_agent": info.userAgent, "connected_at": timestamp(info.connectedAt),
            "types": types,
        ]
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
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func timestamp(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
