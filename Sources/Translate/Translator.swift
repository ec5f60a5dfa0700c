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
                        out.resources[.route, default: [:]][listener.name] = RouteBuilder.routeConfiguration(
                            listener, http, userLists: userLists, descriptors: descriptors)
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
                    out.resources[.endpoint, default: [:]][name] = ClusterBuilder.loadAssignment(cluster)
                }
            }
            for name in usedCertificates {
                guard let bundle = certificates[name] else { continue }
                out.resources[.secret, default: [:]][name] = secret(bundle)
            }
            for name in usedAuthorities {
                guard let authority = authorities[name] else { continue }
                out.resources[.secret, default: [:]][ListenerBuilder.authoritySecretName(name)] = secret(authority)
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
