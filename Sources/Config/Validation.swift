/// Checks that need the whole file: unique names, cluster references, address clashes, certificates.
enum Validation {
    static func check(_ references: References, declaredGroups: [String], into reader: YAMLReader) {
        uniqueNames(references.listenerNames, kind: "listener", into: reader)
        uniqueNames(references.clusterNames, kind: "cluster", into: reader)
        separateGRPCGroups(references, into: reader)

        let defined = references.clusterNames.map(\.name)
        let definedSet = Set(defined)
        // An aliased route is one use per alias but one mistake: report each written position once.
        var reported = Set<SourcePosition>()
        for (use, owner) in references.clusterUses where !definedSet.contains(use.name) {
            guard reported.insert(use.position).inserted else { continue }
            reader.report(
                .unknownCluster(at: use.position, key: use.key, name: use.name, defined: defined, from: owner))
        }

        // Two listeners on one address:port can only clash when some proxy receives both.
        for group in declaredGroups {
            var taken: [String: References.Bind] = [:]
            for bind in references.binds where bind.groups.contains(group) {
                let slot = "\(bind.address.lowercased())|\(bind.port)|\(bind.udp ? "udp" : "tcp")"
                if let first = taken[slot] {
                    reader.report(
                        .addressInUse(
                            at: bind.position, key: bind.key, address: bind.address,
                            port: bind.port, group: group, other: first.listener,
                            otherPosition: first.position))
                } else {
                    taken[slot] = bind
                }
            }
        }
    }

    /// A `grpc_json` route sends gRPC to its clusters, and gRPC needs HTTP/2 to the backend.
    static func grpcJSONClusters(_ config: RoutesConfig, into reader: YAMLReader) {
        let http2 = Dictionary(config.clusters.map { ($0.name, $0.http2) }, uniquingKeysWith: { first, _ in first })
        for (listenerIndex, listener) in config.listeners.enumerated() {
            guard case .http(let http) = listener.kind else { continue }
            for (hostIndex, host) in http.hosts.enumerated() {
                for (routeIndex, route) in host.routes.enumerated() {
                    guard let transcoding = route.grpcJSON, case .forward(let forward) = route.action else { continue }
                    let names = forward.split.isEmpty ? [forward.cluster] : forward.split.map(\.name)
                    for name in names where http2[name] == false {
                        reader.report(
                            .conflictingKeys(
                                at: transcoding.position,
                                key: "listeners[\(listenerIndex)].hosts[\(hostIndex)].routes[\(routeIndex)].grpc_json",
                                message: "grpc_json calls gRPC on cluster \"\(name)\", which does not speak HTTP/2",
                                hint: "gRPC needs HTTP/2 to the backend: add http2: true to cluster \"\(name)\""))
                    }
                }
            }
        }
    }

    /// Envoy accepts an API listener only from its bootstrap and ignores one sent over LDS, so a group that holds
    /// gRPC services must be a group of gRPC clients, not of Envoy proxies.
    static func separateGRPCGroups(_ references: References, into reader: YAMLReader) {
        for (service, groups) in references.grpcServices {
            for group in groups {
                guard let bind = references.binds.first(where: { $0.groups.contains(group) }) else { continue }
                reader.report(
                    .conflictingKeys(
                        at: service.position, key: service.key,
                        message:
                            "gRPC service \"\(service.name)\" is in group \"\(group)\" with listener \"\(bind.listener)\"; Envoy proxies of that group cannot use it",
                        hint:
                            "declare a group for gRPC clients (groups: [default, grpc]) and give the service groups: [grpc]"
                    ))
                break
            }
        }
    }

    private static func uniqueNames(_ names: [References.Named], kind: String, into reader: YAMLReader) {
        var seen: [String: SourcePosition] = [:]
        for named in names {
            if let first = seen[named.name] {
                reader.report(
                    .duplicateName(
                        at: named.position, key: named.key, kind: kind, name: named.name,
                        first: first))
            } else {
                seen[named.name] = named.position
            }
        }
    }

    /// Every `client_ca` (or, by default, the serving certificate's folder) must hold a usable `ca.crt`.
    static func clientAuthorities(_ config: RoutesConfig, available: Set<String>) -> [ConfigError] {
        var errors: [ConfigError] = []
        for (index, cluster) in config.clusters.enumerated() {
            guard let tls = cluster.tls, !available.contains(tls.ca) else { continue }
            errors.append(
                .unknownUpstreamCA(
                    at: tls.caPosition, key: "clusters[\(index)].tls.ca", name: tls.ca, available: available))
        }
        for (listenerIndex, listener) in config.listeners.enumerated() {
            guard case .http(let http) = listener.kind, let tls = http.tls else { continue }
            if let name = tls.trustedCA, !available.contains(name) {
                errors.append(
                    .unknownClientCA(
                        at: tls.clientCAPosition ?? tls.position,
                        key: "listeners[\(listenerIndex)].tls.client_ca", name: name,
                        available: available))
            }
            for (hostIndex, host) in http.hosts.enumerated() {
                guard let name = host.clientCA, host.clientCertificates != nil, !available.contains(name) else {
                    continue
                }
                errors.append(
                    .unknownClientCA(
                        at: host.clientCAPosition ?? host.position,
                        key: "listeners[\(listenerIndex)].hosts[\(hostIndex)].client_ca",
                        name: name, available: available))
            }
        }
        return errors
    }

    static func certificates(_ config: RoutesConfig, available: Set<String>) -> [ConfigError] {
        var errors: [ConfigError] = []
        for (index, cluster) in config.clusters.enumerated() {
            guard let tls = cluster.tls, let name = tls.certificate, !available.contains(name) else { continue }
            errors.append(
                .unknownCertificate(
                    at: tls.certificatePosition ?? tls.position, key: "clusters[\(index)].tls.certificate", name: name,
                    available: available))
        }
        for (listenerIndex, listener) in config.listeners.enumerated() {
            guard case .http(let http) = listener.kind else { continue }
            if let tls = http.tls, !available.contains(tls.certificate) {
                errors.append(
                    .unknownCertificate(
                        at: tls.position, key: "listeners[\(listenerIndex)].tls.certificate",
                        name: tls.certificate, available: available))
            }
            for (hostIndex, host) in http.hosts.enumerated() {
                guard let certificate = host.certificate, !available.contains(certificate) else { continue }
                errors.append(
                    .unknownCertificate(
                        at: host.certificatePosition ?? host.position,
                        key: "listeners[\(listenerIndex)].hosts[\(hostIndex)].certificate",
                        name: certificate, available: available))
            }
        }
        return errors
    }
}
