import Protobuf

/// Real Envoy resources built the way Translate will build them; shared by the codec, JSON and cross-check tests.
/// Each is canonical (no zero scalars, enums by name) so it equals its own decoded form.
enum Fixtures {
    static let hcm = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    static let tls = "envoy.extensions.transport_sockets.tls.v3."

    static func msg(_ type: String, _ fields: [String: ProtoValue] = [:]) -> ProtoValue {
        .message(ProtoMessage(type, fields))
    }

    static func socketAddress(_ host: String, _ port: Int64) -> ProtoValue {
        msg(
            "envoy.config.core.v3.Address",
            [
                "socket_address": msg(
                    "envoy.config.core.v3.SocketAddress",
                    [
                        "address": .string(host), "port_value": .int(port),
                    ])
            ])
    }

    static let adsSource = msg(
        "envoy.config.core.v3.ConfigSource",
        [
            "ads": msg("envoy.config.core.v3.AggregatedConfigSource"),
            "resource_api_version": .enumValue("V3"),
        ])

    static var listener: ProtoMessage {
        let manager = ProtoMessage(
            hcm,
            [
                "stat_prefix": .string("https"),
                "rds": msg(
                    hcm.replacingOccurrences(of: "HttpConnectionManager", with: "Rds"),
                    [
                        "config_source": adsSource, "route_config_name": .string("https"),
                    ]),
                "http_filters": .list([
                    msg(
                        "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
                        [
                            "name": .string("envoy.filters.http.router"),
                            "typed_config": .any(ProtoMessage("envoy.extensions.filters.http.router.v3.Router")),
                        ])
                ]),
                "upgrade_configs": .list([
                    msg(hcm + ".UpgradeConfig", ["upgrade_type": .string("websocket")])
                ]),
                "use_remote_address": .boolValue(true),
                "xff_num_trusted_hops": .int(1),
                "stream_idle_timeout": .duration(.seconds(300)),
                "request_timeout": .duration(.milliseconds(1500)),
                "normalize_path": .boolValue(true),
                "merge_slashes": .bool(true),
                "codec_type": .enumValue("HTTP2"),
            ])
        let downstream = ProtoMessage(
            tls + "DownstreamTlsContext",
            [
                "common_tls_context": msg(
                    tls + "CommonTlsContext",
                    [
                        "tls_certificate_sds_secret_configs": .list([
                            msg(tls + "SdsSecretConfig", ["name": .string("example.com"), "sds_config": adsSource])
                        ]),
                        "alpn_protocols": .list([.string("h2"), .string("http/1.1")]),
                    ])
            ])
        return ProtoMessage(
            "envoy.config.listener.v3.Listener",
            [
                "name": .string("https"),
                "address": socketAddress("0.0.0.0", 443),
                "listener_filters": .list([
                    msg(
                        "envoy.config.listener.v3.ListenerFilter",
                        [
                            "name": .string("envoy.filters.listener.tls_inspector"),
                            "typed_config": .any(
                                ProtoMessage("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector")),
                        ])
                ]),
                "filter_chains": .list([
                    msg(
                        "envoy.config.listener.v3.FilterChain",
                        [
                            "filter_chain_match": msg(
                                "envoy.config.listener.v3.FilterChainMatch",
                                [
                                    "server_names": .list([.string("example.com"), .string("*.example.com")])
                                ]),
                            "filters": .list([
                                msg(
                                    "envoy.config.listener.v3.Filter",
                                    [
                                        "name": .string("envoy.filters.network.http_connection_manager"),
                                        "typed_config": .any(manager),
                                    ])
                            ]),
                            "transport_socket": msg(
                                "envoy.config.core.v3.TransportSocket",
                                [
                                    "name": .string("envoy.transport_sockets.tls"), "typed_config": .any(downstream),
                                ]),
                        ])
                ]),
                "per_connection_buffer_limit_bytes": .uint32Value(32768),
            ])
    }

    static var cluster: ProtoMessage {
        let options = ProtoMessage(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            [
                "explicit_http_config": msg(
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig",
                    [
                        "http2_protocol_options": msg(
                            "envoy.config.core.v3.Http2ProtocolOptions",
                            [
                                "max_concurrent_streams": .uint32Value(100)
                            ])
                    ]),
                "common_http_protocol_options": msg(
                    "envoy.config.core.v3.HttpProtocolOptions",
                    [
                        "idle_timeout": .duration(.seconds(3600))
                    ]),
            ])
        let endpoint = msg(
            "envoy.config.endpoint.v3.LbEndpoint",
            [
                "endpoint": msg(
                    "envoy.config.endpoint.v3.Endpoint",
                    [
                        "address": socketAddress("10.0.0.7", 8080), "hostname": .string("dav.internal"),
                    ]),
                "health_status": .enumValue("HEALTHY"),
                "load_balancing_weight": .uint32Value(10),
            ])
        return ProtoMessage(
            "envoy.config.cluster.v3.Cluster",
            [
                "name": .string("dav"),
                "type": .enumValue("STRICT_DNS"),
                "connect_timeout": .duration(.milliseconds(1500)),
                "lb_policy": .enumValue("LEAST_REQUEST"),
                "dns_lookup_family": .enumValue("V4_ONLY"),
                "respect_dns_ttl": .bool(true),
                "typed_extension_protocol_options": .map([
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": .any(options)
                ]),
                "load_assignment": msg(
                    "envoy.config.endpoint.v3.ClusterLoadAssignment",
                    [
                        "cluster_name": .string("dav"),
                        "endpoints": .list([
                            msg(
                                "envoy.config.endpoint.v3.LocalityLbEndpoints",
                                [
                                    "locality": msg("envoy.config.core.v3.Locality", ["zone": .string("home")]),
                                    "lb_endpoints": .list([endpoint]),
                                    "priority": .int(1),
                                ])
                        ]),
                    ]),
                "transport_socket": msg(
                    "envoy.config.core.v3.TransportSocket",
                    [
                        "name": .string("envoy.transport_sockets.upstream_proxy_protocol"),
                        "typed_config": .any(
                            ProtoMessage(
                                "envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport",
                                [
                                    "config": msg(
                                        "envoy.config.core.v3.ProxyProtocolConfig", ["version": .enumValue("V2")]),
                                    "transport_socket": msg(
                                        "envoy.config.core.v3.TransportSocket",
                                        [
                                            "name": .string("envoy.transport_sockets.raw_buffer"),
                                            "typed_config": .any(
                                                ProtoMessage(
                                                    "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer")),
                                        ]),
                                ])),
                    ]),
            ])
    }

    static var node: ProtoValue {
        msg(
            "envoy.config.core.v3.Node",
            [
                "id": .string("edge-1"),
                "cluster": .string("edge"),
                "user_agent_name": .string("envoy"),
                "user_agent_build_version": msg(
                    "envoy.config.core.v3.BuildVersion",
                    [
                        "version": msg(
                            "envoy.type.v3.SemanticVersion", ["major_number": .int(1), "minor_number": .int(40)])
                    ]),
                "metadata": msg(
                    "google.protobuf.Struct",
                    [
                        "fields": .map([
                            "group": msg("google.protobuf.Value", ["string_value": .string("edge")]),
                            "weight": msg("google.protobuf.Value", ["number_value": .double(2.5)]),
                            "canary": msg("google.protobuf.Value", ["bool_value": .bool(false)]),
                            "none": msg("google.protobuf.Value", ["null_value": .enumValue("NULL_VALUE")]),
                            "tags": msg(
                                "google.protobuf.Value",
                                [
                                    "list_value": msg(
                                        "google.protobuf.ListValue",
                                        [
                                            "values": .list([
                                                msg("google.protobuf.Value", ["string_value": .string("a")])
                                            ])
                                        ])
                                ]),
                        ])
                    ]),
                "client_features": .list([.string("envoy.lb.does_not_support_overprovisioning")]),
            ])
    }

    static var discoveryRequest: ProtoMessage {
        ProtoMessage(
            "envoy.service.discovery.v3.DiscoveryRequest",
            [
                "version_info": .string("v1"),
                "node": node,
                "resource_names": .list([.string("https"), .string("http")]),
                "type_url": .string("type.googleapis.com/envoy.config.listener.v3.Listener"),
                "response_nonce": .string("n-7"),
                "error_detail": msg(
                    "google.rpc.Status",
                    [
                        "code": .int(3),
                        "message": .string("cluster dav: invalid"),
                        "details": .list([.any(ProtoMessage("google.protobuf.StringValue", ["value": .string("why")]))]
                        ),
                    ]),
            ])
    }

    static var deltaRequest: ProtoMessage {
        ProtoMessage(
            "envoy.service.discovery.v3.DeltaDiscoveryRequest",
            [
                "node": msg(
                    "envoy.config.core.v3.Node",
                    [
                        "id": .string("grpc-client"), "user_agent_name": .string("gRPC Go"),
                        "user_agent_version": .string("1.70.0"),
                    ]),
                "type_url": .string("type.googleapis.com/envoy.config.cluster.v3.Cluster"),
                "resource_names_subscribe": .list([.string("*")]),
                "initial_resource_versions": .map(["dav": .string("abc"), "www": .string("def"), "empty": .string("")]),
            ])
    }

    static var deltaResponse: ProtoMessage {
        ProtoMessage(
            "envoy.service.discovery.v3.DeltaDiscoveryResponse",
            [
                "system_version_info": .string("sys-1"),
                "type_url": .string("type.googleapis.com/envoy.config.cluster.v3.Cluster"),
                "nonce": .string("2"),
                "removed_resources": .list([.string("old")]),
                "resources": .list([
                    msg(
                        "envoy.service.discovery.v3.Resource",
                        [
                            "name": .string("dav"), "version": .string("h1"), "resource": .any(cluster),
                            "ttl": .duration(.seconds(30)),
                            "cache_control": msg(
                                "envoy.service.discovery.v3.Resource.CacheControl", ["do_not_cache": .bool(true)]),
                        ])
                ]),
                "control_plane": msg("envoy.config.core.v3.ControlPlane", ["identifier": .string("chancery")]),
            ])
    }

    static var routes: ProtoMessage {
        let route = "envoy.config.route.v3."
        return ProtoMessage(
            route + "RouteConfiguration",
            [
                "name": .string("http"),
                "validate_clusters": .boolValue(false),
                "virtual_hosts": .list([
                    msg(
                        route + "VirtualHost",
                        [
                            "name": .string("redirect"), "domains": .list([.string("*")]),
                            "routes": .list([
                                msg(
                                    route + "Route",
                                    [
                                        "match": msg(route + "RouteMatch", ["prefix": .string("")]),
                                        "redirect": msg(route + "RedirectAction", ["https_redirect": .bool(true)]),
                                    ])
                            ]),
                        ]),
                    msg(
                        route + "VirtualHost",
                        [
                            "name": .string("dav"), "domains": .list([.string("dav.example.com")]),
                            "require_tls": .enumValue("ALL"),
                            "routes": .list([
                                msg(
                                    route + "Route",
                                    [
                                        "match": msg(route + "RouteMatch", ["path": .string("/healthz")]),
                                        "direct_response": msg(
                                            route + "DirectResponseAction",
                                            [
                                                "status": .int(200),
                                                "body": msg(
                                                    "envoy.config.core.v3.DataSource",
                                                    ["inline_string": .string("ok\n")]),
                                            ]),
                                    ]),
                                msg(
                                    route + "Route",
                                    [
                                        "match": msg(route + "RouteMatch", ["prefix": .string("/")]),
                                        "route": msg(
                                            route + "RouteAction",
                                            [
                                                "cluster": .string("dav"), "timeout": .duration(.zero),
                                                "upgrade_configs": .list([
                                                    msg(
                                                        route + "RouteAction.UpgradeConfig",
                                                        ["upgrade_type": .string("websocket")])
                                                ]),
                                            ]),
                                    ]),
                            ]),
                        ]),
                ]),
            ])
    }

    static var secret: ProtoMessage {
        ProtoMessage(
            tls + "Secret",
            [
                "name": .string("example.com"),
                "tls_certificate": msg(
                    tls + "TlsCertificate",
                    [
                        "certificate_chain": msg(
                            "envoy.config.core.v3.DataSource",
                            ["inline_bytes": .bytes(Array("-----BEGIN CERTIFICATE-----\n".utf8))]),
                        "private_key": msg(
                            "envoy.config.core.v3.DataSource", ["inline_bytes": .bytes([0, 1, 2, 250, 255])]),
                    ]),
            ])
    }

    static var all: [(String, ProtoMessage)] {
        [
            ("listener", listener), ("cluster", cluster), ("discovery_request", discoveryRequest),
            ("delta_request", deltaRequest), ("delta_response", deltaResponse), ("routes", routes), ("secret", secret),
        ]
    }
}
