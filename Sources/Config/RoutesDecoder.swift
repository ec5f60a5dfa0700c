import Vocabulary
import Yams

/// Turns the YAML tree into the model, one section at a time, noting every cross-reference for `Validation`.
///
/// A broken element is reported and left out (or filled with a placeholder when leaving it out would cause
/// misleading follow-up errors), and decoding goes on so one run shows every problem in the file.
final class RoutesDecoder {
    let reader: YAMLReader
    var references = References()
    /// Groups from the top-level `groups:`; listeners default to all of them.
    var declaredGroups: [String] = ["default"]
    /// Groups that list `identities:`, with their patterns.
    var groupIdentities: [String: [IdentityPattern]] = [:]

    init(reader: YAMLReader) { self.reader = reader }

    static let topKeys = ["groups", "listeners", "clusters", "grpc_services"]

    func decode(root: Node?) -> RoutesConfig {
        let start = SourcePosition(file: reader.file, line: 1, column: 1)
        guard let root else {
            reader.report(
                .emptyFile(at: start))
            return RoutesConfig()
        }
        let top = Located(node: root, path: "", position: YAMLReader.position(of: root, file: reader.file) ?? start)
        guard let map = reader.mapping(top, place: "the top level", allowed: Self.topKeys) else {
            return RoutesConfig()
        }
        map.rejectUnknownKeys()

        if let groupsValue = map.value("groups") { declaredGroups = decodeGroups(groupsValue) }

        var listeners: [Listener] = []
        let hasGRPCServices = map.has("grpc_services")
        let listenersValue =
            hasGRPCServices
            ? map.value("listeners")
            : map.required("listeners", hint: "add a \"listeners:\" list; the README shows a complete file")
        if let value = listenersValue, let items = reader.list(value) {
            if items.isEmpty && !hasGRPCServices {
                reader.report(.emptyList(at: value.position, key: value.path, hint: "add at least one listener"))
            }
            listeners = items.compactMap(decodeListener)
        }

        var clusters: [Cluster] = []
        if let value = map.value("clusters"), let items = reader.list(value) {
            clusters = items.compactMap(decodeCluster)
        }

        var grpcServices: [ProxylessService] = []
        if let value = map.value("grpc_services"), let items = reader.list(value) {
            grpcServices = items.compactMap(decodeGRPCService)
        }
        return RoutesConfig(
            groups: declaredGroups, listeners: listeners, clusters: clusters, grpcServices: grpcServices,
            identities: groupIdentities)
    }

    private func decodeGroups(_ value: Located) -> [String] {
        guard let items = reader.list(value) else { return ["default"] }
        if items.isEmpty {
            reader.report(
                .emptyList(at: value.position, key: value.path, hint: "declare at least one node group, e.g. [default]")
            )
            return ["default"]
        }
        var seen: [String: SourcePosition] = [:]
        var groups: [String] = []
        for item in items {
            guard let (name, patterns) = decodeGroup(item) else { continue }
            if let first = seen[name] {
                reader.report(
                    .duplicateName(at: item.position, key: item.path, kind: "group", name: name, first: first))
                continue
            }
            seen[name] = item.position
            groups.append(name)
            if let patterns { groupIdentities[name] = patterns }
        }
        return groups.isEmpty ? ["default"] : groups
    }

    static let groupKeys = ["name", "identities"]

    /// A group is its name, or `{name: edge, identities: [...]}` naming who may take it over mTLS.
    private func decodeGroup(_ item: Located) -> (String, [IdentityPattern]?)? {
        if item.node.mapping == nil { return reader.nonEmptyString(item).map { ($0, nil) } }
        guard var map = reader.mapping(item, place: "group", allowed: Self.groupKeys) else { return nil }
        let name = map.required("name", hint: "give the group the name proxies ask for").flatMap(reader.nonEmptyString)
        if let name { map.place = "group \"\(name)\"" }
        map.rejectUnknownKeys()
        guard let name else { return nil }
        guard let value = map.value("identities") else { return (name, nil) }
        let hint = "list URI or DNS SAN patterns, e.g. [\"spiffe://example.org/edge\", \"edge-*.example.org\"]"
        guard let entries = reader.stringList(value, emptyHint: hint) else { return (name, []) }
        var patterns: [IdentityPattern] = []
        for (text, entry) in entries {
            switch IdentityPattern.parse(text) {
            case .success(let pattern): patterns.append(pattern)
            case .failure(let error):
                reader.report(
                    .invalidValue(
                        at: entry.position, key: entry.path, message: "identity \"\(text)\": \(error)",
                        hint: "see docs/ROUTES.md, \"groups\", for the pattern rules"))
            }
        }
        return (name, patterns)
    }

    // MARK: Clusters

    static let clusterKeys = [
        "name", "endpoints", "connect_timeout", "proxy_protocol", "http2", "dns_lookup_family", "lb_policy",
        "health_check", "outlier_detection", "circuit_breakers", "tls",
    ]

    /// `ipv6` and `v6` mean `v6_only` to most people; otherwise the nearest name, then the list.
    static func familyHint(_ text: String, names: [String]) -> String {
        let folded = text.lowercased().replacingOccurrences(of: "ip", with: "")
        let guess =
            ["v4": "v4_only", "v6": "v6_only", "4": "v4_only", "6": "v6_only"][folded]
            ?? Suggest.closest(to: text.lowercased(), in: names)
        let list = "use one of \(names.joined(separator: ", "))"
        return guess.map { "did you mean \"\($0)\"? \(list)" } ?? list
    }

    private func decodeCluster(_ item: Located) -> Cluster? {
        if let text = item.node.scalar?.string, !text.isEmpty {
            // `clusters: [www]`: the shape is wrong (reported below), but the name is what routes refer to, so
            // they are not told a second time that "www" is not defined.
            references.clusterNames.append(.init(name: text, position: item.position, key: item.path))
        }
        guard var map = reader.mapping(item, place: "cluster", allowed: Self.clusterKeys) else { return nil }
        let nameValue = map.required("name", hint: "give the cluster a name that routes can refer to")
        let name = nameValue.flatMap(reader.nonEmptyString)
        if let name { map.place = "cluster \"\(name)\"" }
        map.rejectUnknownKeys()
        if let name, let nameValue {
            references.clusterNames.append(.init(name: name, position: nameValue.position, key: nameValue.path))
        }

        var endpoints: [Endpoint] = []
        if let value = map.required("endpoints", hint: "list the upstream addresses, e.g. [127.0.0.1:8080]") {
            endpoints = decodeEndpoints(value)
        }

        var connectTimeout: Duration = .seconds(5)
        if let value = map.value("connect_timeout"), let duration = reader.duration(value) {
            if duration <= .zero {
                reader.report(
                    .invalidValue(
                        at: value.position, key: value.path,
                        message: "\"connect_timeout\" must be longer than 0s",
                        hint: "Envoy needs a positive connect timeout; the default is 5s"))
            } else {
                connectTimeout = duration
            }
        }

        var proxyProtocol: Cluster.ProxyProtocol?
        if let value = map.value("proxy_protocol"), let text = reader.string(value) {
            switch text.lowercased() {
            case "v1": proxyProtocol = .v1
            case "v2": proxyProtocol = .v2
            default:
                reader.report(
                    .invalidValue(
                        at: value.position, key: value.path,
                        message: "\"proxy_protocol\" \"\(text)\" is not a PROXY protocol version",
                        hint: "use v1 or v2"))
            }
        }

        var family = Cluster.DNSLookupFamily.v4Preferred
        if let value = map.value("dns_lookup_family"), let text = reader.string(value) {
            if let parsed = Cluster.DNSLookupFamily(rawValue: text.lowercased()) {
                family = parsed
            } else {
                let names = Cluster.DNSLookupFamily.allCases.map(\.rawValue)
                reader.report(
                    .invalidValue(
                        at: value.position, key: value.path,
                        message: "\"dns_lookup_family\" \"\(text)\" is not a lookup family",
                        hint: Self.familyHint(text, names: names)))
            }
        }

        let http2 = map.value("http2").flatMap(reader.bool) ?? false
        guard let name else { return nil }
        var cluster = Cluster(
            name: name, endpoints: endpoints, connectTimeout: connectTimeout, proxyProtocol: proxyProtocol,
            http2: http2, dnsLookupFamily: family, position: map.position)
        if let value = map.value("lb_policy") { cluster.lbPolicy = decodeLBPolicy(value) ?? .roundRobin }
        if let value = map.value("health_check") { cluster.healthCheck = decodeHealthCheck(value, cluster: name) }
        if let value = map.value("outlier_detection") {
            cluster.outlierDetection = decodeOutlierDetection(value, cluster: name)
        }
        if let value = map.value("circuit_breakers") {
            cluster.circuitBreakers = decodeCircuitBreakers(value, cluster: name)
        }
        if let value = map.value("tls") {
            cluster.tls = decodeUpstreamTLS(value, endpoints: endpoints, cluster: name)
            if cluster.tls != nil, proxyProtocol != nil {
                reader.report(
                    .conflictingKeys(
                        at: map.keyPosition("tls"), key: map.keyPath("tls"),
                        message: "cluster \"\(name)\" has both \"proxy_protocol\" and \"tls\"",
                        hint: "Chancery does not yet send a PROXY header before TLS; keep one"))
            }
        }
        return cluster
    }
}

/// Names and cross-references noted while decoding, checked once the whole file is read.
struct References {
    struct Named {
        var name: String
        var position: SourcePosition
        var key: String
    }
    struct Bind {
        var listener: String
        var address: String
        var port: Int
        var groups: [String]
        var position: SourcePosition
        var key: String
        /// A UDP port and a TCP port of the same number do not clash.
        var udp = false
    }
    var listenerNames: [Named] = []
    var clusterNames: [Named] = []
    /// Cluster names used by routes and TCP listeners, with how to describe the user (`route`, `TCP listener "ssh"`).
    var clusterUses: [(use: Named, owner: String)] = []
    var binds: [Bind] = []
    /// gRPC services with their groups, to keep them out of groups that Envoy proxies receive.
    var grpcServices: [(service: Named, groups: [String])] = []
}
