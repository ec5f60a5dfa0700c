/// Virtual hosts and their routes.
extension RoutesDecoder {
    static let hostKeys = [
        "name", "domains", "certificate", "client_certificates", "client_ca", "routes", "request_headers",
        "response_headers", "rate_limit", "cors", "basic_auth",
    ]
    static let routeKeys = [
        "prefix", "path", "regex", "path_template", "headers", "query", "cluster", "clusters", "timeout",
        "idle_timeout", "websockets", "prefix_rewrite", "host_rewrite", "retries", "request_headers",
        "response_headers", "redirect", "respond", "rate_limit", "compression", "cors", "basic_auth", "grpc_json",
    ]
    static let redirectKeys = ["https", "host", "port", "path", "status"]
    static let respondKeys = ["status", "body"]
    static let redirectStatuses = [301, 302, 303, 307, 308]
    /// Envoy's default `max_direct_response_body_size_bytes`: a longer `respond` body is refused.
    static let maxResponseBody = 4096

    /// Names and domains already used by the hosts of one listener.
    struct HostChecks {
        let listener: String
        var names: [String: SourcePosition] = [:]
        /// Lowercased domain → (host name, position of the first use).
        var domains: [String: (host: String, position: SourcePosition)] = [:]
        /// The listener's own certificate; a host with another one is selected by SNI.
        var listenerCertificate: String?
        /// Server name (lowercased, without port) → (certificate, host, position) for SNI-selected certificates.
        var serverNames: [String: (certificate: String, host: String, position: SourcePosition)] = [:]
        /// SNI certificate → the first host using it, with what it asks of client certificates: one chain, one rule.
        var clientRules: [String: (host: String, mode: ClientCertificates?, folder: String?)] = [:]
        init(listener: String, listenerCertificate: String? = nil) {
            self.listener = listener
            self.listenerCertificate = listenerCertificate
        }
    }

    func decodeHost(_ item: Located, listener: String, hasTLS: Bool, checks: inout HostChecks) -> VirtualHost? {
        guard var map = reader.mapping(item, place: "host of listener \"\(listener)\"", allowed: Self.hostKeys) else {
            return nil
        }
        var domains: [String] = []
        var domainsOK = false
        if let value = map.required("domains", hint: "list the host names this host serves, e.g. [www.example.com]"),
            let items = reader.stringList(value, emptyHint: "list at least one domain, e.g. [www.example.com]")
        {
            domainsOK = true
            for (domain, entry) in items {
                if let problem = AddressText.domainProblem(domain) {
                    reader.report(.invalidDomain(at: entry.position, key: entry.path, domain: domain, reason: problem))
                    domainsOK = false
                    continue
                }
                domains.append(domain)
            }
        }

        var name = domains.first
        var nameOK = true
        if let value = map.value("name") {
            name = reader.nonEmptyString(value)
            nameOK = name != nil
            if let name {
                if let first = checks.names[name] {
                    reader.report(
                        .duplicateName(at: value.position, key: value.path, kind: "host", name: name, first: first))
                } else {
                    checks.names[name] = value.position
                }
            }
        } else if let name {
            if let first = checks.names[name] {
                reader.report(
                    .duplicateName(
                        at: map.position, key: map.keyPath("name"), kind: "host", name: name,
                        first: first))
            } else {
                checks.names[name] = map.position
            }
        }
        if let name { map.place = "host \"\(name)\"" }
        map.rejectUnknownKeys()

        // Domains are matched case-insensitively by Envoy, so `Example.com` and `example.com` collide.
        if let value = map.value("domains"), let items = value.node.sequence {
            let path = value.path
            for (index, node) in items.enumerated() {
                guard let domain = node.scalar?.string, domains.contains(domain) else { continue }
                let entry = value.child(node, index: index, path: path)
                let folded = domain.lowercased()
                if let first = checks.domains[folded] {
                    reader.report(
                        .duplicateDomain(
                            at: entry.position, key: entry.path, domain: domain,
                            listener: listener, otherHost: first.host,
                            otherPosition: first.position))
                    domainsOK = false
                } else {
                    checks.domains[folded] = (name ?? "?", entry.position)
                }
            }
        }

        var certificate: String?
        var certificatePosition: SourcePosition?
        if let value = map.value("certificate"), let text = reader.nonEmptyString(value) {
            if hasTLS {
                certificate = text
                certificatePosition = value.position
            } else {
                reader.report(
                    .conflictingKeys(
                        at: map.keyPosition("certificate"), key: value.path,
                        message:
                            "host \"\(name ?? "?")\" sets \"certificate\" but listener \"\(listener)\" has no \"tls\"",
                        hint:
                            "add tls: { certificate: ... } to the listener; a host certificate only overrides it by SNI"
                    ))
            }
        }

        if let certificate, certificate != checks.listenerCertificate, domainsOK,
            let value = map.value("domains"), let items = value.node.sequence
        {
            let path = value.path
            for (index, node) in items.enumerated() {
                guard let domain = node.scalar?.string else { continue }
                let entry = value.child(node, index: index, path: path)
                if !checkServerName(domain, certificate: certificate, host: name ?? "?", at: entry, checks: &checks) {
                    domainsOK = false
                }
            }
        }

        let client = decodeHostClientCertificates(map, host: name ?? "?", certificate: certificate, checks: &checks)
        let edits = decodeHeaderEdits(map)
        let rateLimit = decodeRateLimit(map)
        let cors = decodeCORS(map)
        let basicAuth = decodeBasicAuth(map, onRoute: false)

        var routes: [Route] = []
        var routesOK = false
        if let value = map.required("routes", hint: "add routes, e.g. - { prefix: /, cluster: www }"),
            let items = reader.list(value)
        {
            routesOK = true
            if items.isEmpty {
                reader.report(.emptyList(at: value.position, key: value.path, hint: "add at least one route"))
                routesOK = false
            }
            var decoded: [Located] = []
            for item in items {
                if let route = decodeRoute(item) {
                    routes.append(route)
                    decoded.append(item)
                } else {
                    routesOK = false
                }
            }
            for (index, earlier, reason) in Shadowing.shadowed(routes) {
                reader.report(
                    .shadowedRoute(
                        at: decoded[index].position, key: decoded[index].path, byLine: routes[earlier].position.line,
                        reason: reason))
                routesOK = false
            }
        }

        guard let name, nameOK, domainsOK, routesOK, let edits, let rateLimit, let cors, let basicAuth,
            case .success(let clientRequest) = client
        else {
            return nil
        }
        var host = VirtualHost(
            name: name, domains: domains, certificate: certificate, routes: routes,
            position: map.position)
        host.certificatePosition = certificatePosition
        host.headers = edits
        host.rateLimit = rateLimit.limit
        host.cors = cors.policy
        host.basicAuth = basicAuth.value
        if let request = clientRequest, let certificate {
            host.clientCertificates = request.mode
            host.clientCA = request.folder ?? certificate
            host.clientCAPosition = request.position
        }
        return host
    }

    /// A host's `client_certificates`: only on a host with its own SNI certificate, the same for every host sharing
    /// that certificate (they share one TLS chain). `.success(nil)` when not asked.
    private func decodeHostClientCertificates(
        _ map: MappingReader, host: String, certificate: String?,
        checks: inout HostChecks
    ) -> Result<ClientCertificateRequest?, ReportedError> {
        var request: ClientCertificateRequest?
        switch decodeClientCertificates(map) {
        case .failure(let error)?: return .failure(error)
        case .success(let found)?: request = found
        case nil: break
        }
        guard let certificate, certificate != checks.listenerCertificate else {
            guard request != nil else { return .success(nil) }
            let key = map.has("client_certificates") ? "client_certificates" : "client_ca"
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition(key), key: map.keyPath(key),
                    message: "host \"\(host)\" sets \"client_certificates\" but has no certificate of its own",
                    hint:
                        "set client_certificates in the listener's tls, or give the host its own certificate (selected by SNI)"
                ))
            return .failure(ReportedError())
        }
        let rule = (host: host, mode: request?.mode, folder: request.map { $0.folder ?? certificate })
        if let first = checks.clientRules[certificate] {
            if first.mode != rule.mode || first.folder != rule.folder {
                let key =
                    request == nil
                    ? "certificate" : (map.has("client_certificates") ? "client_certificates" : "client_ca")
                reader.report(
                    .conflictingKeys(
                        at: map.keyPosition(key), key: map.keyPath(key),
                        message:
                            "hosts \"\(first.host)\" and \"\(host)\" share certificate \"\(certificate)\" but ask differently for client certificates",
                        hint:
                            "hosts with one certificate share one TLS chain; give them the same client_certificates and client_ca"
                    ))
                return .failure(ReportedError())
            }
        } else {
            checks.clientRules[certificate] = rule
        }
        return .success(request)
    }

    /// A host with its own certificate is chosen by the TLS server name (SNI), which Envoy matches exactly or as
    /// `*.suffix`: `*` alone, `api.*` and `*-api.example.com` cannot select a certificate, and one server name
    /// cannot select two certificates.
    private func checkServerName(
        _ domain: String, certificate: String, host: String, at entry: Located,
        checks: inout HostChecks
    ) -> Bool {
        let name = VirtualHost.serverName(domain)
        if name == "*" {
            reader.report(
                .invalidDomain(
                    at: entry.position, key: entry.path, domain: domain,
                    reason:
                        "matches every name, so it cannot select host \"\(host)\"'s own certificate \"\(certificate)\" by SNI",
                    hint:
                        "make \"\(certificate)\" the listener's tls certificate (used when no host certificate matches), or list the names this certificate covers"
                ))
            return false
        }
        if name.contains("*") && !(name.hasPrefix("*.") && !name.dropFirst().contains("*")) {
            reader.report(
                .invalidDomain(
                    at: entry.position, key: entry.path, domain: domain,
                    reason:
                        "cannot select host \"\(host)\"'s own certificate \"\(certificate)\" by SNI: Envoy matches server names exactly or as *.suffix",
                    hint:
                        "list the names, use a *.example.com wildcard, or serve this domain from a host without its own certificate"
                ))
            return false
        }
        if let first = checks.serverNames[name], first.certificate != certificate {
            reader.report(
                .duplicateDomain(
                    at: entry.position, key: entry.path, domain: domain,
                    listener: checks.listener, otherHost: first.host,
                    otherPosition: first.position,
                    hint:
                        "server name \"\(name)\" would select both certificate \"\(first.certificate)\" and \"\(certificate)\"; keep one"
                ))
            return false
        }
        checks.serverNames[name] = (certificate, host, entry.position)
        return true
    }
}
