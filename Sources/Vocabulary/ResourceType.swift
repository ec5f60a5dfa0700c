/// The five Envoy resource types Chancery serves, with their type URLs: the one list every module shares.
public enum ResourceType: String, CaseIterable, Hashable, Sendable, Comparable {
    case listener, route, cluster, endpoint, secret

    public var typeURL: String { "type.googleapis.com/" + protoName }

    /// The full protobuf name of the resource message.
    public var protoName: String {
        switch self {
        case .listener: return "envoy.config.listener.v3.Listener"
        case .route: return "envoy.config.route.v3.RouteConfiguration"
        case .cluster: return "envoy.config.cluster.v3.Cluster"
        case .endpoint: return "envoy.config.endpoint.v3.ClusterLoadAssignment"
        case .secret: return "envoy.extensions.transport_sockets.tls.v3.Secret"
        }
    }

    /// The name a resource of this type carries: `cluster_name` for a ClusterLoadAssignment, `name` otherwise.
    public var nameField: String { self == .endpoint ? "cluster_name" : "name" }

    /// LDS and CDS responses carry the whole state in state-of-the-world; the others may carry a subset.
    public var requiresFullStateInSotW: Bool { self == .listener || self == .cluster }

    /// Make-before-break push order over ADS: clusters, then endpoints, then secrets, listeners and routes last.
    public var pushOrder: Int {
        switch self {
        case .cluster: return 0
        case .endpoint: return 1
        case .secret: return 2
        case .listener: return 3
        case .route: return 4
        }
    }

    public init?(typeURL: String) {
        guard let found = ResourceType.allCases.first(where: { $0.typeURL == typeURL }) else { return nil }
        self = found
    }

    public static func < (a: ResourceType, b: ResourceType) -> Bool { a.pushOrder < b.pushOrder }
}
