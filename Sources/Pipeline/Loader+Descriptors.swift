import Certs
import Config
import Protobuf
import Translate

extension Loader {
    /// The fully qualified services each descriptor set holds; a set that does not decode holds none (and says why).
    static func services(in sets: [String: DescriptorSet]) -> (
        services: [String: Set<String>], problems: [String: String]
    ) {
        var services: [String: Set<String>] = [:]
        var problems: [String: String] = [:]
        for (name, set) in sets {
            guard let message = try? ProtoCodec.decode("google.protobuf.FileDescriptorSet", from: set.bytes),
                let files = message["file"]?.listValue, !files.isEmpty
            else {
                problems[name] =
                    "\(name)/\(DescriptorSet.fileName) is not a protobuf descriptor set "
                    + "(make it with protoc --include_imports --descriptor_set_out=\(DescriptorSet.fileName))"
                continue
            }
            var found = Set<String>()
            for file in files.compactMap(\.messageValue) {
                let package = file["package"]?.stringValue ?? ""
                for service in (file["service"]?.listValue ?? []).compactMap(\.messageValue) {
                    guard let serviceName = service["name"]?.stringValue else { continue }
                    found.insert(package.isEmpty ? serviceName : package + "." + serviceName)
                }
            }
            services[name] = found
        }
        return (services, problems)
    }

    /// Why a route's transcoding cannot be served: the folder, its file, or the services missing from it.
    static func descriptorProblem(
        _ item: CertificateSelection.Skipped, config: RoutesConfig, scan: CertificateScan,
        services: [String: Set<String>], problems: [String: String]
    ) -> String {
        let folder = item.certificate
        if let error = scan.brokenDescriptorSets[folder] { return "\(item): \(error)" }
        if let problem = problems[folder] { return "\(item): \(problem)" }
        guard let available = services[folder] else {
            return "\(item): the certificate directory has no folder \"\(folder)\" with a \(DescriptorSet.fileName)"
        }
        let wanted = config.listeners.flatMap { listener -> [String] in
            guard case .http(let http) = listener.kind else { return [] }
            return http.hosts.flatMap(\.routes).compactMap(\.grpcJSON).filter { $0.position == item.position }
                .flatMap(\.services)
        }
        let missing = wanted.filter { !available.contains($0) }
        let list = available.sorted().joined(separator: ", ")
        return
            "\(item): \(folder)/\(DescriptorSet.fileName) has no service \(missing.map { "\"\($0)\"" }.joined(separator: ", "))"
            + (available.isEmpty ? "" : " (it has \(list))")
    }
}
