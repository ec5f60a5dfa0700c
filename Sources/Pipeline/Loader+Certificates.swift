import Certs
import Config
import Translate

extension Loader {
    /// One line per thing left out, naming the real cause: the certificate's own problem when it is present but
    /// broken, or "not in the certificate directory (did you mean …?)" when no such certificate exists.
    static func explain(
        _ skipped: [CertificateSelection.Skipped], config: RoutesConfig,
        scan: CertificateScan
    ) -> [String] {
        let present = Set(scan.bundles.keys).union(scan.broken.keys)
        let unknown = Dictionary(
            RoutesFile.checkCertificates(config, available: present).map { ($0.position, $0) },
            uniquingKeysWith: { first, _ in first })
        let unknownCA = Dictionary(
            RoutesFile.checkClientAuthorities(config, available: Set(scan.authorities.keys)).map { ($0.position, $0) },
            uniquingKeysWith: { first, _ in first })
        // The item already says where; the routes-file error behind it is told without its position again.
        func reason(_ error: ConfigError) -> String { error.message + (error.hint.map { " (\($0))" } ?? "") }
        return skipped.map { item in
            if item.users {
                if let problem = scan.brokenUserLists[item.certificate] { return "\(item): \(problem)" }
                let folders = scan.userLists.keys.sorted()
                return "\(item): the certificate directory has no folder \"\(item.certificate)\" with an htpasswd"
                    + (folders.isEmpty ? "" : " (folders with one: \(folders.joined(separator: ", ")))")
            }
            if item.clientCA {
                if let problem = scan.brokenAuthorities[item.certificate] { return "\(item): \(problem)" }
                if let error = unknownCA[item.position] { return "\(item): \(reason(error))" }
                return item.description
            }
            if let problem = scan.problem(for: item.certificate) {
                return "\(item): \(problem)"
            }
            if let error = unknown[item.position] { return "\(item): \(reason(error))" }
            return item.description
        }
    }

    static func referencedCertificates(_ config: RoutesConfig) -> Set<String> {
        var names = Set<String>()
        for listener in config.listeners {
            guard case .http(let http) = listener.kind else { continue }
            if let tls = http.tls { names.insert(tls.certificate) }
            for host in http.hosts { if let name = host.certificate { names.insert(name) } }
        }
        return names
    }
}
