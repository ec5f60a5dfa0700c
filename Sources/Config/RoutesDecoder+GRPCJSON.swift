/// `grpc_json: { descriptors: NAME, services: [package.Service] }` on a forwarding route.
extension RoutesDecoder {
    static let grpcJSONKeys = ["descriptors", "services"]

    /// What a `grpc_json` key said: `value` nil when absent. The whole result is nil after an error.
    struct GRPCJSONSetting {
        var value: GRPCJSON?
    }

    func decodeGRPCJSON(_ map: MappingReader) -> GRPCJSONSetting? {
        guard let value = map.value("grpc_json") else { return GRPCJSONSetting() }
        guard let entry = reader.mapping(value, place: "grpc_json", allowed: Self.grpcJSONKeys) else { return nil }
        entry.rejectUnknownKeys()
        let folderValue = entry.required(
            "descriptors", hint: "name the folder of the certificate directory holding descriptors.pb")
        let folder = folderValue.flatMap(reader.nonEmptyString)
        if let folder, let folderValue, folder.contains("/") || folder.hasPrefix(".") {
            reader.report(
                .invalidValue(
                    at: folderValue.position, key: folderValue.path,
                    message: "grpc_json \"descriptors\" \"\(folder)\" is not a folder name",
                    hint: "name a folder directly inside the certificate directory, e.g. descriptors: greeter"))
            return nil
        }
        var services: [String] = []
        if let list = entry.required("services", hint: "list the gRPC services to expose, e.g. [helloworld.Greeter]"),
            let items = reader.stringList(list, emptyHint: "list at least one service, e.g. [helloworld.Greeter]")
        {
            for (name, item) in items {
                let parts = name.split(separator: ".", omittingEmptySubsequences: false)
                let valid = parts.allSatisfy { part in
                    guard let first = part.first, first.isLetter || first == "_" else { return false }
                    return part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                }
                guard valid else {
                    reader.report(
                        .invalidValue(
                            at: item.position, key: item.path,
                            message: "\"\(name)\" is not a fully qualified gRPC service name",
                            hint: "write package.Service as in the .proto file, e.g. helloworld.Greeter"))
                    return nil
                }
                services.append(name)
            }
        } else {
            return nil
        }
        guard let folder, let folderValue else { return nil }
        return GRPCJSONSetting(value: GRPCJSON(descriptors: folder, services: services, position: folderValue.position))
    }
}
