import GRPCServer
import Logging
import Snapshot
import Vocabulary

/// How a proxy is assigned to a node group of the routes file.
public enum GroupSelector: Hashable, Sendable {
    /// `node.cluster`, the default (Envoy's `--service-cluster`, or `node.cluster` in the bootstrap).
    case nodeCluster
    /// A string value in `node.metadata`.
    case metadataKey(String)

    func group(of node: NodeInfo) -> String {
        let raw: String
        switch self {
        case .nodeCluster: raw = node.cluster
        case .metadataKey(let key): raw = node.metadata[key] ?? ""
        }
        return raw.isEmpty ? NodeGroup.defaultName : raw
    }

    /// The group a proxy asking for `requested` is served: its own when the file defines it; otherwise `default`
    /// when that is the file's only group (a file that declares no groups serves every proxy, whatever its
    /// `--service-cluster`); otherwise `fallback` (`serve --default-group`) when defined. Anything else is
    /// returned unchanged and refused by the caller.
    static func resolve(_ requested: String, known: [String], fallback: String?) -> String {
        if known.contains(requested) { return requested }
        if known == [NodeGroup.defaultName] { return NodeGroup.defaultName }
        if let fallback, known.contains(fallback) { return fallback }
        return requested
    }
}

/// The xDS gRPC service: routes each method to its stream kind and keeps the registry of open streams.
public final class XDSServer: GRPCService {
    public let store: SnapshotStore
    public let registry: StreamRegistry
    public let groupGuard = GroupGuard()
    let selector: GroupSelector
    /// The group for proxies whose own group the routes file does not define (`serve --default-group`).
    let defaultGroup: String?
    let logger: Logger
    let controlPlane: [UInt8]
    /// Response bodies shared by every stream that sends the same content.
    let responses = ResponseCache()
    /// Publishes reach streams through one task per event loop.
    let fanOut = SnapshotFanOut()
    public let limits: XDSLimits
    /// One line per interval for streams ended over a limit, however many a flood ends.
    let limitLog = RateLimitedLog()
    /// Pushes, ACKs, NACKs, convergence and limit hits (`XDSMetrics.swift`).
    public let metrics: XDSMetrics

    public init(
        store: SnapshotStore, registry: StreamRegistry = StreamRegistry(), selector: GroupSelector = .nodeCluster,
        identifier: String = "chancery", defaultGroup: String? = nil, limits: XDSLimits = .init(),
        metrics: XDSMetrics = XDSMetrics(), logger: Logger
    ) {
        self.limits = limits
        self.metrics = metrics
        self.store = store
        self.registry = registry
        self.selector = selector
        self.defaultGroup = defaultGroup
        self.logger = logger
        self.controlPlane = ResponseEncoder.controlPlane(identifier: identifier)
        // Registered before any stream's observer, so a rejection is lifted before streams see new content.
        _ = store.observe { [groupGuard] snapshot in groupGuard.published(snapshot) }
        _ = store.observe { [responses] _ in responses.published() }
        _ = store.observe { [fanOut] snapshot in fanOut.publish(snapshot) }
    }

    /// Method paths: ADS and the per-type services, state-of-the-world and delta (`docs/PROTOCOL.md` §1).
    static let methods: [String: (kind: String, type: ResourceType?, delta: Bool)] = {
        var table: [String: (kind: String, type: ResourceType?, delta: Bool)] = [
            "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources": ("ads", nil, false),
            "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources": ("ads-delta", nil, true),
        ]
        let services: [(ResourceType, String, String)] = [
            (.listener, "envoy.service.listener.v3.ListenerDiscoveryService", "Listeners"),
            (.route, "envoy.service.route.v3.RouteDiscoveryService", "Routes"),
            (.cluster, "envoy.service.cluster.v3.ClusterDiscoveryService", "Clusters"),
            (.endpoint, "envoy.service.endpoint.v3.EndpointDiscoveryService", "Endpoints"),
            (.secret, "envoy.service.secret.v3.SecretDiscoveryService", "Secrets"),
        ]
        for (type, service, noun) in services {
            table["/\(service)/Stream\(noun)"] = (noun.lowercased(), type, false)
            table["/\(service)/Delta\(noun)"] = (noun.lowercased() + "-delta", type, true)
        }
        return table
    }()

    public func open(_ stream: GRPCServerStream) -> (any GRPCStreamHandler)? {
        guard let method = Self.methods[stream.path] else { return nil }
        if method.delta {
            return StreamHandler<DeltaStream>(
                server: self, stream: stream, kind: method.kind, fixedType: method.type,
                mode: method.type == nil ? .ads : .perTypeDelta)
        }
        return StreamHandler<SotWStream>(
            server: self, stream: stream, kind: method.kind, fixedType: method.type,
            mode: method.type == nil ? .ads : .perTypeSotW)
    }

    /// The snapshot a new stream of `node` gets, or the gRPC error that explains why there is none.
    ///
    /// A version that a proxy of the group rejected is not handed to new streams while an accepted one exists.
    /// Over mutual TLS the client certificate must be entitled to the group (`Entitlement`); otherwise the stream
    /// ends with PERMISSION_DENIED, logged with the peer address and the certificate's names.
    func snapshot(for node: NodeInfo, mode: ConfigSourceMode, peer: PeerIdentity = .cleartext, address: String? = nil)
        -> Result<(GroupSnapshot, Snapshot), GRPCStatus>
    {
        let current = store.current
        let group = GroupSelector.resolve(selector.group(of: node), known: current.groupNames, fallback: defaultGroup)
        if !current.groupNames.isEmpty, !Entitlement.allows(peer, group: group, identities: current.identities) {
            let entitled = Entitlement.entitledGroups(peer, known: current.groupNames, identities: current.identities)
            logger.warning(
                "refusing a group the client certificate is not entitled to",
                metadata: [
                    "peer": "\(address ?? "?")", "identity": "\(peer)", "node": "\(node.id)", "group": "\(group)",
                ])
            return .failure(
                .permissionDenied(
                    "the client certificate (\(peer)) may not take group \"\(group)\""
                        + (entitled.isEmpty
                            ? "; it matches no group's identities"
                            : "; it may take: \(entitled.joined(separator: ", "))")))
        }
        let served = groupGuard.snapshot(for: group, current: current)
        if let snapshot = served.group(group, mode: mode) { return .success((snapshot, served)) }
        let known = current.groupNames
        let message =
            known.isEmpty
            ? "no configuration is loaded yet"
            : "node \"\(node.id)\" asks for group \"\(group)\", which the routes file does not define; groups: \(known.joined(separator: ", "))"
                + " (serve --default-group NAME serves unknown groups as NAME)"
        return .failure(GRPCStatus(code: .failedPrecondition, message: message))
    }
}
