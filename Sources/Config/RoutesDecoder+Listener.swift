/// Listeners: the common keys, then either the HTTP part (hosts, redirect, TLS) or the TCP part.
extension RoutesDecoder {
    static let listenerKeys = [
        "name", "groups", "address", "port", "accept_proxy_protocol",
        "redirect_to_https", "https_port", "tls", "hosts", "passthrough", "tcp", "access_log", "hsts",
        "trusted_proxies", "compression", "udp", "http3",
    ]
    static let tlsKeys = ["certificate", "alpn", "client_certificates", "client_ca"]
    static let tcpKeys = ["cluster", "idle_timeout"]

    func decodeListener(_ item: Located) -> Listener? {
        guard var map = reader.mapping(item, place: "listener", allowed: Self.listenerKeys) else { return nil }
        let nameValue = map.required("name", hint: "give the listener a unique name, e.g. name: https")
        let name = nameValue.flatMap(reader.nonEmptyString)
        if let name { map.place = "listener \"\(name)\"" }
        map.rejectUnknownKeys()
        if let name, let nameValue {
            references.listenerNames.append(.init(name: name, position: nameValue.position, key: nameValue.path))
        }
        let label = name ?? "#\(item.path)"

        let groups = decodeListenerGroups(map)

        var address = "0.0.0.0"
        if let value = map.value("address"), let text = reader.nonEmptyString(value) {
            if AddressText.isIP(text) {
                address = text
            } else if text.hasPrefix("["), text.hasSuffix("]"), AddressText.isIPv6(String(text.dropFirst().dropLast()))
            {
                address = String(text.dropFirst().dropLast())
            } else {
                reader.report(.invalidAddress(at: value.position, key: value.path, text: text))
            }
        }

        let portValue = map.required("port", hint: "add the port to listen on, e.g. port: 443")
        let port = portValue.flatMap(reader.port)
        if let port, let portValue {
            references.binds.append(
                .init(
                    listener: label, address: address, port: port, groups: groups,
                    position: portValue.position, key: portValue.path, udp: map.has("udp")))
        }

        let acceptProxyProtocol = map.value("accept_proxy_protocol").flatMap(reader.bool) ?? false

        let kind: Listener.Kind?
        if map.has("tcp") {
            kind = decodeTCP(map, listener: label)
        } else if map.has("udp") {
            kind = decodeUDP(map, listener: label)
        } else {
            kind = decodeHTTP(map, listener: label)
        }
        let accessLog = decodeAccessLog(map)
        // HTTP/3 takes the UDP port of the same number: a `udp` listener there would clash.
        if case .http(let http)? = kind, http.http3, let port {
            references.binds.append(
                .init(
                    listener: label + " (http3)", address: address, port: port, groups: groups,
                    position: map.keyPosition("http3"), key: map.keyPath("http3"), udp: true))
        }
        guard let name, let port, let kind else { return nil }
        var listener = Listener(
            name: name, groups: groups, address: address, port: port,
            acceptProxyProtocol: acceptProxyProtocol, kind: kind, position: map.position)
        listener.accessLog = accessLog
        return listener
    }

    func decodeListenerGroups(_ map: MappingReader) -> [String] {
        guard let value = map.value("groups") else { return declaredGroups }
        guard
            let items = reader.stringList(
                value, emptyHint: "name at least one node group, or remove \"groups\" to use all")
        else {
            return declaredGroups
        }
        var groups: [String] = []
        for (group, item) in items {
            if !declaredGroups.contains(group) {
                reader.report(.unknownGroup(at: item.position, key: item.path, name: group, declared: declaredGroups))
            } else if !groups.contains(group) {
                groups.append(group)
            }
        }
        return groups
    }

    private func decodeTCP(_ map: MappingReader, listener: String) -> Listener.Kind? {
        for key in [
            "hosts", "redirect_to_https", "https_port", "tls", "passthrough", "hsts", "trusted_proxies", "compression",
            "udp", "http3",
        ]
        where map.has(key) {
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition(key), key: map.keyPath(key),
                    message: "listener \"\(listener)\" has both \"tcp\" and \"\(key)\"",
                    hint:
                        "a listener is either HTTP (hosts, redirect_to_https, tls) or TCP (tcp); split it into two listeners"
                ))
        }
        guard let value = map.value("tcp"),
            let tcp = reader.mapping(value, place: "tcp of listener \"\(listener)\"", allowed: Self.tcpKeys)
        else {
            return nil
        }
        tcp.rejectUnknownKeys()
        var cluster: String?
        if let clusterValue = tcp.required("cluster", hint: "name the cluster that receives the connections"),
            let name = reader.nonEmptyString(clusterValue)
        {
            cluster = name
            references.clusterUses.append(
                (
                    .init(name: name, position: clusterValue.position, key: clusterValue.path),
                    "TCP listener \"\(listener)\""
                ))
        }
        let idleTimeout = tcp.value("idle_timeout").flatMap(reader.duration)
        guard let cluster else { return nil }
        return .tcp(TCPListener(cluster: cluster, idleTimeout: idleTimeout, position: tcp.position))
    }

    private func decodeHTTP(_ map: MappingReader, listener: String) -> Listener.Kind? {
        var ok = true
        var redirect = false
        var redirectReadable = true
        if let value = map.value("redirect_to_https") {
            let parsed = reader.bool(value)
            redirect = parsed ?? false
            redirectReadable = parsed != nil
        }

        var redirectPort: Int?
        if let value = map.value("https_port") {
            redirectPort = reader.port(value)
            if !redirect {
                reader.report(
                    .invalidValue(
                        at: value.position, key: value.path,
                        message: "\"https_port\" only applies with \"redirect_to_https: true\"",
                        hint: "add redirect_to_https: true or remove https_port"))
            }
        }

        var tls: TLSSettings?
        if let value = map.value("tls") {
            tls = decodeTLS(value, listener: listener)
            if tls == nil { ok = false }
        }

        var hosts: [VirtualHost] = []
        if let value = map.value("hosts") {
            if let items = reader.list(value) {
                if items.isEmpty {
                    reader.report(
                        .emptyList(
                            at: value.position, key: value.path,
                            hint: "add a host with domains and routes, or remove \"hosts\""))
                }
                var hostChecks = HostChecks(listener: listener, listenerCertificate: tls?.certificate)
                for item in items {
                    if let host = decodeHost(item, listener: listener, hasTLS: map.has("tls"), checks: &hostChecks) {
                        hosts.append(host)
                    } else {
                        ok = false
                    }
                }
            } else {
                ok = false
            }
        } else if !redirectReadable {
            ok = false  // already reported as a wrong type; "nothing to do" would repeat it
        } else if map.has("passthrough") {
            // A listener may only forward TLS by server name; its entries are checked below.
        } else if !redirect && map.has("redirect_to_https") == false {
            reader.report(.listenerHasNothingToDo(at: map.position, key: map.path, name: listener))
            ok = false
        } else if !redirect {
            reader.report(
                .listenerHasNothingToDo(
                    at: map.keyPosition("redirect_to_https"),
                    key: map.keyPath("redirect_to_https"), name: listener))
            ok = false
        }
        let hsts = decodeHSTS(map, listener: listener)
        let trustedProxies = decodeTrustedProxies(map)
        let passthrough = decodePassthrough(map, listener: listener, tls: tls, hosts: hosts)
        let compression = decodeCompression(map)
        let http3 = decodeHTTP3(map, listener: listener, tls: tls, hosts: hosts)
        guard ok, let passthrough, let compression, let http3 else { return nil }
        var http = HTTPListener(redirectToHTTPS: redirect, redirectPort: redirectPort, tls: tls, hosts: hosts)
        http.hsts = hsts
        http.trustedProxies = trustedProxies
        http.passthrough = passthrough
        http.compression = compression.value
        http.http3 = http3
        return .http(http)
    }

    private func decodeTLS(_ value: Located, listener: String) -> TLSSettings? {
        guard let tls = reader.mapping(value, place: "tls of listener \"\(listener)\"", allowed: Self.tlsKeys) else {
            return nil
        }
        tls.rejectUnknownKeys()
        var alpn = ["h2", "http/1.1"]
        if let alpnValue = tls.value("alpn"),
            let items = reader.stringList(
                alpnValue, emptyHint: "list protocols such as [h2, http/1.1], or remove \"alpn\"")
        {
            alpn = items.map(\.0)
        }
        guard
            let certificateValue = tls.required(
                "certificate",
                hint: "name a directory under --certs, e.g. certificate: example.com"),
            let certificate = reader.nonEmptyString(certificateValue)
        else { return nil }
        var settings = TLSSettings(certificate: certificate, alpn: alpn, position: certificateValue.position)
        switch decodeClientCertificates(tls) {
        case .failure?: return nil
        case .success(let request)?:
            settings.clientCertificates = request.mode
            settings.clientCA = request.folder ?? certificate
            settings.clientCAPosition = request.position
        case nil: break
        }
        return settings
    }
}
