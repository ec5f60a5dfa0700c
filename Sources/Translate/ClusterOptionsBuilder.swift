import Config
import Protobuf
import Vocabulary

/// The optional parts of a Cluster: load balancing, health checks, outlier detection, circuit breakers and TLS to
/// the upstream (certificates through SDS, like the listeners' own).
enum ClusterOptionsBuilder {
    static let lbPolicies: [LBPolicy: String] = [
        .roundRobin: "ROUND_ROBIN", .leastRequest: "LEAST_REQUEST", .random: "RANDOM", .ringHash: "RING_HASH",
        .maglev: "MAGLEV",
    ]

    static func apply(_ cluster: Cluster, mode: ConfigSourceMode, to fields: inout [String: ProtoValue]) {
        if cluster.lbPolicy != .roundRobin {
            fields["lb_policy"] = .enumValue(lbPolicies[cluster.lbPolicy] ?? "ROUND_ROBIN")
        }
        if let check = cluster.healthCheck { fields["health_checks"] = .list([healthCheck(check, cluster: cluster)]) }
        if let outlier = cluster.outlierDetection { fields["outlier_detection"] = outlierDetection(outlier) }
        if let limits = cluster.circuitBreakers { fields["circuit_breakers"] = circuitBreakers(limits) }
        if let tls = cluster.tls { fields["transport_socket"] = transportSocket(tls, mode: mode) }
    }

    private static func healthCheck(_ check: HealthCheck, cluster: Cluster) -> ProtoValue {
        var fields: [String: ProtoValue] = [
            "timeout": .duration(check.timeout),
            "interval": .duration(check.interval),
            "healthy_threshold": .uint32Value(UInt32(check.healthyThreshold)),
            "unhealthy_threshold": .uint32Value(UInt32(check.unhealthyThreshold)),
        ]
        switch check.kind {
        case .http(let path, let host, let statuses):
            var http: [String: ProtoValue] = ["path": .string(path)]
            if let host { http["host"] = .string(host) }
            if !statuses.isEmpty {
                http["expected_statuses"] = .list(
                    statuses.map { range in
                        message(
                            "envoy.type.v3.Int64Range",
                            ["start": .int(Int64(range.lowerBound)), "end": .int(Int64(range.upperBound))])
                    })
            }
            fields["http_health_check"] = message("envoy.config.core.v3.HealthCheck.HttpHealthCheck", http)
        case .tcp:
            fields["tcp_health_check"] = message("envoy.config.core.v3.HealthCheck.TcpHealthCheck")
        }
        return message("envoy.config.core.v3.HealthCheck", fields)
    }

    private static func outlierDetection(_ outlier: OutlierDetection) -> ProtoValue {
        var fields: [String: ProtoValue] = [:]
        if let count = outlier.consecutive5xx { fields["consecutive_5xx"] = .uint32Value(UInt32(count)) }
        if let interval = outlier.interval { fields["interval"] = .duration(interval) }
        if let base = outlier.baseEjectionTime { fields["base_ejection_time"] = .duration(base) }
        if let percent = outlier.maxEjectionPercent { fields["max_ejection_percent"] = .uint32Value(UInt32(percent)) }
        return message("envoy.config.cluster.v3.OutlierDetection", fields)
    }

    private static func circuitBreakers(_ limits: CircuitBreakers) -> ProtoValue {
        var fields: [String: ProtoValue] = ["priority": .enumValue("DEFAULT")]
        if let n = limits.maxConnections { fields["max_connections"] = .uint32Value(UInt32(n)) }
        if let n = limits.maxPendingRequests { fields["max_pending_requests"] = .uint32Value(UInt32(n)) }
        if let n = limits.maxRequests { fields["max_requests"] = .uint32Value(UInt32(n)) }
        // A present wrapper holding 0 is a real limit (no retries), unlike an absent one.
        if let n = limits.maxRetries { fields["max_retries"] = .uint32Value(UInt32(n)) }
        return message(
            "envoy.config.cluster.v3.CircuitBreakers",
            ["thresholds": .list([message("envoy.config.cluster.v3.CircuitBreakers.Thresholds", fields)])])
    }

    private static func transportSocket(_ tls: UpstreamTLS, mode: ConfigSourceMode) -> ProtoValue {
        var common: [String: ProtoValue] = [
            "validation_context_sds_secret_config": message(
                "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig",
                [
                    "name": .string(ListenerBuilder.authoritySecretName(tls.ca)),
                    "sds_config": mode.configSource,
                ])
        ]
        if let certificate = tls.certificate {
            common["tls_certificate_sds_secret_configs"] = .list([
                message(
                    "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig",
                    ["name": .string(certificate), "sds_config": mode.configSource])
            ])
        }
        var context: [String: ProtoValue] = [
            "common_tls_context": message("envoy.extensions.transport_sockets.tls.v3.CommonTlsContext", common)
        ]
        if let sni = tls.sni {
            context["sni"] = .string(sni)
            // The upstream's certificate must name the server asked for, not only chain to the CA.
            context["auto_sni_san_validation"] = .bool(true)
        }
        return message(
            "envoy.config.core.v3.TransportSocket",
            [
                "name": .string("envoy.transport_sockets.tls"),
                "typed_config": any("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", context),
            ])
    }
}
