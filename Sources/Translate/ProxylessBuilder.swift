import Config
import Protobuf
import Vocabulary

/// Builds what a proxyless gRPC client resolves `xds:///NAME` through: an API listener holding an
/// HttpConnectionManager that names a RouteConfiguration, whose one route sends every call to the cluster.
enum ProxylessBuilder {
    static func listener(_ service: ProxylessService, mode: ConfigSourceMode) -> ProtoMessage {
        let manager = ProtoMessage(
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            [
                "stat_prefix": .string(service.name),
                "rds": message(
                    "envoy.extensions.filters.network.http_connection_manager.v3.Rds",
                    [
                        "config_source": mode.configSource,
                        "route_config_name": .string(routeName(service)),
                    ]),
                "http_filters": .list([
                    message(
                        "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
                        [
                            "name": .string("envoy.filters.http.router"),
                            "typed_config": any("envoy.extensions.filters.http.router.v3.Router"),
                        ])
                ]),
            ])
        return ProtoMessage(
            ResourceType.listener.protoName,
            [
                "name": .string(service.name),
                "api_listener": message("envoy.config.listener.v3.ApiListener", ["api_listener": .any(manager)]),
            ])
    }

    /// The route configuration is named after the service with a prefix, so it cannot collide with an HTTP
    /// listener's route configuration (which carries the listener's name).
    static func routeName(_ service: ProxylessService) -> String { "grpc:" + service.name }

    static func routeConfiguration(_ service: ProxylessService) -> ProtoMessage {
        var action: [String: ProtoValue] = ["cluster": .string(service.cluster)]
        if let timeout = service.timeout {
            action["max_stream_duration"] = message(
                "envoy.config.route.v3.RouteAction.MaxStreamDuration",
                [
                    "max_stream_duration": .duration(timeout)
                ])
        }
        return ProtoMessage(
            ResourceType.route.protoName,
            [
                "name": .string(routeName(service)),
                "virtual_hosts": .list([
                    message(
                        "envoy.config.route.v3.VirtualHost",
                        [
                            "name": .string(service.name),
                            "domains": .list([.string("*")]),
                            "routes": .list([
                                message(
                                    "envoy.config.route.v3.Route",
                                    [
                                        "match": message("envoy.config.route.v3.RouteMatch", ["prefix": .string("")]),
                                        "route": message("envoy.config.route.v3.RouteAction", action),
                                    ])
                            ]),
                        ])
                ]),
            ])
    }
}
