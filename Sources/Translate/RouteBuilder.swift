import Certs
import Config
import Protobuf
import Vocabulary

/// Builds the RouteConfiguration of an HTTP listener: one virtual host per `hosts` entry, then the https redirect.
enum RouteBuilder {
    static func routeConfiguration(
        _ listener: Listener, _ http: HTTPListener, userLists: [String: UserList] = [:],
        descriptors: [String: [UInt8]] = [:]
    ) -> ProtoMessage {
        var hosts = http.hosts.map {
            virtualHost(
                $0, extraRoutes: [], compression: http.compression, userLists: userLists,
                descriptors: descriptors)
        }
        if http.redirectToHTTPS {
            var redirect: [String: ProtoValue] = ["https_redirect": .bool(true)]
            if let port = http.redirectPort { redirect["port_redirect"] = .int(Int64(port)) }
            let redirectRoute = message(
                "envoy.config.route.v3.Route",
                [
                    "match": message("envoy.config.route.v3.RouteMatch", ["prefix": .string("/")]),
                    "redirect": message("envoy.config.route.v3.RedirectAction", redirect),
                ])
            // Envoy allows one `*` virtual host per route configuration. A `*` host beside the redirect (the ACME
            // HTTP-01 challenge path served over plain HTTP) gets the redirect as its last route instead.
            if let index = http.hosts.firstIndex(where: { $0.domains.contains("*") }) {
                hosts[index] = virtualHost(
                    http.hosts[index], extraRoutes: [redirectRoute], compression: http.compression,
                    userLists: userLists,
                    descriptors: descriptors)
            } else {
                var name = "redirect_to_https"
                let taken = Set(http.hosts.map(\.name))
                var suffix = 2
                while taken.contains(name) {
                    name = "redirect_to_https-\(suffix)"
                    suffix += 1
                }
                hosts.append(
                    message(
                        "envoy.config.route.v3.VirtualHost",
                        [
                            "name": .string(name),
                            "domains": .list([.string("*")]),
                            "routes": .list([redirectRoute]),
                        ]))
            }
        }
        var configuration = ProtoMessage(
            ResourceType.route.protoName,
            [
                "name": .string(listener.name),
                "virtual_hosts": .list(hosts),
            ])
        var added: [ProtoValue] = []
        if http.tls != nil, let hsts = http.hsts { added.append(HeaderBuilder.hsts(hsts)) }
        // Browsers learn of HTTP/3 from this header on a TCP answer, then try QUIC on the same port.
        if http.tls != nil, http.http3 { added.append(HeaderBuilder.altSvc(port: listener.port)) }
        if !added.isEmpty { configuration["response_headers_to_add"] = .list(added) }
        return configuration
    }

    private static func virtualHost(
        _ host: VirtualHost, extraRoutes: [ProtoValue], compression: Compression?, userLists: [String: UserList],
        descriptors: [String: [UInt8]]
    ) -> ProtoValue {
        var fields: [String: ProtoValue] = [
            "name": .string(host.name),
            "domains": .list(host.domains.map(ProtoValue.string)),
            "routes": .list(
                host.routes.map {
                    route(
                        $0, compression: compression, cors: $0.cors ?? host.cors,
                        users: ($0.basicAuth ?? host.basicAuth)?.folder.flatMap { userLists[$0] },
                        descriptors: descriptors)
                } + extraRoutes),
        ]
        HeaderBuilder.apply(host.headers, to: &fields)
        var perFilter: [String: ProtoValue] = [:]
        if let limit = host.rateLimit { perFilter.merge(RateLimitBuilder.perRoute(limit)) { $1 } }
        if !perFilter.isEmpty { fields["typed_per_filter_config"] = .map(perFilter) }
        return message("envoy.config.route.v3.VirtualHost", fields)
    }

    /// `cors` is the route's policy or else its host's: Envoy would merge a route's policy with its host's field by
    /// field (a route allowing any origin would inherit the host's credentials), so each route carries its whole
    /// policy and the host none.
    private static func route(
        _ route: Route, compression: Compression?, cors: CORS?, users: UserList?, descriptors: [String: [UInt8]]
    ) -> ProtoValue {
        var fields: [String: ProtoValue] = ["match": MatchBuilder.routeMatch(route)]
        HeaderBuilder.apply(route.headers, to: &fields)
        // Per-filter settings, by filter name: the route's own bucket, compressors turned off.
        var perFilter: [String: ProtoValue] = [:]
        if let limit = route.rateLimit { perFilter.merge(RateLimitBuilder.perRoute(limit)) { $1 } }
        if let policy = cors { perFilter.merge(CORSBuilder.perRoute(policy)) { $1 } }
        if let users { perFilter.merge(BasicAuthBuilder.perRoute(users)) { $1 } }
        if let transcoding = route.grpcJSON {
            perFilter.merge(TranscoderBuilder.perRoute(transcoding, descriptors)) { $1 }
        }
        if route.compression == false, let compression {
            perFilter.merge(CompressionBuilder.disabled(compression)) { $1 }
        }
        if !perFilter.isEmpty { fields["typed_per_filter_config"] = .map(perFilter) }
        switch route.action {
        case .forward(let forward):
            fields["route"] = routeAction(forward)
        case .redirect(let redirect):
            fields["redirect"] = redirectAction(redirect)
        case .respond(let status, let body):
            var direct: [String: ProtoValue] = ["status": .int(Int64(status))]
            if !body.isEmpty {
                direct["body"] = message("envoy.config.core.v3.DataSource", ["inline_string": .string(body)])
            }
            fields["direct_response"] = message("envoy.config.route.v3.DirectResponseAction", direct)
        }
        return message("envoy.config.route.v3.Route", fields)
    }

    private static func routeAction(_ forward: Route.Forward) -> ProtoValue {
        var action: [String: ProtoValue] = [:]
        if forward.split.isEmpty {
            action["cluster"] = .string(forward.cluster)
        } else {
            action["weighted_clusters"] = message(
                "envoy.config.route.v3.WeightedCluster",
                [
                    "clusters": .list(
                        forward.split.map { entry in
                            message(
                                "envoy.config.route.v3.WeightedCluster.ClusterWeight",
                                ["name": .string(entry.name), "weight": .uint32Value(UInt32(entry.weight))])
                        })
                ])
        }
        if let timeout = forward.timeout {
            action["timeout"] = .duration(timeout)
            // A route with no timeout (long uploads, downloads) also must not be cut by the stream idle timer.
            if timeout == .zero { action["idle_timeout"] = .duration(.zero) }
        }
        if forward.websockets {
            action["upgrade_configs"] = .list([
                message(
                    "envoy.config.route.v3.RouteAction.UpgradeConfig",
                    [
                        "upgrade_type": .string("websocket"),
                        "enabled": .boolValue(true),
                    ])
            ])
        }
        if let rewrite = forward.prefixRewrite { action["prefix_rewrite"] = .string(rewrite) }
        if let host = forward.hostRewrite { action["host_rewrite_literal"] = .string(host) }
        if let idle = forward.idleTimeout { action["idle_timeout"] = .duration(idle) }
        if let retries = forward.retries {
            var policy: [String: ProtoValue] = [
                "retry_on": .string(retries.on.joined(separator: ",")),
                "num_retries": .uint32Value(UInt32(retries.count)),
            ]
            if let perTry = retries.perTryTimeout { policy["per_try_timeout"] = .duration(perTry) }
            action["retry_policy"] = message("envoy.config.route.v3.RetryPolicy", policy)
        }
        return message("envoy.config.route.v3.RouteAction", action)
    }

    /// Envoy's RedirectResponseCode enum, by HTTP status.
    static let redirectCodes: [Int: String] = [
        301: "MOVED_PERMANENTLY", 302: "FOUND", 303: "SEE_OTHER", 307: "TEMPORARY_REDIRECT", 308: "PERMANENT_REDIRECT",
    ]

    private static func redirectAction(_ redirect: Route.Redirect) -> ProtoValue {
        var fields: [String: ProtoValue] = [:]
        if redirect.https { fields["https_redirect"] = .bool(true) }
        if let host = redirect.host { fields["host_redirect"] = .string(host) }
        if let port = redirect.port { fields["port_redirect"] = .int(Int64(port)) }
        if let path = redirect.path { fields["path_redirect"] = .string(path) }
        fields["response_code"] = .enumValue(redirectCodes[redirect.status] ?? "MOVED_PERMANENTLY")
        return message("envoy.config.route.v3.RedirectAction", fields)
    }
}
