import Certs
import Config
import Protobuf
import Vocabulary

/// The Envoy resources of one node group, by type and name, before encoding.
public struct GroupResources: Hashable, Sendable {
    public var group: String
    public var resources: [ResourceType: [String: ProtoMessage]]

    public init(group: String, resources: [ResourceType: [String: ProtoMessage]] = [:]) {
        self.group = group
        self.resources = resources
    }
}

/// Turns a validated routes model and the certificates into Envoy v3 resources, per node group.
///
/// A pure function: no I/O, no clock, no randomness, so golden tests can pin its output exactly. A group receives the
/// listeners assigned to it, the routes those listeners serve, the clusters (and endpoints) their routes reach and the
/// certificates they present — nothing else, so one group's edits never disturb another group's proxies.
public enum Translator {
    public static func translate(
        _ config: RoutesConfig, certificates: [String: CertificateBundle], mode: ConfigSourceMode = .ads,
        authorities: [String: TrustedAuthority] = [:], userLists: [String: UserList] = [:],
        descriptors: [String: [UInt8]] = [:]
    ) -> [String: GroupResources] {
        translate(
            config, certificates: certificates, modes: [mode], authorities: authorities, userLists: userLists,
            descriptors: descriptors)[mode] ?? [:]
    }

    /// The same, for several config-source modes at once. What does not depend on the mode (route configurations,
    /// endpoints, secrets) is built once and the same value shared by every mode and group that has it, so the
    /// snapshot recognises it as one resource without comparing it field by field.
    public static func translate(
        _ config: RoutesConfig, certificates: [String: CertificateBundle], modes: [ConfigSourceMode],
        authorities: [String: TrustedAuthority] = [:], userLists: [String: UserList] = [:],
        descriptors: [String: [UInt8]] = [:]
    ) -> [ConfigSourceMode: [String: GroupResources]] {
        var shared = SharedParts(userLists: userLists, descriptors: descriptors)
        var result: [ConfigSourceMode: [String: GroupResources]] = [:]
        for mode in modes {
            result[mode] = translate(
                config, certificates: certificates, mode: mode, authorities: authorities, shared: &shared)
        }
        return result
    }

    private static func translate(
        _ config: RoutesConfig, certificates: [String: CertificateBundle], mode: ConfigSourceMode,
        authorities: [String: TrustedAuthority], shared: inout SharedParts
    ) -> [String: GroupResources] {
        let descriptors = shared.descriptors
        let clustersByName = Dictionary(config.clusters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var result: [String: GroupResources] = [:]
        for group in config.groups {
            var out = GroupResources(group: group)
            var usedClusters = Set<String>()
            var usedCertificates = Set<String>()
            var usedAuthorities = Set<String>()
            for listener in config.listeners where listener.groups.contains(group) {
                out.resources[.listener, default: [:]][listener.name] = ListenerBuilder.listener(
                    listener, mode: mode, descriptors: descriptors)
                switch listener.kind {
                case .http(let http):
                    usedClusters.formUnion(http.passthrough.map(\.cluster))
                    if http.http3 && http.tls != nil {
                        out.resources[.listener, default: [:]][listener.name + "-http3"] = ListenerBuilder.quicListener(
                            listener, http, mode: mode, descriptors: descriptors)
                    }
                    if ListenerBuilder.servesHTTP(http) {
                        out.resources[.route, default: [:]][listener.name] = shared.routeConfiguration(listener, http)
                    }
                    usedCertificates.formUnion(ListenerBuilder.certificateNames(http))
                    usedAuthorities.formUnion(ListenerBuilder.authorityNames(http))
                    for host in http.hosts {
                        for route in host.routes {
                            if case .forward(let forward) = route.action {
                                usedClusters.insert(forward.cluster)
                                usedClusters.formUnion(forward.split.map(\.name))
                            }
                        }
                    }
                case .tcp(let tcp):
                    usedClusters.insert(tcp.cluster)
                case .udp(let udp):
                    usedClusters.insert(udp.cluster)
                }
            }
            for service in config.grpcServices where service.groups.contains(group) {
                out.resources[.listener, default: [:]][service.name] = ProxylessBuilder.listener(service, mode: mode)
                out.resources[.route, default: [:]][ProxylessBuilder.routeName(service)] =
                    ProxylessBuilder.routeConfiguration(service)
                usedClusters.insert(service.cluster)
            }
            for name in usedClusters {
                guard let cluster = clustersByName[name] else { continue }
                out.resources[.cluster, default: [:]][name] = ClusterBuilder.cluster(cluster, mode: mode)
                if let tls = cluster.tls {
                    usedAuthorities.insert(tls.ca)
                    if let certificate = tls.certificate { usedCertificates.insert(certificate) }
                }
                if ClusterBuilder.usesEDS(cluster) {
                    out.resources[.endpoint, default: [:]][name] = shared.loadAssignment(cluster)
                }
            }
            for name in usedCertificates {
                guard let bundle = certificates[name] else { continue }
                out.resources[.secret, default: [:]][name] = shared.secret(bundle)
            }
            for name in usedAuthorities {
                guard let authority = authorities[name] else { continue }
                out.resources[.secret, default: [:]][ListenerBuilder.authoritySecretName(name)] =
                    shared.secret(authority)
            }
            result[group] = out
        }
        return result
    }

    static func secret(_ bundle: CertificateBundle) -> ProtoMessage {
        ProtoMessage(
            ResourceType.secret.protoName,
            [
                "name": .string(bundle.name),
                "tls_certificate": message(
                    "envoy.extensions.transport_sockets.tls.v3.TlsCertificate",
                    [
                        "certificate_chain": message(
                            "envoy.config.core.v3.DataSource",
                            [
                                "inline_bytes": .bytes(bundle.certificateChainPEM)
                            ]),
                        "private_key": message(
                            "envoy.config.core.v3.DataSource",
                            [
                                "inline_bytes": .bytes(bundle.privateKeyPEM)
                            ]),
                    ]),
            ])
    }

    /// A validation context: the CAs that client certificates must chain to.
    static func secret(_ authority: TrustedAuthority) -> ProtoMessage {
        ProtoMessage(
            ResourceType.secret.protoName,
            [
                "name": .string(ListenerBuilder.authoritySecretName(authority.name)),
                "validation_context": message(
                    "envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext",
                    [
                        "trusted_ca": message(
                            "envoy.config.core.v3.DataSource",
                            [
                                "inline_bytes": .bytes(authority.pem)
                            ])
                    ]),
            ])
    }
}

/// The resources whose translation does not depend on the config-source mode, each built the first time a group
/// needs it. Names are unique per type in a routes file, so the name is the key.
private struct SharedParts {
    let userLists: [String: UserList]
    let descriptors: [String: [UInt8]]
    private var routes: [String: ProtoMessage] = [:]
    private var endpoints: [String: ProtoMessage] = [:]
    private var secrets: [String: ProtoMessage] = [:]
    private var authoritySecrets: [String: ProtoMessage] = [:]

    init(userLists: [String: UserList], descriptors: [String: [UInt8]]) {
        self.userLists = userLists
        self.descriptors = descriptors
    }

    mutating func routeConfiguration(_ listener: Listener, _ http: HTTPListener) -> ProtoMessage {
        let (userLists, descriptors) = (userLists, descriptors)
        return Self.once(listener.name, in: &routes) {
            RouteBuilder.routeConfiguration(listener, http, userLists: userLists, descriptors: descriptors)
        }
    }

    mutating func loadAssignment(_ cluster: Cluster) -> ProtoMessage {
        Self.once(cluster.name, in: &endpoints) { ClusterBuilder.loadAssignment(cluster) }
    }

    mutating func secret(_ bundle: CertificateBundle) -> ProtoMessage {
        Self.once(bundle.name, in: &secrets) { Translator.secret(bundle) }
    }

    mutating func secret(_ authority: TrustedAuthority) -> ProtoMessage {
        Self.once(authority.name, in: &authoritySecrets) { Translator.secret(authority) }
    }

    /// The value `table` holds under `key`, built and kept the first time it is asked for.
    private static func once(
        _ key: String, in table: inout [String: ProtoMessage], _ build: () -> ProtoMessage
    ) -> ProtoMessage {
        if let built = table[key] { return built }
        let built = build()
        table[key] = built
        return built
    }
}
