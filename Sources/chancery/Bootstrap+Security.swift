import ArgumentParser
import Vocabulary

/// `chancery bootstrap` flags for reaching a Chancery that serves xDS over mutual TLS or on a Unix socket.
///
/// Envoy (and gRPC) read the certificate and key files themselves: the bootstrap names files and never holds key
/// bytes, so it can be printed, diffed and committed.
struct BootstrapSecurity: ParsableArguments {
    @Option(help: "CA certificate (PEM file) that signed Chancery's xDS server certificate; turns on TLS to Chancery.")
    var xdsCa: String?

    @Option(help: "This proxy's client certificate (PEM file) for mutual TLS with Chancery.")
    var tlsCert: String?

    @Option(help: "The private key file of --tls-cert.")
    var tlsKey: String?

    @Option(help: "Server name to send and to expect in Chancery's certificate (default: the --xds host).")
    var xdsSni: String?

    func validate() throws {
        let given = [xdsCa, tlsCert, tlsKey].compactMap { $0 }.count
        guard given == 0 || given == 3 else {
            throw ValidationError(
                "--xds-ca, --tls-cert and --tls-key go together: Chancery requires a client certificate")
        }
        if xdsSni != nil && xdsCa == nil { throw ValidationError("--xds-sni needs --xds-ca") }
    }

    var enabled: Bool { xdsCa != nil }

    /// The `chancery_xds` cluster's transport socket: TLS 1.2+, ALPN h2, Chancery's certificate checked against the
    /// CA and its name, this proxy's certificate and key by filename.
    func upstreamTLS(host: String, hostIsIP: Bool) -> [String: Any]? {
        guard let xdsCa, let tlsCert, let tlsKey else { return nil }
        let name = xdsSni ?? (hostIsIP ? nil : host)
        // Without a name check any certificate of the CA would do, including a proxy's own client certificate.
        let san: [String: Any] =
            name.map { ["san_type": "DNS", "matcher": ["exact": $0]] }
            ?? ["san_type": "IP_ADDRESS", "matcher": ["exact": host]]
        var context: [String: Any] = [
            "common_tls_context": [
                "alpn_protocols": ["h2"],
                "tls_params": ["tls_minimum_protocol_version": "TLSv1_2"],
                "tls_certificates": [
                    ["certificate_chain": ["filename": tlsCert], "private_key": ["filename": tlsKey]]
                ],
                "validation_context": [
                    "trusted_ca": ["filename": xdsCa],
                    "match_typed_subject_alt_names": [san],
                ] as [String: Any],
            ] as [String: Any],
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        ]
        if let name { context["sni"] = name }
        return ["name": "envoy.transport_sockets.tls", "typed_config": context]
    }

    /// gRPC's `channel_creds` to match (gRFC A65: `tls` with file-watched certificate files).
    var grpcChannelCreds: [[String: Any]] {
        guard let xdsCa, let tlsCert, let tlsKey else { return [["type": "insecure"]] }
        return [
            [
                "type": "tls",
                "config": [
                    "ca_certificate_file": xdsCa, "certificate_file": tlsCert, "private_key_file": tlsKey,
                    "refresh_interval": "60s",
                ],
            ]
        ]
    }
}
