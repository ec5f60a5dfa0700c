/// `http3: true` on a TLS listener: the same hosts over QUIC on the UDP port of the same number.
extension RoutesDecoder {
    /// nil after an error.
    func decodeHTTP3(_ map: MappingReader, listener: String, tls: TLSSettings?, hosts: [VirtualHost]) -> Bool? {
        guard let value = map.value("http3") else { return false }
        guard let on = reader.bool(value) else { return nil }
        guard on else { return false }
        guard let tls else {
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition("http3"), key: map.keyPath("http3"),
                    message: "listener \"\(listener)\" sets \"http3\" but has no \"tls\"",
                    hint: "HTTP/3 is always encrypted: set it on the https listener"))
            return nil
        }
        if tls.clientCertificates != nil || hosts.contains(where: { $0.clientCertificates != nil }) {
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition("http3"), key: map.keyPath("http3"),
                    message:
                        "listener \"\(listener)\" asks for client certificates, which Envoy's HTTP/3 does not check",
                    hint: "serve this listener over TCP only (remove http3), or drop client_certificates"))
            return nil
        }
        // The QUIC listener is a resource of its own; its name must not be taken by another listener.
        references.listenerNames.append(
            .init(name: listener + "-http3", position: map.keyPosition("http3"), key: map.keyPath("http3")))
        return true
    }
}
