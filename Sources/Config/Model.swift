import Vocabulary

/// The routes file after parsing and validation: plain values, no I/O.
///
/// Every element remembers where it was written (`SourcePosition`) so that later checks
/// (a route naming a missing cluster, a certificate that is not in the cert directory)
/// can still point at file:line:column.
public struct SourcePosition: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// The whole routes file.
public struct RoutesConfig: Hashable, Sendable {
    /// Node groups declared by the file (`groups:`); when absent, the single group `default`.
    public var groups: [String]
    public var listeners: [Listener]
    public var clusters: [Cluster]
    /// Services that proxyless gRPC clients reach as `xds:///NAME`.
    public var grpcServices: [ProxylessService]
    /// Who may take each group that lists `identities:` when proxies authenticate with client certificates.
    public var identities: [String: [IdentityPattern]]

    public init(
        groups: [String] = ["default"], listeners: [Listener] = [], clusters: [Cluster] = [],
        grpcServices: [ProxylessService] = [], identities: [String: [IdentityPattern]] = [:]
    ) {
        self.groups = groups
        self.identities = identities
        self.listeners = listeners
        self.clusters = clusters
        self.grpcServices = grpcServices
    }
}

/// A gRPC service for proxyless gRPC clients: the target `xds:///NAME` resolves through Chancery to `cluster`.
public struct ProxylessService: Hashable, Sendable {
    public var name: String
    public var groups: [String]
    public var cluster: String
    /// The longest a call may take (gRPC's per-route `max_stream_duration`); nil leaves it to the client.
    public var timeout: Duration?
    public var position: SourcePosition

    public init(name: String, groups: [String], cluster: String, timeout: Duration? = nil, position: SourcePosition) {
        self.name = name
        self.groups = groups
        self.cluster = cluster
        self.timeout = timeout
        self.position = position
    }
}

public struct Listener: Hashable, Sendable {
    public var name: String
    /// The node groups that receive this listener; defaults to every declared group.
    public var groups: [String]
    public var address: String
    public var port: Int
    /// Accept a PROXY protocol header from the downstream (listener filter).
    public var acceptProxyProtocol: Bool
    public var kind: Kind
    public var position: SourcePosition
    /// Where each request (HTTP) or connection (TCP) is logged; stdout unless the file says otherwise.
    public var accessLog: AccessLog = .stdout

    public enum Kind: Hashable, Sendable {
        case http(HTTPListener)
        case tcp(TCPListener)
        case udp(UDPListener)
    }

    public init(
        name: String, groups: [String], address: String = "0.0.0.0", port: Int,
        acceptProxyProtocol: Bool = false, kind: Kind, position: SourcePosition
    ) {
        self.name = name
        self.groups = groups
        self.address = address
        self.port = port
        self.acceptProxyProtocol = acceptProxyProtocol
        self.kind = kind
        self.position = position
    }
}

public struct HTTPListener: Hashable, Sendable {
    /// Answer every request with a 301 to the same URL on https.
    public var redirectToHTTPS: Bool
    /// The https port to redirect to when it is not 443.
    public var redirectPort: Int?
    /// TLS termination; nil for plain HTTP.
    public var tls: TLSSettings?
    public var hosts: [VirtualHost]
    /// The Strict-Transport-Security header sent on every response of a TLS listener; nil sends none.
    public var hsts: HSTS?
    /// How many proxies in front of Envoy append to X-Forwarded-For (Envoy's `xff_num_trusted_hops`).
    public var trustedProxies: Int = 0
    /// TLS server names forwarded untouched to their own clusters instead of being terminated here.
    public var passthrough: [Passthrough] = []
    /// Response compression for every route that does not turn it off.
    public var compression: Compression?
    /// Also serve HTTP/3 (QUIC) on the same port number over UDP, advertised to browsers with `alt-svc`.
    public var http3 = false

    public init(
        redirectToHTTPS: Bool = false, redirectPort: Int? = nil, tls: TLSSettings? = nil, hosts: [VirtualHost] = []
    ) {
        self.redirectToHTTPS = redirectToHTTPS
        self.redirectPort = redirectPort
        self.tls = tls
        self.hosts = hosts
        self.hsts = tls == nil ? nil : HSTS()
    }
}

public struct TLSSettings: Hashable, Sendable {
    /// Name of a certificate in the cert directory (`DIR/NAME/tls.crt`), served through SDS.
    public var certificate: String
    public var alpn: [String]
    /// Where the `certificate` value is written (the parser sets it there, not at `tls:`).
    public var position: SourcePosition
    /// Whether clients must (or may) present a certificate; nil asks for none.
    public var clientCertificates: ClientCertificates?
    /// The certificate folder whose `ca.crt` signs acceptable client certificates (default: `certificate`'s folder).
    public var clientCA: String?
    /// Where `client_ca` is written, or else `client_certificates`, for errors about the CA.
    public var clientCAPosition: SourcePosition?

    public init(
        certificate: String, alpn: [String] = ["h2", "http/1.1"], position: SourcePosition,
        clientCertificates: ClientCertificates? = nil, clientCA: String? = nil,
        clientCAPosition: SourcePosition? = nil
    ) {
        self.certificate = certificate
        self.alpn = alpn
        self.position = position
        self.clientCertificates = clientCertificates
        self.clientCA = clientCertificates == nil ? nil : (clientCA ?? certificate)
        self.clientCAPosition = clientCAPosition
    }

    /// The folder whose `ca.crt` is the trust anchor, when client certificates are asked for.
    public var trustedCA: String? { clientCertificates == nil ? nil : (clientCA ?? certificate) }
}

/// How a TLS listener treats client certificates (mutual TLS).
public enum ClientCertificates: String, Hashable, Sendable, CaseIterable {
    /// A client without a certificate signed by the CA fails the handshake.
    case required
    /// A client may present no certificate; one it presents must be signed by the CA.
    case optional
}

public struct VirtualHost: Hashable, Sendable {
    public var name: String
    public var domains: [String]
    /// Overrides the listener's certificate for these domains (selected by SNI).
    public var certificate: String?
    public var routes: [Route]
    public var position: SourcePosition
    /// Where `certificate` is written, so a certificate missing from the cert directory is reported there.
    public var certificatePosition: SourcePosition?
    /// Client certificates asked for on this host's own SNI chain (only with its own `certificate`); nil inherits
    /// the listener's setting.
    public var clientCertificates: ClientCertificates?
    /// The folder whose `ca.crt` signs acceptable client certificates (default: the host's `certificate` folder).
    public var clientCA: String?
    /// Where `client_ca` (else `client_certificates`) is written.
    public var clientCAPosition: SourcePosition?
    /// Header edits for every route of the host.
    public var headers = HeaderEdits()
    /// One bucket for all the host's routes, unless a route has its own.
    public var rateLimit: RateLimit?
    /// Cross-origin requests allowed for all the host's routes, unless a route has its own policy.
    public var cors: CORS?
    /// Basic authentication for every route of the host that does not say otherwise.
    public var basicAuth: BasicAuth?

    public init(name: String, domains: [String], certificate: String? = nil, routes: [Route], position: SourcePosition)
    {
        self.name = name
        self.domains = domains
        self.certificate = certificate
        self.routes = routes
        self.position = position
    }
}

extension VirtualHost {
    /// The TLS server name (SNI) a domain stands for: lowercased, without a `:port`.
    public static func serverName(_ domain: String) -> String {
        var name = domain.lowercased()
        if let colon = name.lastIndex(of: ":") {
            let port = name[name.index(after: colon)...]
            if !port.isEmpty, port.allSatisfy(\.isNumber) { name = String(name[..<colon]) }
        }
        return name
    }
}

public struct Route: Hashable, Sendable {
    public enum Match: Hashable, Sendable {
        case prefix(String)
        case path(String)
        /// An RE2 regular expression matched against the whole path (query string excluded).
        case regex(String)
        /// An Envoy URI template such as `/users/{id}/files/{path=**}`.
        case template(String)
    }

    public enum Action: Hashable, Sendable {
        case forward(Forward)
        case redirect(Redirect)
        case respond(status: Int, body: String)
    }

    public struct Forward: Hashable, Sendable {
        public var cluster: String
        /// nil keeps Envoy's default (15 s); zero disables the timeout (long uploads).
        public var timeout: Duration?
        public var websockets: Bool
        public var prefixRewrite: String?
        /// Weighted clusters (percentages adding up to 100); when set, `cluster` is the first of them.
        public var split: [WeightedCluster] = []
        /// Replaces the Host header sent upstream.
        public var hostRewrite: String?
        public var retries: RetryPolicy?
        /// How long a stream may be idle; nil keeps the listener's default.
        public var idleTimeout: Duration?

        public init(cluster: String, timeout: Duration? = nil, websockets: Bool = false, prefixRewrite: String? = nil) {
            self.cluster = cluster
            self.timeout = timeout
            self.websockets = websockets
            self.prefixRewrite = prefixRewrite
        }
    }

    public struct Redirect: Hashable, Sendable {
        public var https: Bool
        public var host: String?
        public var port: Int?
        public var path: String?
        public var status: Int

        public init(https: Bool = false, host: String? = nil, port: Int? = nil, path: String? = nil, status: Int = 301)
        {
            self.https = https
            self.host = host
            self.port = port
            self.path = path
            self.status = status
        }
    }

    public var match: Match
    public var action: Action
    public var position: SourcePosition
    /// Request headers that must (or must not) be present for the route to match.
    /// `false` turns the listener's compression off for this route (already compressed files, streams).
    public var compression: Bool?
    /// Its own bucket, in place of its host's.
    public var rateLimit: RateLimit?
    /// Its own cross-origin policy, in place of its host's.
    public var cors: CORS?
    /// Its own users, or `.off`, in place of its host's.
    public var basicAuth: BasicAuth?
    /// JSON in, gRPC to the cluster, JSON out.
    public var grpcJSON: GRPCJSON?
    public var headerMatches: [HeaderMatch] = []
    /// Query parameters that must be present for the route to match.
    public var queryMatches: [QueryMatch] = []
    /// Header edits of this route, applied before the host's.
    public var headers = HeaderEdits()

    public init(match: Match, action: Action, position: SourcePosition) {
        self.match = match
        self.action = action
        self.position = position
    }
}

public struct TCPListener: Hashable, Sendable {
    public var cluster: String
    public var idleTimeout: Duration?
    public var position: SourcePosition

    public init(cluster: String, idleTimeout: Duration? = nil, position: SourcePosition) {
        self.cluster = cluster
        self.idleTimeout = idleTimeout
        self.position = position
    }
}

/// Datagrams proxied to a cluster: each client address is a session with its own upstream socket, closed after
/// `idleTimeout` without traffic (Envoy's default: one minute).
public struct UDPListener: Hashable, Sendable {
    public var cluster: String
    public var idleTimeout: Duration?
    /// The largest datagram passed whole, each way (Envoy's own default, 1500, cuts larger ones short).
    public var maxDatagramSize = 9000
    public var position: SourcePosition

    public init(cluster: String, idleTimeout: Duration? = nil, position: SourcePosition) {
        self.cluster = cluster
        self.idleTimeout = idleTimeout
        self.position = position
    }
}

/// An upstream address: an IP literal (served through EDS) or a DNS name (resolved by Envoy).
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Relative share of this endpoint among the cluster's endpoints (Envoy's load_balancing_weight); nil is 1.
    public var weight: Int?
    public init(host: String, port: Int, weight: Int? = nil) {
        self.host = host
        self.port = port
        self.weight = weight
    }
    public var description: String { "\(host):\(port)" }
}

public struct Cluster: Hashable, Sendable {
    public enum ProxyProtocol: Hashable, Sendable { case v1, v2 }

    /// Which addresses Envoy uses when it resolves a DNS endpoint. `v4Preferred` is the default because a backend
    /// on the same machine usually listens on 127.0.0.1, while `localhost` often resolves to `::1` first.
    public enum DNSLookupFamily: String, Hashable, Sendable, CaseIterable {
        case v4Preferred = "v4_preferred", v4Only = "v4_only", v6Only = "v6_only", auto, all
    }

    public var name: String
    public var endpoints: [Endpoint]
    public var connectTimeout: Duration
    /// Send a PROXY protocol header upstream so the next proxy sees the client's address.
    public var proxyProtocol: ProxyProtocol?
    /// Speak HTTP/2 (h2c) to the upstream, e.g. for gRPC backends.
    public var http2: Bool
    /// Only used for a cluster with a DNS name (STRICT_DNS); EDS clusters carry addresses already.
    public var dnsLookupFamily: DNSLookupFamily
    public var position: SourcePosition
    public var lbPolicy: LBPolicy = .roundRobin
    public var healthCheck: HealthCheck?
    public var outlierDetection: OutlierDetection?
    public var circuitBreakers: CircuitBreakers?
    /// TLS to the upstream; nil speaks plain text.
    public var tls: UpstreamTLS?

    public init(
        name: String, endpoints: [Endpoint], connectTimeout: Duration = .seconds(5),
        proxyProtocol: ProxyProtocol? = nil, http2: Bool = false,
        dnsLookupFamily: DNSLookupFamily = .v4Preferred, position: SourcePosition
    ) {
        self.name = name
        self.endpoints = endpoints
        self.connectTimeout = connectTimeout
        self.proxyProtocol = proxyProtocol
        self.http2 = http2
        self.dnsLookupFamily = dnsLookupFamily
        self.position = position
    }
}
