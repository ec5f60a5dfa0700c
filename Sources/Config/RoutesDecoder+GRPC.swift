/// `grpc_services:` — targets for proxyless gRPC clients (`xds:///NAME`).
extension RoutesDecoder {
    static let grpcServiceKeys = ["name", "groups", "cluster", "timeout"]

    func decodeGRPCService(_ item: Located) -> ProxylessService? {
        guard var map = reader.mapping(item, place: "gRPC service", allowed: Self.grpcServiceKeys) else { return nil }
        let nameValue = map.required("name", hint: "the name clients dial as xds:///NAME, e.g. name: greeter")
        var name = nameValue.flatMap(reader.nonEmptyString)
        if let text = name, let nameValue, text.contains("/") || text.contains(" ") {
            reader.report(
                .invalidValue(
                    at: nameValue.position, key: nameValue.path,
                    message: "gRPC service name \"\(text)\" cannot be an xds:/// target",
                    hint: "use the host part only, e.g. greeter or greeter.example:50051"))
            name = nil
        }
        if let name { map.place = "gRPC service \"\(name)\"" }
        map.rejectUnknownKeys()
        if let name, let nameValue {
            // A gRPC service is served as a Listener of the same name: it shares the listeners' namespace.
            references.listenerNames.append(.init(name: name, position: nameValue.position, key: nameValue.path))
        }
        let groups = decodeListenerGroups(map)
        if let name, let nameValue {
            references.grpcServices.append(
                (.init(name: name, position: nameValue.position, key: nameValue.path), groups))
        }
        var cluster: String?
        if let value = map.required("cluster", hint: "name the cluster of the service's backends"),
            let text = reader.nonEmptyString(value)
        {
            cluster = text
            references.clusterUses.append(
                (
                    .init(name: text, position: value.position, key: value.path),
                    "gRPC service \"\(name ?? "?")\""
                ))
        }
        let timeout = map.value("timeout").flatMap(reader.duration)
        guard let name, let cluster else { return nil }
        return ProxylessService(name: name, groups: groups, cluster: cluster, timeout: timeout, position: map.position)
    }
}
