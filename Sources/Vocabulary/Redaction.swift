/// Fields whose values never leave the process in readable form: `render`, `/snapshot` and golden files replace
/// them. They are named by their full protobuf field path, so a field of the same name elsewhere is untouched.
public enum Redaction {
    /// The private key of a TLS certificate (SDS secrets and inline contexts alike).
    /// Basic-auth password hashes too: unsalted SHA-1 falls to a dictionary quickly.
    public static let fields: Set<String> = [
        "envoy.extensions.transport_sockets.tls.v3.TlsCertificate.private_key",
        "envoy.extensions.filters.http.basic_auth.v3.BasicAuth.users",
        "envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute.users",
    ]
}
