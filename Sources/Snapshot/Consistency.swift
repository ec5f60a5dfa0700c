import Protobuf
import Vocabulary

/// Checks that every RDS, EDS, SDS and cluster name referenced inside a group's resources exists in the group.
///
/// It walks the encoded messages themselves rather than trusting the translator, so a translator bug cannot send a
/// proxy a Listener whose RouteConfiguration or Secret never arrives.
enum Consistency {
    /// A name one resource gives another.
    struct Reference: Hashable, Sendable {
        let type: ResourceType
        let name: String
    }

    static func check(_ group: GroupSnapshot) throws(SnapshotError) {
        for type in [ResourceType.listener, .route, .cluster] {
            for resource in group[type].resources.values.sorted(by: { $0.name < $1.name }) {
                for reference in resource.references where group[reference.type].resources[reference.name] == nil {
                    throw SnapshotError.dangling(
                        group: group.group, fromType: type, fromName: resource.name, type: reference.type,
                        name: reference.name)
                }
            }
        }
    }

    /// What a resource of `type` refers to, found by walking the message itself (done once per encoded resource).
    static func references(_ type: ResourceType, _ message: ProtoMessage) -> [Reference] {
        guard type == .listener || type == .route || type == .cluster else { return [] }
        var refs: [(ResourceType, String)] = []
        collect(message, into: &refs)
        if type == .cluster, isEDS(message) {
            refs.append((.endpoint, edsName(message)))
        }
        // Each name once, in a fixed order: the walk follows dictionary order, which differs between two equal
        // messages, and a route configuration names the same cluster from many routes.
        return Set(refs.map { Reference(type: $0.0, name: $0.1) }).sorted {
            ($0.type.rawValue, $0.name) < ($1.type.rawValue, $1.name)
        }
    }

    private static func collect(_ message: ProtoMessage, into refs: inout [(ResourceType, String)]) {
        switch message.typeName {
        case "envoy.extensions.filters.network.http_connection_manager.v3.Rds":
            if let name = message["route_config_name"]?.stringValue { refs.append((.route, name)) }
        case "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig":
            if let name = message["name"]?.stringValue { refs.append((.secret, name)) }
        case "envoy.config.route.v3.RouteAction", "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy":
            if let name = message["cluster"]?.stringValue { refs.append((.cluster, name)) }
        case "envoy.config.route.v3.WeightedCluster.ClusterWeight":
            if let name = message["name"]?.stringValue { refs.append((.cluster, name)) }
        default:
            break
        }
        for value in message.fields.values { collect(value, into: &refs) }
    }

    private static func collect(_ value: ProtoValue, into refs: inout [(ResourceType, String)]) {
        switch value {
        case .message(let inner), .any(let inner): collect(inner, into: &refs)
        case .list(let items): for item in items { collect(item, into: &refs) }
        case .map(let entries): for item in entries.values { collect(item, into: &refs) }
        default: break
        }
    }

    private static func isEDS(_ cluster: ProtoMessage) -> Bool {
        if case .enumValue("EDS")? = cluster["type"] { return true }
        return false
    }

    private static func edsName(_ cluster: ProtoMessage) -> String {
        let serviceName = cluster["eds_cluster_config"]?.messageValue?["service_name"]?.stringValue ?? ""
        return serviceName.isEmpty ? (cluster["name"]?.stringValue ?? "") : serviceName
    }
}
