import Config
import Protobuf
import Vocabulary

/// Builds Envoy Listeners from the routes model. Stateless: same input, same output.
enum ListenerBuilder {
    static func listener(_ listener: Listener, mode: ConfigSourceMode, descriptors: [String: [UInt8]] = [:])
        -> ProtoMessage
    {
        var fields: [String: ProtoValue] = [
            "name": .string(listener.name),
            "address": socketAddress(listener.address, listener.port),
        ]
        var listenerFilters: [ProtoValue] = []
        if listener.acceptProxyProtocol {
            listenerFilters.append(
                message(
                    "envoy.config.listener.v3.ListenerFilter",
                    [
                        "name": .string("envoy.filters.listener.proxy_protocol"),
                        "typed_config": any("envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol"),
                    ]))
        }
        switch listener.kind {
        case .http(let http):
            var chains = servesHTTP(http) ? httpFilterChains(listener, http, mode: mode, descriptors: descriptors) : []
            chains += http.passthrough.map { passthroughChain(listener, $0) }
            // With TLS, the inspector reads SNI before the handshake: it picks a host's own certificate or a
            // passthrough, and it is what makes the server name known to the access log.
            if http.tls != nil || !http.passthrough.isEmpty {
                listenerFilters.append(
                    message(
                        "envoy.config.listener.v3.ListenerFilter",
                        [
                            "name": .string("envoy.filters.listener.tls_inspector"),
                            "typed_config": any("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"),
                        ]))
            }
            fields["filter_chains"] = .list(chains)
        case .tcp(let tcp):
            let proxy = tcpProxy(
                listener, statPrefix: listener.name, cluster: tcp.cluster, idleTimeout: tcp.idleTimeout)
            fields["filter_chains"] = .list([
                message("envoy.config.listener.v3.FilterChain", ["filters": .list([proxy])])
            ])
        case .udp(let udp):
            // No filter chains: a UDP listener's work is its listener filter, the UDP proxy.
            fields["address"] = socketAddress(listener.address, listener.port, udp: true)
            let sockets = message(
                "envoy.config.core.v3.UdpSocketConfig",
                ["max_rx_datagram_size": .uint64Value(UInt64(udp.maxDatagramSize))])
            fields["udp_listener_config"] = message(
                "envoy.config.listener.v3.UdpListenerConfig", ["downstream_socket_config": sockets])
            // Every datagram to one cluster: a matcher with only its no-match action (the plain `cluster` field is
            // deprecated).
            let route = message(
                "xds.core.v3.TypedExtensionConfig",
                [
                    "name": .string("route"),
                    "typed_config": any(
                        "envoy.extensions.filters.udp.udp_proxy.v3.Route", ["cluster": .string(udp.cluster)]),
                ])
            var proxy: [String: ProtoValue] = [
                "stat_prefix": .string(listener.name),
                "matcher": message(
                    "xds.type.matcher.v3.Matcher",
                    ["on_no_match": message("xds.type.matcher.v3.Matcher.OnMatch", ["action": route])]),
            ]
            if let idle = udp.idleTimeout { proxy["idle_timeout"] = .duration(idle) }
            proxy["upstream_socket_config"] = sockets
            listenerFilters.append(
                message(
                    "envoy.config.listener.v3.ListenerFilter",
                    [
                        "name": .string("envoy.filters.udp_listener.udp_proxy"),
                        "typed_config": any("envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig", proxy),
                    ]))
        }
        if !listenerFilters.isEmpty { fields["listener_filters"] = .list(listenerFilters) }
        return ProtoMessage(ResourceType.listener.protoName, fields)
    }

    /// Whether a listener answers HTTP itself (and so has a route configuration), rather than only forwarding TLS
    /// connections by server name.
    static func servesHTTP(_ http: HTTPListener) -> Bool {
        http.tls != nil || !http.hosts.isEmpty || http.redirectToHTTPS || http.passthrough.isEmpty
    }

    /// A TCP proxy filter to `cluster`, logging like the listener.
    private static func tcpProxy(_ listener: Listener, statPrefix: String, cluster: String, idleTimeout: Duration?)
        -> ProtoValue
    {
        var proxy: [String: ProtoValue] = [
            "stat_prefix": .string(statPrefix),
            "cluster": .string(cluster),
        ]
        if let idleTimeout { proxy["idle_timeout"] = .duration(idleTimeout) }
        if let log = AccessLogBuilder.accessLog(listener.accessLog, listener: listener.name, http: false) {
            proxy["access_log"] = .list([log])
        }
        return message(
            "envoy.config.listener.v3.Filter",
            [
                "name": .string("envoy.filters.network.tcp_proxy"),
                "typed_config": any("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", proxy),
            ])
    }

    /// The chain of one passthrough entry: chosen by server name, no transport socket (the bytes stay TLS), a TCP
    /// proxy to the cluster. Envoy prefers an exact server name to a wildcard, so these coexist with the chains of
    /// hosts' own certificates and with the default chain, which takes every other name.
    private static func passthroughChain(_ listener: Listener, _ entry: Passthrough) -> ProtoValue {
        message(
            "envoy.config.listener.v3.FilterChain",
            [
                "name": .string("passthrough/" + entry.serverNames[0]),
                "filter_chain_match": message(
                    "envoy.config.listener.v3.FilterChainMatch",
                    ["server_names": .list(entry.serverNames.map(ProtoValue.string))]),
                "filters": .list([
                    tcpProxy(
                        listener, statPrefix: listener.name + ".passthrough", cluster: entry.cluster,
                        idleTimeout: entry.idleTimeout)
                ]),
            ])
    }

    /// The certificates a listener presents, default first: hosts may override the listener's certificate by SNI.
    static func certificateNames(_ http: HTTPListener) -> [String] {
        guard let tls = http.tls else { return [] }
        let overrides = Set(http.hosts.compactMap(\.certificate)).subtracting([tls.certificate])
        return [tls.certificate] + overrides.sorted()
    }

    /// The TLS settings of the chain presenting `certificate`: the listener's, except that a host with its own
    /// certificate may ask for client certificates of its own (the decoder makes the hosts of one certificate agree).
    static func chainSettings(_ http: HTTPListener, _ tls: TLSSettings, certificate: String) -> TLSSettings {
        var settings = tls
        guard certificate != settings.certificate,
            let host = http.hosts.first(where: { $0.certificate == certificate && $0.clientCertificates != nil })
        else { return settings }
        settings.clientCertificates = host.clientCertificates
        settings.clientCA = host.clientCA
        settings.clientCAPosition = host.clientCAPosition
        return settings
    }

    /// The folders whose `ca.crt` a listener's chains trust, sorted.
    static func authorityNames(_ http: HTTPListener) -> [String] {
        guard let tls = http.tls else { return [] }
        return Set(certificateNames(http).compactMap { chainSettings(http, tls, certificate: $0).trustedCA }).sorted()
    }

    /// One filter chain per certificate; with more than one, each non-default chain matches its hosts' domains by SNI.
    /// The HTTP/3 twin of a TLS listener with `http3`: the same chains over QUIC on the UDP port of the same
    /// number, sharing the TCP listener's route configuration (which advertises it with `alt-svc`). QUIC reads the
    /// server name itself, so it needs no TLS inspector.
    static func quicListener(
        _ listener: Listener, _ http: HTTPListener, mode: ConfigSourceMode, descriptors: [String: [UInt8]]
    )
        -> ProtoMessage
    {
        ProtoMessage(
            ResourceType.listener.protoName,
            [
                "name": .string(listener.name + "-http3"),
                "address": socketAddress(listener.address, listener.port, udp: true),
                "udp_listener_config": message(
                    "envoy.config.listener.v3.UdpListenerConfig",
                    ["quic_options": message("envoy.config.listener.v3.QuicProtocolOptions")]),
                "filter_chains": .list(
                    httpFilterChains(listener, http, mode: mode, descriptors: descriptors, quic: true)),
            ])
    }

    private static func httpFilterChains(
        _ listener: Listener, _ http: HTTPListener, mode: ConfigSourceMode, descriptors: [String: [UInt8]],
        quic: Bool = false
    ) -> [ProtoValue] {
        var manager = connectionManager(listener, http, mode: mode, descriptors: descriptors)
        if quic {
            manager["codec_type"] = .enumValue("HTTP3")
            manager["http3_protocol_options"] = message("envoy.config.core.v3.Http3ProtocolOptions")
        }
        let hcm = message(
            "envoy.config.listener.v3.Filter",
            [
                "name": .string("envoy.filters.network.http_connection_manager"),
                "typed_config": .any(manager),
            ])
        guard let tls = http.tls else {
            return [message("envoy.config.listener.v3.FilterChain", ["filters": .list([hcm])])]
        }
        return certificateNames(http).map { cert in
            var chain: [String: ProtoValue] = [
                "name": .string(cert),
                "filters": .list([hcm]),
                "transport_socket": downstreamTLS(
                    certificate: cert, tls: chainSettings(http, tls, certificate: cert), mode: mode, quic: quic),
            ]
            if cert != tls.certificate {
                // SNI carries no port and Envoy compares it in lower case; one name once.
                var names: [String] = []
                for domain in http.hosts.filter({ $0.certificate == cert }).flatMap(\.domains) {
                    let name = VirtualHost.serverName(domain)
                    if !names.contains(name) { names.append(name) }
                }
                chain["filter_chain_match"] = message(
                    "envoy.config.listener.v3.FilterChainMatch",
                    [
                        "server_names": .list(names.map(ProtoValue.string))
                    ])
            }
            return message("envoy.config.listener.v3.FilterChain", chain)
        }
    }

    private static func connectionManager(
        _ listener: Listener, _ http: HTTPListener, mode: ConfigSourceMode, descriptors: [String: [UInt8]]
    ) -> ProtoMessage {
        var manager = ProtoMessage(
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            [
                "stat_prefix": .string(listener.name),
                "rds": message(
                    "envoy.extensions.filters.network.http_connection_manager.v3.Rds",
                    [
                        "config_source": mode.configSource,
                        "route_config_name": .string(listener.name),
                    ]),
                "http_filters": .list([
                    message(
                        "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
                        [
                            "name": .string("envoy.filters.http.router"),
                            "typed_config": any("envoy.extensions.filters.http.router.v3.Router"),
                        ])
                ]),
                // Chancery's Envoy is the edge: it sets X-Forwarded-For from the real peer address.
                "use_remote_address": .boolValue(true),
                // Hosts match with or without the port (`Host: www.example.com:8443`), as a person expects.
                "strip_any_host_port": .bool(true),
                // Reject `/a/../b` tricks before routing: routes see the normalized path.
                "normalize_path": .boolValue(true),
                "merge_slashes": .bool(true),
            ])
        if http.trustedProxies > 0 { manager["xff_num_trusted_hops"] = .int(Int64(http.trustedProxies)) }
        // WebSockets over HTTP/2 arrive as extended CONNECT (RFC 8441), which Envoy takes only when told to.
        // Host by host, not `flatMap(\.routes)`, which would copy every route of the listener into a new array.
        let websockets = http.hosts.contains { host in
            host.routes.contains {
                if case .forward(let forward) = $0.action { return forward.websockets }
                return false
            }
        }
        if websockets {
            manager["http2_protocol_options"] = message(
                "envoy.config.core.v3.Http2ProtocolOptions", ["allow_connect": .bool(true)])
        }
        if case .list(let router)? = manager["http_filters"] {
            var filters: [ProtoValue] = []
            if CORSBuilder.needed(http) { filters.append(CORSBuilder.httpFilter) }
            if BasicAuthBuilder.needed(http) { filters.append(BasicAuthBuilder.httpFilter) }
            if let transcoding = TranscoderBuilder.first(http, descriptors) {
                filters.append(TranscoderBuilder.httpFilter(transcoding, descriptors))
            }
            if RateLimitBuilder.needed(http) { filters.append(RateLimitBuilder.httpFilter) }
            if let compression = http.compression { filters += CompressionBuilder.httpFilters(compression) }
            manager["http_filters"] = .list(filters + router)
        }
        if let log = AccessLogBuilder.accessLog(listener.accessLog, listener: listener.name, http: true) {
            manager["access_log"] = .list([log])
        }
        return manager
    }

    /// The SDS name of the validation-context secret built from `DIR/NAME/ca.crt`. A folder name never holds `/`,
    /// so it never collides with a certificate's own secret (named after its folder).
    public static func authoritySecretName(_ folder: String) -> String { folder + "/ca.crt" }

    /// Every chain of a listener asks for client certificates alike, whichever certificate SNI selects.
    /// Over QUIC the same context sits inside QUIC's transport socket, and the only protocol offered is `h3`.
    private static func downstreamTLS(certificate: String, tls: TLSSettings, mode: ConfigSourceMode, quic: Bool = false)
        -> ProtoValue
    {
        let alpn = quic ? ["h3"] : tls.alpn
        var common: [String: ProtoValue] = [
            "tls_certificate_sds_secret_configs": .list([
                message(
                    "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig",
                    [
                        "name": .string(certificate),
                        "sds_config": mode.configSource,
                    ])
            ])
        ]
        if !alpn.isEmpty { common["alpn_protocols"] = .list(alpn.map(ProtoValue.string)) }
        var context: [String: ProtoValue] = [:]
        if let authority = tls.trustedCA {
            common["validation_context_sds_secret_config"] = message(
                "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig",
                [
                    "name": .string(authoritySecretName(authority)),
                    "sds_config": mode.configSource,
                ])
            if tls.clientCertificates == .required { context["require_client_certificate"] = .boolValue(true) }
        }
        context["common_tls_context"] = message("envoy.extensions.transport_sockets.tls.v3.CommonTlsContext", common)
        if quic {
            return message(
                "envoy.config.core.v3.TransportSocket",
                [
                    "name": .string("envoy.transport_sockets.quic"),
                    "typed_config": any(
                        "envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport",
                        [
                            "downstream_tls_context": message(
                                "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", context)
                        ]),
                ])
        }
        return message(
            "envoy.config.core.v3.TransportSocket",
            [
                "name": .string("envoy.transport_sockets.tls"),
                "typed_config": any("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", context),
            ])
    }
}
