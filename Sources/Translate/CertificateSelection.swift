import Config

/// Leaves out exactly what needs a certificate that cannot be served, so one certificate's problem stays local.
///
/// A listener whose own certificate is unusable is left out whole (Envoy would otherwise hold it warming, or
/// present no certificate); a host whose override certificate is unusable is left out of its listener, so its SNI
/// chain disappears while the listener's other hosts keep working. Pure: the caller says what is usable.
public enum CertificateSelection {
    /// One thing left out, and the certificate it needed.
    public struct Skipped: Hashable, Sendable, CustomStringConvertible {
        public var listener: String
        /// The host left out, or nil when the whole listener was.
        public var host: String?
        public var certificate: String
        public var position: SourcePosition
        /// True when what was missing is the `ca.crt` for client certificates, not the serving certificate.
        public var clientCA = false
        /// The cluster whose upstream TLS needed the certificate (then `listener` is empty).
        public var cluster: String? = nil
        /// True when what was missing is the folder's `htpasswd` for basic auth.
        public var users = false
        /// True when what was missing is the folder's `descriptors.pb`, or a service in it, for gRPC-JSON.
        public var descriptors = false

        public var description: String {
            if descriptors {
                return
                    "\(position): host \"\(host ?? "?")\" of listener \"\(listener)\" left out: \"\(certificate)/descriptors.pb\" (gRPC descriptors) is not usable"
            }
            if users {
                return
                    "\(position): host \"\(host ?? "?")\" of listener \"\(listener)\" left out: \"\(certificate)/htpasswd\" (basic auth users) is not usable"
            }
            if let cluster {
                return
                    "\(position): cluster \"\(cluster)\" gets no endpoints: \"\(certificate)\" (upstream TLS) is not usable"
            }
            if clientCA {
                let what = host.map { "host \"\($0)\" of listener \"\(listener)\"" } ?? "listener \"\(listener)\""
                return "\(position): \(what) left out: \"\(certificate)/ca.crt\" (client certificate CA) is not usable"
            }
            if let host {
                return
                    "\(position): host \"\(host)\" of listener \"\(listener)\" left out: certificate \"\(certificate)\" is not usable"
            }
            return "\(position): listener \"\(listener)\" left out: certificate \"\(certificate)\" is not usable"
        }
    }

    /// `config` without what needs a certificate outside `usable`, and the list of what was left out, in file order.
    /// A listener asking for client certificates whose CA folder is not in `usableAuthorities` is left out whole:
    /// serving it without the check would let in clients it means to refuse.
    /// A host whose basic auth (or one of its routes') names users that cannot be loaded is left out whole: serving it
    /// without the check would open what it means to protect.
    public static func apply(
        _ config: RoutesConfig, usable: Set<String>,
        usableAuthorities: Set<String> = [], usableUserLists: Set<String> = [],
        usableServices: [String: Set<String>] = [:]
    ) -> (config: RoutesConfig, skipped: [Skipped]) {
        var out = config
        var skipped: [Skipped] = []
        out.listeners = config.listeners.compactMap { listener in
            guard case .http(var http) = listener.kind else { return listener }
            if let tls = http.tls, !usable.contains(tls.certificate) {
                skipped.append(
                    Skipped(
                        listener: listener.name, host: nil, certificate: tls.certificate,
                        position: tls.position))
                return nil
            }
            if let tls = http.tls, let authority = tls.trustedCA, !usableAuthorities.contains(authority) {
                skipped.append(
                    Skipped(
                        listener: listener.name, host: nil, certificate: authority,
                        position: tls.clientCAPosition ?? tls.position, clientCA: true))
                return nil
            }
            http.hosts = http.hosts.filter { host in
                for case let transcoding? in host.routes.map(\.grpcJSON) {
                    let available = usableServices[transcoding.descriptors] ?? []
                    guard transcoding.services.allSatisfy(available.contains) else {
                        skipped.append(
                            Skipped(
                                listener: listener.name, host: host.name, certificate: transcoding.descriptors,
                                position: transcoding.position, descriptors: true))
                        return false
                    }
                }
                let needs = [host.basicAuth] + host.routes.map(\.basicAuth)
                for case .users(let folder, let position)? in needs where !usableUserLists.contains(folder) {
                    skipped.append(
                        Skipped(
                            listener: listener.name, host: host.name, certificate: folder, position: position,
                            users: true))
                    return false
                }
                if let name = host.certificate, !usable.contains(name) {
                    skipped.append(
                        Skipped(
                            listener: listener.name, host: host.name, certificate: name,
                            position: host.certificatePosition ?? host.position))
                    return false
                }
                if host.clientCertificates != nil, let authority = host.clientCA, !usableAuthorities.contains(authority)
                {
                    skipped.append(
                        Skipped(
                            listener: listener.name, host: host.name, certificate: authority,
                            position: host.clientCAPosition ?? host.position, clientCA: true))
                    return false
                }
                return true
            }
            var kept = listener
            kept.kind = .http(http)
            return kept
        }
        // A cluster whose upstream TLS cannot be set up keeps its name (routes still resolve, and answer 503) but
        // loses its endpoints: sending its traffic without TLS would expose it.
        out.clusters = config.clusters.map { cluster in
            guard let tls = cluster.tls else { return cluster }
            var missing: (String, SourcePosition, Bool)?
            if !usableAuthorities.contains(tls.ca) {
                missing = (tls.ca, tls.caPosition, true)
            } else if let name = tls.certificate, !usable.contains(name) {
                missing = (name, tls.certificatePosition ?? tls.position, false)
            }
            guard let (name, position, isCA) = missing else { return cluster }
            skipped.append(
                Skipped(
                    listener: "", host: nil, certificate: name, position: position, clientCA: isCA,
                    cluster: cluster.name))
            var emptied = cluster
            emptied.endpoints = []
            emptied.healthCheck = nil
            // Nothing is sent to it, so it needs no TLS; keeping `tls` would point at a secret that is not there.
            emptied.tls = nil
            return emptied
        }
        return (out, skipped)
    }
}
