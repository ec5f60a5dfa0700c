import Protobuf
import Snapshot
import Vocabulary

/// Builds small group snapshots from names, for state-machine tests. `content` changes a resource's bytes.
public enum SnapshotFactory {
    public static func resource(_ type: ResourceType, _ name: String, content: String = "") -> EncodedResource {
        var fields: [String: ProtoValue] = [type.nameField: .string(name)]
        if type == .cluster { fields["type"] = .enumValue("EDS") }
        if !content.isEmpty { fields[contentField(type)] = contentValue(type, content) }
        return try! EncodedResource(type: type, name: name, message: ProtoMessage(type.protoName, fields))
    }

    /// `[.cluster: ["a": "", "b": "v2"]]` → a group snapshot holding those resources with that content.
    public static func group(_ spec: [ResourceType: [String: String]], name: String = "default") -> GroupSnapshot {
        var types: [ResourceType: TypeSnapshot] = [:]
        for (type, resources) in spec {
            let encoded = Dictionary(
                uniqueKeysWithValues: resources.map { ($0.key, resource(type, $0.key, content: $0.value)) })
            types[type] = TypeSnapshot(type: type, resources: encoded)
        }
        return GroupSnapshot(group: name, mode: .ads, types: types)
    }

    private static func contentField(_ type: ResourceType) -> String {
        switch type {
        case .cluster: return "alt_stat_name"
        case .listener: return "stat_prefix"
        case .route: return "virtual_hosts"
        case .endpoint: return "endpoints"
        case .secret: return "tls_certificate"
        }
    }

    private static func contentValue(_ type: ResourceType, _ content: String) -> ProtoValue {
        switch type {
        case .cluster, .listener:
            return .string(content)
        case .route:
            return .list([.message(ProtoMessage("envoy.config.route.v3.VirtualHost", ["name": .string(content)]))])
        case .endpoint:
            return .list([
                .message(
                    ProtoMessage(
                        "envoy.config.endpoint.v3.LocalityLbEndpoints",
                        ["priority": .int(Int64(content.utf8.count))]))
            ])
        case .secret:
            return .message(
                ProtoMessage(
                    "envoy.extensions.transport_sockets.tls.v3.TlsCertificate",
                    [
                        "certificate_chain": .message(
                            ProtoMessage("envoy.config.core.v3.DataSource", ["inline_string": .string(content)]))
                    ]))
        }
    }
}
