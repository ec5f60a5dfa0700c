/// Virtual hosts and their routes.
extension RoutesDecoder {
    static let hostKeys = ["name", "domains", "certificate", "client_certificates", "client_ca", "routes"]
    static let routeKeys = [
        "prefix", "path", "cluster", "timeout", "websockets", "prefix_rewrite", "redirect", "respond",
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
            for (index, node) in items.enumerated() {
                guard let domain = node.scalar?.string, domains.contains(domain) else { continue }
                let entry = value.child(node, path: "\(value.path)[\(index)]")
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
            for (index, node) in items.enumerated() {
                guard let domain = node.scalar?.string else { continue }
                let entry = value.child(node, path: "\(value.path)[\(index)]")
                if !checkServerName(domain, certificate: certificate, host: name ?? "?", at: entry, checks: &checks) {
                    domainsOK = false
                }
            }
        }

        let client = decodeHostClientCertificates(map, host: name ?? "?", certificate: certificate, checks: &checks)

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
            for item in items {
                if let route = decodeRoute(item) { routes.append(route) } else { routesOK = false }
            }
        }

        guard let name, nameOK, domainsOK, routesOK, case .success(let clientRequest) = client else { return nil }
        var host = VirtualHost(
            name: name, domains: domains, certificate: certificate, routes: routes,
            position: map.position)
        host.certificatePosition = certificatePosition
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

    func decodeRoute(_ item: Located) -> Route? {
        guard let map = reader.mapping(item, place: "route", allowed: Self.routeKeys) else { return nil }
        map.rejectUnknownKeys()

        let match: Route.Match?
        switch (map.value("prefix"), map.value("path")) {
        case (let prefix?, let path?):
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition("path"), key: path.path,
                    message: "route has both \"prefix\" and \"path\"",
                    hint: "keep one: prefix matches everything below it, path matches exactly"))
            _ = prefix
            match = nil
        case (let prefix?, nil):
            match = matchPath(prefix).map(Route.Match.prefix)
        case (nil, let path?):
            match = matchPath(path).map(Route.Match.path)
        case (nil, nil) where map.isMisspelled("prefix") || map.isMisspelled("path"):
            match = nil
        case (nil, nil):
            reader.report(
                .missingKey(
                    at: map.position, key: map.keyPath("prefix"), in: "route",
                    hint: "add prefix: / (everything below) or path: /exact"))
            match = nil
        }

        let actions = ["cluster", "redirect", "respond"].filter(map.has)
        let action: Route.Action?
        if actions.count > 1 {
            let extra = actions[1]
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition(extra), key: map.keyPath(extra),
                    message: "route has both \"\(actions[0])\" and \"\(extra)\"",
                    hint: "a route does exactly one thing: forward (cluster), redirect or respond"))
            action = nil
        } else if actions.isEmpty {
            if !["cluster", "redirect", "respond"].contains(where: map.isMisspelled) {
                reader.report(
                    .missingAction(
                        at: map.position, key: map.keyPath("cluster"),
                        message: "route has no \"cluster\", \"redirect\" or \"respond\"",
                        hint: "add cluster: NAME to forward, redirect: {...} or respond: {...}"))
            }
            action = nil
        } else if actions[0] == "cluster" {
            action = decodeForward(map)
        } else {
            for key in ["timeout", "websockets", "prefix_rewrite"] where map.has(key) {
                reader.report(
                    .conflictingKeys(
                        at: map.keyPosition(key), key: map.keyPath(key),
                        message: "\"\(key)\" only applies to a route with \"cluster\"",
                        hint: "remove \"\(key)\" from this \(actions[0]) route"))
            }
            action = actions[0] == "redirect" ? decodeRedirect(map) : decodeRespond(map)
        }
        guard let match, let action else { return nil }
        return Route(match: match, action: action, position: map.position)
    }

    private func matchPath(_ value: Located) -> String? {
        guard let text = reader.nonEmptyString(value) else { return nil }
        guard text.hasPrefix("/") else {
            reader.report(.invalidPath(at: value.position, key: value.path, text: text))
            return nil
        }
        return text
    }

    private func decodeForward(_ map: MappingReader) -> Route.Action? {
        guard let value = map.value("cluster"), let cluster = reader.nonEmptyString(value) else { return nil }
        references.clusterUses.append((.init(name: cluster, position: value.position, key: value.path), "route"))
        var ok = true
        var timeout: Duration?
        if let timeoutValue = map.value("timeout") {
            timeout = reader.duration(timeoutValue)
            ok = ok && timeout != nil
        }
        let websockets = map.value("websockets").flatMap(reader.bool) ?? false
        var prefixRewrite: String?
        if let rewriteValue = map.value("prefix_rewrite") {
            prefixRewrite = matchPath(rewriteValue)
            ok = ok && prefixRewrite != nil
        }
        guard ok else { return nil }
        return .forward(
            Route.Forward(
                cluster: cluster, timeout: timeout, websockets: websockets,
                prefixRewrite: prefixRewrite))
    }

    private func decodeRedirect(_ route: MappingReader) -> Route.Action? {
        guard let value = route.value("redirect"),
            let map = reader.mapping(value, place: "redirect", allowed: Self.redirectKeys)
        else { return nil }
        map.rejectUnknownKeys()
        var ok = true
        var redirect = Route.Redirect()
        if let https = map.value("https") { redirect.https = reader.bool(https) ?? false }
        if let host = map.value("host") {
            redirect.host = reader.nonEmptyString(host)
            ok = ok && redirect.host != nil
        }
        if let port = map.value("port") {
            redirect.port = reader.port(port)
            ok = ok && redirect.port != nil
        }
        if let path = map.value("path") {
            redirect.path = matchPath(path)
            ok = ok && redirect.path != nil
        }
        if let statusValue = map.value("status") {
            if let status = reader.integer(statusValue), Self.redirectStatuses.contains(status) {
                redirect.status = status
            } else {
                if statusValue.node.scalar.flatMap({ YAMLReader.decimal($0.string) }) != nil {
                    reader.report(
                        .redirectStatusNotAllowed(
                            at: statusValue.position, key: statusValue.path,
                            value: YAMLReader.scalarText(statusValue.node)))
                }
                ok = false
            }
        }
        if ok, !redirect.https, redirect.host == nil, redirect.port == nil, redirect.path == nil {
            reader.report(
                .invalidValue(
                    at: map.position, key: map.path,
                    message: "\"redirect\" changes nothing, so it would redirect to itself forever",
                    hint: "set at least one of https, host, port, path"))
            ok = false
        }
        return ok ? .redirect(redirect) : nil
    }

    private func decodeRespond(_ route: MappingReader) -> Route.Action? {
        guard let value = route.value("respond"),
            let map = reader.mapping(value, place: "respond", allowed: Self.respondKeys)
        else { return nil }
        map.rejectUnknownKeys()
        var status: Int?
        if let statusValue = map.required("status", hint: "add the HTTP status to answer with, e.g. status: 404"),
            let number = reader.integer(statusValue)
        {
            if (200...599).contains(number) {
                status = number
            } else {
                reader.report(
                    .invalidStatus(
                        at: statusValue.position, key: statusValue.path,
                        value: YAMLReader.scalarText(statusValue.node)))
            }
        }
        var body = ""
        var ok = true
        if let bodyValue = map.value("body") {
            if let text = reader.string(bodyValue, multiline: true) {
                body = text
                if text.utf8.count > Self.maxResponseBody {
                    reader.report(
                        .invalidValue(
                            at: bodyValue.position, key: bodyValue.path,
                            message:
                                "respond \"body\" is \(text.utf8.count) bytes; Envoy allows at most \(Self.maxResponseBody)",
                            hint: "shorten it, or serve the page from a cluster"))
                    ok = false
                }
            } else {
                ok = false
            }
        }
        guard let status, ok else { return nil }
        return .respond(status: status, body: body)
    }
}
