import Config
import Protobuf
import Vocabulary

/// One node group's resources as an Envoy bootstrap that holds them all in `static_resources`, so that
/// `envoy --mode validate` checks exactly what a proxy of the group would be sent over xDS.
///
/// Envoy's bootstrap has no place for route configurations, endpoints or a secret source of its own, so the
/// resources change shape without changing meaning: each HttpConnectionManager carries its route configuration
/// inline instead of naming it over RDS, each EDS cluster becomes STATIC with its ClusterLoadAssignment inline,
/// and each SDS reference keeps its name but loses its config source (a nameless source means a static secret).
/// API listeners (proxyless gRPC) are left out: Envoy takes them only from its own bootstrap and at most one.
///
/// The output holds private keys (the secrets are inline), like `render --format wire`.
public enum StaticBootstrap {
    public static func json(group: String, resources: [ResourceType: [ProtoMessage]]) -> String {
        var routes: [String: ProtoMessage] = [:]
        for route in resources[.route] ?? [] { routes[route["name"]?.stringValue ?? ""] = route }
        var endpoints: [String: ProtoMessage] = [:]
        for assignment in resources[.endpoint] ?? [] {
            endpoints[assignment["cluster_name"]?.stringValue ?? ""] = assignment
        }

        let listeners = (resources[.listener] ?? [])
            .filter { $0["api_listener"] == nil }
            .map { rewrite($0, routes: routes) }
        let clusters = (resources[.cluster] ?? []).map { cluster -> ProtoMessage in
            var cluster = rewrite(cluster, routes: routes)
            guard cluster["type"]?.enumName == "EDS" else { return cluster }
            let name = cluster["name"]?.stringValue ?? ""
            cluster["type"] = .enumValue("STATIC")
            cluster["eds_cluster_config"] = nil
            cluster["load_assignment"] = .message(
                endpoints[name] ?? ProtoMessage(ResourceType.endpoint.protoName, ["cluster_name": .string(name)]))
            return cluster
        }
        let secrets = resources[.secret] ?? []

        let node = "{\"id\": \"chancery-validate\", \"cluster\": \(ProtoJSON.quoted(group))}"
        let staticResources = [
            ("listeners", listeners), ("clusters", clusters), ("secrets", secrets),
        ].map { key, items in
            "\(ProtoJSON.quoted(key)): [" + items.map { ProtoJSON.render($0) }.joined(separator: ",\n") + "]"
        }
        return "{\"node\": \(node),\n\"layered_runtime\": \(runtimeJSON),\n\"static_resources\": {\n"
            + staticResources.joined(separator: ",\n") + "\n}}"
    }

    /// Envoy's runtime as every bootstrap Chancery writes sets it: RE2 programs up to `RegexCost.limit`
    /// instructions, the size the routes file is checked against (Envoy's default of 100 refuses ordinary
    /// patterns), then an admin layer so `/runtime_modify` still works.
    public static var runtimeLayers: [String: Any] {
        [
            "layers": [
                [
                    "name": "chancery",
                    "static_layer": ["re2.max_program_size.error_level": RegexCost.limit] as [String: Any],
                ] as [String: Any],
                ["name": "admin", "admin_layer": [String: Any]()] as [String: Any],
            ]
        ]
    }

    static let runtimeJSON =
        "{\"layers\": [{\"name\": \"chancery\", \"static_layer\": {\"re2.max_program_size.error_level\": \(RegexCost.limit)}}, "
        + "{\"name\": \"admin\", \"admin_layer\": {}}]}"

    /// Applies the RDS and SDS changes everywhere inside `message`, depth first.
    static func rewrite(_ message: ProtoMessage, routes: [String: ProtoMessage]) -> ProtoMessage {
        var message = message
        for (name, value) in message.fields { message.fields[name] = rewrite(value, routes: routes) }
        switch message.typeName {
        case "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager":
            guard let rds = message["rds"]?.messageValue else { break }
            let name = rds["route_config_name"]?.stringValue ?? ""
            message["rds"] = nil
            message["route_config"] = .message(
                routes[name] ?? ProtoMessage(ResourceType.route.protoName, ["name": .string(name)]))
        case "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig":
            message["sds_config"] = nil
        default:
            break
        }
        return message
    }

    private static func rewrite(_ value: ProtoValue, routes: [String: ProtoMessage]) -> ProtoValue {
        switch value {
        case .message(let inner): return .message(rewrite(inner, routes: routes))
        case .any(let inner): return .any(rewrite(inner, routes: routes))
        case .list(let items): return .list(items.map { rewrite($0, routes: routes) })
        case .map(let entries): return .map(entries.mapValues { rewrite($0, routes: routes) })
        default: return value
        }
    }
}
