import ArgumentParser
import Foundation
import Translate
import Vocabulary

struct Bootstrap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an Envoy bootstrap (JSON) that takes all of its configuration from Chancery.")

    @Option(help: "The node id this Envoy reports.")
    var node: String

    @Option(help: "The node group (node.cluster) that selects this Envoy's part of the routes file.")
    var group: String = "default"

    @Option(help: "Chancery's xDS address, host:port.")
    var xds: String = "127.0.0.1:18000"

    @Option(
        help:
            "How Envoy talks to Chancery: sotw or delta (one aggregated stream), none (one stream per type), or none-delta (one delta stream per type)."
    )
    var ads: String = "sotw"

    @Option(help: "Envoy's own admin address, host:port.")
    var envoyAdmin: String = "127.0.0.1:9901"

    @Option(help: "Envoy's limit on open downstream connections (its overload manager refuses more).")
    var maxConnections: Int = 50_000

    @Option(
        help: "envoy (an Envoy bootstrap) or grpc (a gRPC xDS bootstrap for proxyless clients: GRPC_XDS_BOOTSTRAP).")
    var format: String = "envoy"

    @OptionGroup(title: "Security") var security: BootstrapSecurity

    func run() throws {
        let listen = try XDSListenAddress(xds)
        if case .unix = listen, security.enabled {
            throw ValidationError("--xds-ca/--tls-cert/--tls-key apply to TCP; a Unix socket is guarded by its mode")
        }
        switch format {
        case "envoy": break
        case "grpc": return try printJSON(grpcBootstrap())
        default: throw ValidationError("--format must be envoy or grpc")
        }
        guard let (adminHost, adminPort) = splitHostPort(envoyAdmin) else {
            throw ValidationError("--envoy-admin must be host:port")
        }
        let grpcService: [String: Any] = ["envoy_grpc": ["cluster_name": ConfigSourceMode.controlPlaneCluster]]
        var dynamic: [String: Any]
        switch ads {
        case "sotw", "delta":
            let viaADS: [String: Any] = ["ads": [String: Any](), "resource_api_version": "V3"]
            dynamic = [
                "ads_config": [
                    "api_type": ads == "sotw" ? "GRPC" : "DELTA_GRPC",
                    "transport_api_version": "V3",
                    "grpc_services": [grpcService],
                    "set_node_on_first_message_only": true,
                ] as [String: Any],
                "lds_config": viaADS,
                "cds_config": viaADS,
            ]
        case "none", "none-delta":
            let perType: [String: Any] = [
                "api_config_source": [
                    "api_type": ads == "none" ? "GRPC" : "DELTA_GRPC",
                    "transport_api_version": "V3",
                    "grpc_services": [grpcService],
                    "set_node_on_first_message_only": true,
                ] as [String: Any],
                "resource_api_version": "V3",
            ]
            dynamic = ["lds_config": perType, "cds_config": perType]
        default:
            throw ValidationError("--ads must be sotw, delta, none or none-delta")
        }
        var controlPlane: [String: Any] = [
            "name": ConfigSourceMode.controlPlaneCluster,
            "type": isStatic(listen) ? "STATIC" : "STRICT_DNS",
            "connect_timeout": "1s",
            "typed_extension_protocol_options": [
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": [
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": ["http2_protocol_options": [String: Any]()],
                ] as [String: Any]
            ],
            "load_assignment": [
                "cluster_name": ConfigSourceMode.controlPlaneCluster,
                "endpoints": [["lb_endpoints": [["endpoint": ["address": address(listen)]]]]],
            ] as [String: Any],
        ]
        if case .tcp(let host, _) = listen, let tls = security.upstreamTLS(host: host, hostIsIP: isIP(host)) {
            controlPlane["transport_socket"] = tls
        }
        let bootstrap: [String: Any] = [
            "node": ["id": node, "cluster": group],
            "admin": ["address": address(adminHost, adminPort)],
            "dynamic_resources": dynamic,
            "static_resources": ["clusters": [controlPlane]],
            "layered_runtime": StaticBootstrap.runtimeLayers,
            // An edge proxy needs a ceiling on connections, or a flood exhausts file descriptors and memory.
            "overload_manager": [
                "resource_monitors": [
                    [
                        "name": "envoy.resource_monitors.global_downstream_max_connections",
                        "typed_config": [
                            "@type":
                                "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
                            "max_active_downstream_connections": maxConnections,
                        ] as [String: Any],
                    ] as [String: Any]
                ]
            ],
        ]
        try printJSON(bootstrap)
    }

    /// gRPC's xDS bootstrap: gRPC speaks only ADS state-of-the-world; plaintext, or mutual TLS with the same files
    /// as an Envoy's bootstrap.
    private func grpcBootstrap() -> [String: Any] {
        [
            "xds_servers": [
                [
                    "server_uri": xds,
                    "channel_creds": security.grpcChannelCreds,
                    "server_features": ["xds_v3"],
                ] as [String: Any]
            ],
            "node": ["id": node, "cluster": group],
        ]
    }

    private func printJSON(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    private func address(_ host: String, _ port: Int) -> [String: Any] {
        ["socket_address": ["address": host, "port_value": port] as [String: Any]]
    }

    private func address(_ listen: XDSListenAddress) -> [String: Any] {
        switch listen {
        case .tcp(let host, let port): return address(host, port)
        case .unix(let path): return ["pipe": ["path": path]]
        }
    }

    private func isStatic(_ listen: XDSListenAddress) -> Bool {
        switch listen {
        case .tcp(let host, _): return isIP(host)
        case .unix: return true
        }
    }

    private func isIP(_ host: String) -> Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
    }
}

/// Splits "host:port" or "[v6]:port".
func splitHostPort(_ text: String) -> (String, Int)? {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0...65535).contains(port)
    else { return nil }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return host.isEmpty ? nil : (host, port)
}
