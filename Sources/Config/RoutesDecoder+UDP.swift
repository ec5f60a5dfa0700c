/// `udp:` on a listener: datagrams proxied to one cluster.
extension RoutesDecoder {
    static let udpKeys = ["cluster", "idle_timeout", "max_datagram_size"]

    func decodeUDP(_ map: MappingReader, listener: String) -> Listener.Kind? {
        let others = [
            "hosts", "redirect_to_https", "https_port", "tls", "passthrough", "hsts", "trusted_proxies", "compression",
            "tcp", "accept_proxy_protocol", "access_log", "http3",
        ]
        for key in others where map.has(key) {
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition(key), key: map.keyPath(key),
                    message: "listener \"\(listener)\" has both \"udp\" and \"\(key)\"",
                    hint:
                        "a UDP listener only forwards datagrams to its cluster (no HTTP, TLS, PROXY header or access log); give the rest a listener of its own"
                ))
        }
        guard let value = map.value("udp"),
            let udp = reader.mapping(value, place: "udp of listener \"\(listener)\"", allowed: Self.udpKeys)
        else {
            return nil
        }
        udp.rejectUnknownKeys()
        var cluster: String?
        if let clusterValue = udp.required("cluster", hint: "name the cluster that receives the datagrams"),
            let name = reader.nonEmptyString(clusterValue)
        {
            cluster = name
            references.clusterUses.append(
                (
                    .init(name: name, position: clusterValue.position, key: clusterValue.path),
                    "UDP listener \"\(listener)\""
                ))
        }
        var idleTimeout: Duration?
        if let idle = udp.value("idle_timeout") {
            idleTimeout = reader.duration(idle)
            if let timeout = idleTimeout, timeout <= .zero {
                reader.report(
                    .invalidValue(
                        at: idle.position, key: idle.path, message: "a UDP session's \"idle_timeout\" must be over 0s",
                        hint: "sessions end only by going idle; write e.g. 1m (Envoy's default)"))
                return nil
            }
        }
        var size: Int?
        if let sizeValue = udp.value("max_datagram_size") {
            size = boundedInteger(sizeValue, 512...65535, what: "\"max_datagram_size\"")
            if size == nil { return nil }
        }
        guard let cluster else { return nil }
        var listener = UDPListener(cluster: cluster, idleTimeout: idleTimeout, position: udp.position)
        if let size { listener.maxDatagramSize = size }
        return .udp(listener)
    }
}
