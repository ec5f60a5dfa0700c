import Snapshot
import Vocabulary

/// `/ui/snapshot?group=G&type=T`: one group's resources of one type as proto3 JSON, private keys redacted exactly
/// as `/snapshot` redacts them, with links to the group's other types.
struct AdminSnapshotView {
    let snapshot: Snapshot

    /// Column order: the xDS order operators know (LDS RDS CDS EDS SDS).
    static let types: [ResourceType] = [.listener, .route, .cluster, .endpoint, .secret]

    static func link(group: String, type: ResourceType) -> String {
        "/ui/snapshot?group=\(HTML.queryValue(group))&type=\(type.rawValue)"
    }

    /// The type named by `text`: its own name (`cluster`) or the plural (`clusters`).
    static func type(named text: String) -> ResourceType? {
        ResourceType(rawValue: text) ?? (text.hasSuffix("s") ? ResourceType(rawValue: String(text.dropLast())) : nil)
    }

    func render(_ query: Substring) -> AdminPage {
        guard let pairs = HTML.queryPairs(query) else { return AdminWebPage.error(.badRequest, "bad percent-encoding") }
        var groupName: String?
        var typeName: String?
        for (key, value) in pairs {
            switch key {
            case "group": groupName = value
            case "type": typeName = value
            default: return AdminWebPage.error(.badRequest, "unknown parameter \(key.prefix(64)); known: group, type")
            }
        }
        guard let groupName, let typeName else { return AdminWebPage.error(.badRequest, "give both group and type") }
        guard let type = Self.type(named: typeName) else {
            let known = Self.types.map(\.rawValue).joined(separator: ", ")
            return AdminWebPage.error(.badRequest, "unknown type \(typeName.prefix(64)); known: \(known)")
        }
        guard let group = snapshot.group(groupName, mode: .ads) else {
            return AdminWebPage.error(.notFound, "no group \(groupName.prefix(200)) in snapshot \(snapshot.version)")
        }
        let resources = group[type]
        var body = "<header>\n<h1>Group \(HTML.escape(groupName)): \(type.rawValue)</h1>\n<nav>"
        body += HTML.link("/", "overview") + " "
        body += Self.types.map { other in
            other == type
                ? "<strong>\(other.rawValue)</strong>"
                : HTML.link(Self.link(group: groupName, type: other), other.rawValue)
        }.joined(separator: " ")
        body += "</nav>\n<p class=\"muted\">snapshot <code>\(HTML.escape(snapshot.version))</code>, "
        body += "\(type.rawValue) version <code>\(HTML.escape(resources.version))</code>, "
        body += "\(resources.resources.count) resource\(resources.resources.count == 1 ? "" : "s")</p>\n</header>\n"
        if resources.sorted.isEmpty {
            body += "<p class=\"muted\">none</p>\n"
        } else {
            body += "<p><code>" + HTML.escape(resources.sortedNames.joined(separator: " ")) + "</code></p>\n"
            body += "<pre id=\"resources\">\(HTML.escape(SnapshotJSON.render(resources)))</pre>\n"
        }
        return AdminWebPage.html(HTML.document(title: "\(groupName) \(type.rawValue) · Chancery", body: body))
    }
}
