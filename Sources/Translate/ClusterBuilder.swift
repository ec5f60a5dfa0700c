import Config
import Protobuf
import Vocabulary

/// Builds Clusters and their ClusterLoadAssignments.
///
/// A cluster whose endpoints are all IP literals is an EDS cluster, so endpoint changes travel without touching the
/// Cluster; a cluster with a DNS name is STRICT_DNS with its endpoints inline, since Envoy resolves those itself.
enum ClusterBuilder {
    static func usesEDS(_ cluster: Cluster) -> Bool { cluster.endpoints.allSatisfy { isIPLiteral($0.host) } }

    static func cluster(_ cluster: Cluster, mode: ConfigSourceMode) -> ProtoMessage {
        var fields: [String: ProtoValue] = [
            "name": .string(cluster.name),
            "connect_timeout": .duration(cluster.connectTimeout),
        ]
        if usesEDS(cluster) {
            fields["type"] = .enumValue("EDS")
            fields["eds_cluster_config"] = message(
                "envoy.config.cluster.v3.Cluster.EdsClusterConfig",
                [
                    "eds_config": mode.configSource
                ])
        } else {
            fields["type"] = .enumValue("STRICT_DNS")
            fields["dns_lookup_family"] = .enumValue(dnsLookupFamilies[cluster.dnsLookupFamily] ?? "V4_PREFERRED")
            fields["load_assignment"] = .message(loadAssignment(cluster))
        }
        if let version = cluster.proxyProtocol {
            fields["transport_socket"] = message(
                "envoy.config.core.v3.TransportSocket",
                [
                    "name": .string("envoy.transport_sockets.upstream_proxy_protocol"),
                    "typed_config": any(
                        "envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport",
                        [
                            "config": message(
                                "envoy.config.core.v3.ProxyProtocolConfig",
                                [
                                    "version": .enumValue(version == .v1 ? "V1" : "V2")
                                ]),
                            "transport_socket": message(
                                "envoy.config.core.v3.TransportSocket",
                                [
                                    "name": .string("envoy.transport_sockets.raw_buffer"),
                                    "typed_config": any("envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"),
                                ]),
                        ]),
                ])
        }
        if cluster.http2 {
            fields["typed_extension_protocol_options"] = .map([
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": any(
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    [
                        "explicit_http_config": message(
                            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig",
                            [
                                "http2_protocol_options": message("envoy.config.core.v3.Http2ProtocolOptions")
                            ])
                    ])
            ])
        }
        ClusterOptionsBuilder.apply(cluster, mode: mode, to: &fields)
        return ProtoMessage(ResourceType.cluster.protoName, fields)
    }

    /// Envoy's Cluster.DnsLookupFamily enum, by routes-file value.
    static let dnsLookupFamilies: [Cluster.DNSLookupFamily: String] = [
        .v4Preferred: "V4_PREFERRED", .v4Only: "V4_ONLY", .v6Only: "V6_ONLY", .auto: "AUTO", .all: "ALL",
    ]

    static func loadAssignment(_ cluster: Cluster) -> ProtoMessage {
        let endpoints = cluster.endpoints.map { endpoint in
            var fields: [String: ProtoValue] = [
                "endpoint": message(
                    "envoy.config.endpoint.v3.Endpoint",
                    [
                        "address": socketAddress(endpoint.host, endpoint.port)
                    ])
            ]
            if let weight = endpoint.weight { fields["load_balancing_weight"] = .uint32Value(UInt32(weight)) }
            return message("envoy.config.endpoint.v3.LbEndpoint", fields)
        }
        return ProtoMessage(
            ResourceType.endpoint.protoName,
            [
                "cluster_name": .string(cluster.name),
                "endpoints": .list([
                    // gRPC clients refuse a locality that is absent or has no weight; Envoy does not mind either.
                    message(
                        "envoy.config.endpoint.v3.LocalityLbEndpoints",
                        [
                            "locality": message("envoy.config.core.v3.Locality"),
                            "lb_endpoints": .list(endpoints),
                            "load_balancing_weight": .uint32Value(1),
                        ])
                ]),
            ])
    }

    /// True for an IPv4 dotted quad or an IPv6 literal (which always holds a colon).
    static func isIPLiteral(_ host: String) -> Bool {
        // Bytes, not Foundation's `contains`, which bridges to NSString (it showed in the 10,000-route build).
        if host.utf8.contains(UInt8(ascii: ":")) { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                guard let value = Int(part), !part.isEmpty, part.count <= 3 else { return false }
                return (0...255).contains(value)
            }
    }
}
