import Certs
import Config
import Protobuf
import RawResources
import Vocabulary

/// Adds raw resources (`--raw`) to the groups the translator built. Pure, like the translator.
///
/// The routes file wins a name clash: its resource is served and the raw one is left out of that group, with a note.
/// A raw resource may refer to what the routes file defines: a cluster (with its endpoints and upstream TLS secrets)
/// or a certificate from the certificate directory (by SDS name). Those join the group even when no declarative
/// listener of the group uses them, so a hand-written listener can use the site's certificates and backends.
public enum RawMerge {
    public struct Outcome: Sendable {
        public var groups: [String: GroupResources]
        /// One line per raw resource left out of a group because the routes file defines the same name there.
        public var notes: [String]
    }

    public static func merge(
        _ translated: [String: GroupResources], raw: [RawResource], config: RoutesConfig,
        certificates: [String: CertificateBundle], authorities: [String: TrustedAuthority], mode: ConfigSourceMode
    ) -> Outcome {
        guard !raw.isEmpty else { return Outcome(groups: translated, notes: []) }
        let clustersByName = Dictionary(config.clusters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // A name the routes file defines belongs to it in every group, even one where nothing of the routes file
        // uses it: otherwise one cluster name could mean two backends, depending on the group.
        let listenerNames = Set(config.listeners.map(\.name) + config.grpcServices.map(\.name))
        func definedByRoutesFile(_ resource: RawResource) -> Bool {
            switch resource.type {
            case .cluster, .endpoint: return clustersByName[resource.name] != nil
            case .listener, .route: return listenerNames.contains(resource.name)
            case .secret: return false
            }
        }
        var groups = translated
        var notes: [String] = []
        for group in config.groups {
            var out = groups[group] ?? GroupResources(group: group)
            var added: [RawResource] = []
            for resource in raw where resource.groups?.contains(group) ?? true {
                if out.resources[resource.type]?[resource.name] != nil || definedByRoutesFile(resource) {
                    notes.append(
                        "\(resource.position): \(resource.label) is also defined by the routes file, whose "
                            + "\(RawResource.kind(resource.type)) wins; this one is left out")
                    continue
                }
                out.resources[resource.type, default: [:]][resource.name] = adapted(resource.message, to: mode)
                added.append(resource)
            }
            var clusters = Set<String>()
            var secrets = Set<String>()
            for resource in added { references(resource.message, clusters: &clusters, secrets: &secrets) }
            for name in clusters.sorted() where out.resources[.cluster]?[name] == nil {
                guard let cluster = clustersByName[name] else { continue }
                out.resources[.cluster, default: [:]][name] = ClusterBuilder.cluster(cluster, mode: mode)
                if ClusterBuilder.usesEDS(cluster), out.resources[.endpoint]?[name] == nil {
                    out.resources[.endpoint, default: [:]][name] = ClusterBuilder.loadAssignment(cluster)
                }
                if let tls = cluster.tls {
                    secrets.insert(ListenerBuilder.authoritySecretName(tls.ca))
                    if let certificate = tls.certificate { secrets.insert(certificate) }
                }
            }
            for name in secrets.sorted() where out.resources[.secret]?[name] == nil {
                if let bundle = certificates[name] {
                    out.resources[.secret, default: [:]][name] = Translator.secret(bundle)
                } else if let authority = authorities.values.first(where: {
                    ListenerBuilder.authoritySecretName($0.name) == name
                }) {
                    out.resources[.secret, default: [:]][name] = Translator.secret(authority)
                }
            }
            groups[group] = out
        }
        return Outcome(groups: groups, notes: Array(Set(notes)).sorted())
    }

    /// A raw resource names its RDS, EDS and SDS sources as `ads: {}`; a proxy that uses per-type streams is served
    /// the same resource with its own config source there instead, so one raw file suits every proxy.
    static func adapted(_ message: ProtoMessage, to mode: ConfigSourceMode) -> ProtoMessage {
        guard mode != .ads else { return message }
        if message.typeName == "envoy.config.core.v3.ConfigSource", mode != .ads, message["ads"] != nil,
            var replaced = mode.configSource.messageValue
        {
            for (field, value) in message.fields where field != "ads" && replaced[field] == nil {
                replaced[field] = value
            }
            return replaced
        }
        var out = message
        for (field, value) in message.fields { out[field] = adapted(value, to: mode) }
        return out
    }

    private static func adapted(_ value: ProtoValue, to mode: ConfigSourceMode) -> ProtoValue {
        switch value {
        case .message(let inner): return .message(adapted(inner, to: mode))
        case .any(let inner): return .any(adapted(inner, to: mode))
        case .list(let items): return .list(items.map { adapted($0, to: mode) })
        case .map(let entries): return .map(entries.mapValues { adapted($0, to: mode) })
        default: return value
        }
    }

    /// Cluster and secret names a resource refers to (the same fields the snapshot's consistency check follows).
    static func references(_ message: ProtoMessage, clusters: inout Set<String>, secrets: inout Set<String>) {
        switch message.typeName {
        case "envoy.config.route.v3.RouteAction", "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy":
            if let name = message["cluster"]?.stringValue { clusters.insert(name) }
        case "envoy.config.route.v3.WeightedCluster.ClusterWeight":
            if let name = message["name"]?.stringValue { clusters.insert(name) }
        case "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig":
            if let name = message["name"]?.stringValue { secrets.insert(name) }
        default:
            break
        }
        for value in message.fields.values { references(value, clusters: &clusters, secrets: &secrets) }
    }

    private static func references(_ value: ProtoValue, clusters: inout Set<String>, secrets: inout Set<String>) {
        switch value {
        case .message(let inner), .any(let inner): references(inner, clusters: &clusters, secrets: &secrets)
        case .list(let items): for item in items { references(item, clusters: &clusters, secrets: &secrets) }
        case .map(let entries):
            for item in entries.values { references(item, clusters: &clusters, secrets: &secrets) }
        default: break
        }
    }
}
