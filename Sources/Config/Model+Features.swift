/// The parts of the model that a self-hosted site needs beyond plain routing: logs, HSTS, matching on headers and
/// query parameters, canaries, header edits, retries, and the health and safety settings of clusters.

/// Where a listener writes its access log. The format is fixed JSON (one object per line, keys in README).
public enum AccessLog: Hashable, Sendable {
    case off
    case stdout
    /// An absolute file path, opened by Envoy.
    case file(String)
}

/// Strict-Transport-Security, sent by TLS listeners. The defaults (one year, no subdomains, no preload) are what
/// a site can turn on without knowing its neighbours: `includeSubDomains` and `preload` bind every name below the
/// domain, so they are asked for explicitly.
public struct HSTS: Hashable, Sendable {
    /// Seconds browsers remember to use https.
    public var maxAge: Int64
    public var includeSubdomains: Bool
    public var preload: Bool

    public init(maxAge: Int64 = 31_536_000, includeSubdomains: Bool = false, preload: Bool = false) {
        self.maxAge = maxAge
        self.includeSubdomains = includeSubdomains
        self.preload = preload
    }

    /// The header value, e.g. `max-age=31536000; includeSubDomains`.
    public var headerValue: String {
        var value = "max-age=\(maxAge)"
        if includeSubdomains { value += "; includeSubDomains" }
        if preload { value += "; preload" }
        return value
    }
}

/// How a header or query parameter value is compared.
public enum ValueMatch: Hashable, Sendable {
    case exact(String)
    case prefix(String)
    /// RE2, matched against the whole value.
    case regex(String)
    /// True: the name must be present (any value); false: it must be absent.
    case present(Bool)
}

/// A condition on one request header.
public struct HeaderMatch: Hashable, Sendable {
    public var name: String
    public var match: ValueMatch
    /// Match when the condition is not met.
    public var invert: Bool

    public init(name: String, match: ValueMatch, invert: Bool = false) {
        self.name = name
        self.match = match
        self.invert = invert
    }
}

/// A condition on one query parameter.
public struct QueryMatch: Hashable, Sendable {
    public var name: String
    public var match: ValueMatch

    public init(name: String, match: ValueMatch) {
        self.name = name
        self.match = match
    }
}

/// Header changes: `add` appends a value, `set` replaces any value, `remove` drops the header. Values are literal
/// text (a `%` is sent as `%`, not read as an Envoy command).
public struct HeaderEdits: Hashable, Sendable {
    public var requestAdd: [HeaderPair] = []
    public var requestSet: [HeaderPair] = []
    public var requestRemove: [String] = []
    public var responseAdd: [HeaderPair] = []
    public var responseSet: [HeaderPair] = []
    public var responseRemove: [String] = []

    public init() {}

    public var isEmpty: Bool { self == HeaderEdits() }
}

public struct HeaderPair: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One cluster of a weighted (canary) route; weights are percentages that add up to 100.
public struct WeightedCluster: Hashable, Sendable {
    public var name: String
    public var weight: Int
    public init(name: String, weight: Int) {
        self.name = name
        self.weight = weight
    }
}

/// When Envoy tries a request again, how often, and how long each try may take.
public struct RetryPolicy: Hashable, Sendable {
    /// Envoy's retry conditions (`x-envoy-retry-on` / `x-envoy-retry-grpc-on` names), in file order.
    public var on: [String]
    public var count: Int
    public var perTryTimeout: Duration?

    public init(on: [String], count: Int = 1, perTryTimeout: Duration? = nil) {
        self.on = on
        self.count = count
        self.perTryTimeout = perTryTimeout
    }
}

/// Cluster load-balancing policies, by routes-file name.
public enum LBPolicy: String, Hashable, Sendable, CaseIterable {
    case roundRobin = "round_robin", leastRequest = "least_request", random, ringHash = "ring_hash", maglev
}

/// Active health checking of a cluster's endpoints.
public struct HealthCheck: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// GET `path`; a status in `statuses` (half-open ranges) is healthy.
        case http(path: String, host: String?, statuses: [Range<Int>])
        /// A TCP connect succeeds.
        case tcp
    }
    public var kind: Kind
    public var interval: Duration
    public var timeout: Duration
    public var healthyThreshold: Int
    public var unhealthyThreshold: Int

    public init(
        kind: Kind, interval: Duration = .seconds(10), timeout: Duration = .seconds(2),
        healthyThreshold: Int = 2, unhealthyThreshold: Int = 3
    ) {
        self.kind = kind
        self.interval = interval
        self.timeout = timeout
        self.healthyThreshold = healthyThreshold
        self.unhealthyThreshold = unhealthyThreshold
    }
}

/// Passive health: endpoints that keep failing are ejected for a while. nil fields keep Envoy's defaults.
public struct OutlierDetection: Hashable, Sendable {
    public var consecutive5xx: Int?
    public var interval: Duration?
    public var baseEjectionTime: Duration?
    public var maxEjectionPercent: Int?
    public init() {}
}

/// Limits on what Envoy sends to one cluster at once. nil fields keep Envoy's defaults (1024 each, 3 retries).
public struct CircuitBreakers: Hashable, Sendable {
    public var maxConnections: Int?
    public var maxPendingRequests: Int?
    public var maxRequests: Int?
    public var maxRetries: Int?
    public init() {}
}

/// TLS to a cluster's endpoints, with certificates from the certificate directory.
public struct UpstreamTLS: Hashable, Sendable {
    /// The server name sent (SNI); nil sends none.
    public var sni: String?
    /// The folder whose `ca.crt` signs the upstream's certificate.
    public var ca: String
    /// A folder whose `tls.crt`/`tls.key` is presented as a client certificate.
    public var certificate: String?
    public var position: SourcePosition
    public var caPosition: SourcePosition
    public var certificatePosition: SourcePosition?

    public init(
        sni: String?, ca: String, certificate: String?, position: SourcePosition, caPosition: SourcePosition,
        certificatePosition: SourcePosition?
    ) {
        self.sni = sni
        self.ca = ca
        self.certificate = certificate
        self.position = position
        self.caPosition = caPosition
        self.certificatePosition = certificatePosition
    }
}

/// TLS connections forwarded untouched, chosen by the server name (SNI) the client sends: Envoy reads the name from
/// the ClientHello and proxies the bytes to `cluster`, which terminates TLS itself. On a listener with `tls`, the
/// other names are terminated there as usual.
public struct Passthrough: Hashable, Sendable {
    /// Lowercased server names, each exact (`git.example.com`) or a wildcard suffix (`*.lab.example.com`).
    public var serverNames: [String]
    public var cluster: String
    /// How long the connection may be idle (Envoy's TCP proxy default is one hour).
    public var idleTimeout: Duration?
    public var position: SourcePosition

    public init(serverNames: [String], cluster: String, idleTimeout: Duration? = nil, position: SourcePosition) {
        self.serverNames = serverNames
        self.cluster = cluster
        self.idleTimeout = idleTimeout
        self.position = position
    }

}

/// A local rate limit: at most `requests` per `per`, counted by each Envoy on its own (not shared between proxies),
/// refilled all at once every `per`. Requests over it get 429.
public struct RateLimit: Hashable, Sendable {
    public var requests: Int
    public var per: Duration

    public init(requests: Int, per: Duration) {
        self.requests = requests
        self.per = per
    }
}

/// Responses compressed by Envoy for clients that accept it: one algorithm per entry, the first preferred when the
/// client weighs them alike.
public struct Compression: Hashable, Sendable {
    public enum Algorithm: String, Hashable, Sendable, CaseIterable {
        case brotli, gzip, zstd
    }
    public var algorithms: [Algorithm]
    /// Bodies shorter than this are sent as they are (compressing them costs more than it saves).
    public var minSize: Int
    /// The content types compressed; empty keeps Envoy's list (HTML, CSS, JavaScript, JSON, SVG, text, XML …).
    public var contentTypes: [String]

    public init(algorithms: [Algorithm] = [.brotli, .gzip], minSize: Int = 1024, contentTypes: [String] = []) {
        self.algorithms = algorithms
        self.minSize = minSize
        self.contentTypes = contentTypes
    }
}

/// Cross-origin requests allowed from browsers on other sites: Envoy answers the preflight and adds the
/// `Access-Control-Allow-*` headers for the origins listed.
public struct CORS: Hashable, Sendable {
    /// An allowed origin: any, one exactly (`https://app.example.com`), or the subdomains of one
    /// (`https://*.example.com`).
    public enum Origin: Hashable, Sendable {
        case any
        case exact(String)
        case subdomains(scheme: String, suffix: String, port: String?)
    }
    public var origins: [Origin]
    public var methods: [String]
    public var headers: [String]
    public var exposeHeaders: [String]
    public var credentials: Bool
    public var maxAge: Duration?

    public init(
        origins: [Origin], methods: [String] = [], headers: [String] = [], exposeHeaders: [String] = [],
        credentials: Bool = false, maxAge: Duration? = nil
    ) {
        self.origins = origins
        self.methods = methods
        self.headers = headers
        self.exposeHeaders = exposeHeaders
        self.credentials = credentials
        self.maxAge = maxAge
    }
}

/// HTTP basic authentication in front of a host or a route, with the users of `DIR/NAME/htpasswd`.
public enum BasicAuth: Hashable, Sendable {
    /// The folder in the certificate directory whose `htpasswd` lists the users, and where it is named.
    case users(String, position: SourcePosition)
    /// On a route: no authentication, though its host has some (a health check, a public page).
    case off

    public var folder: String? {
        if case .users(let folder, _) = self { return folder }
        return nil
    }
}

/// gRPC-JSON transcoding on a route: JSON over HTTP/1.1 or HTTP/2 in, the gRPC method of `services` called on the
/// route's cluster, JSON out. Methods map from their `google.api.http` annotations, or else to
/// `POST /package.Service/Method`.
public struct GRPCJSON: Hashable, Sendable {
    /// The folder of the certificate directory whose `descriptors.pb` (`protoc --include_imports
    /// --descriptor_set_out`) describes the services.
    public var descriptors: String
    /// Fully qualified service names, e.g. `helloworld.Greeter`.
    public var services: [String]
    public var position: SourcePosition

    public init(descriptors: String, services: [String], position: SourcePosition) {
        self.descriptors = descriptors
        self.services = services
        self.position = position
    }
}
