import Protobuf
import Vocabulary

/// Small constructors that keep the resource builders readable.
func message(_ type: String, _ fields: [String: ProtoValue] = [:]) -> ProtoValue {
    .message(ProtoMessage(type, fields))
}

func any(_ type: String, _ fields: [String: ProtoValue] = [:]) -> ProtoValue {
    .any(ProtoMessage(type, fields))
}

/// Text that Envoy reads as a substitution format (header values, access-log fields) but that must stay literal:
/// `%` starts a command there, so it is doubled.
func literal(_ text: String) -> String {
    var out = ""
    for character in text { out += character == "%" ? "%%" : String(character) }
    return out
}

func socketAddress(_ host: String, _ port: Int, udp: Bool = false) -> ProtoValue {
    var fields: [String: ProtoValue] = ["address": .string(host), "port_value": .int(Int64(port))]
    if udp { fields["protocol"] = .enumValue("UDP") }
    return message(
        "envoy.config.core.v3.Address", ["socket_address": message("envoy.config.core.v3.SocketAddress", fields)])
}

/// How a config-source mode is written into the Listeners and Clusters that name RDS, EDS and SDS resources.
extension ConfigSourceMode {
    var configSource: ProtoValue {
        switch self {
        case .ads:
            return message(
                "envoy.config.core.v3.ConfigSource",
                [
                    "ads": message("envoy.config.core.v3.AggregatedConfigSource"),
                    "resource_api_version": .enumValue("V3"),
                ])
        case .perTypeSotW, .perTypeDelta:
            return message(
                "envoy.config.core.v3.ConfigSource",
                [
                    "api_config_source": message(
                        "envoy.config.core.v3.ApiConfigSource",
                        [
                            "api_type": .enumValue(self == .perTypeSotW ? "GRPC" : "DELTA_GRPC"),
                            "transport_api_version": .enumValue("V3"),
                            "grpc_services": .list([
                                message(
                                    "envoy.config.core.v3.GrpcService",
                                    [
                                        "envoy_grpc": message(
                                            "envoy.config.core.v3.GrpcService.EnvoyGrpc",
                                            [
                                                "cluster_name": .string(ConfigSourceMode.controlPlaneCluster)
                                            ])
                                    ])
                            ]),
                            "set_node_on_first_message_only": .bool(true),
                        ]),
                    "resource_api_version": .enumValue("V3"),
                ])
        }
    }
}

/// An HTTP filter of the connection manager's chain; `disabled` ones run only where a route's per-filter
/// configuration turns them on.
func chainFilter(_ name: String, _ typedConfig: ProtoValue, disabled: Bool = false) -> ProtoValue {
    var fields: [String: ProtoValue] = ["name": .string(name), "typed_config": typedConfig]
    if disabled { fields["disabled"] = .bool(true) }
    return message("envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter", fields)
}
