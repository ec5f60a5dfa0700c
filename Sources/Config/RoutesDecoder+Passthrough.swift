/// `passthrough:` on a listener: TLS server names forwarded untouched to a cluster, beside (or instead of) the names
/// the listener terminates itself.
extension RoutesDecoder {
    static let passthroughKeys = ["server_names", "cluster", "idle_timeout"]

    /// Decodes the list, then checks it against the hosts the listener terminates: one server name is either passed
    /// through or terminated, never both, because Envoy picks one filter chain per connection from the name alone.
    func decodePassthrough(_ map: MappingReader, listener: String, tls: TLSSettings?, hosts: [VirtualHost])
        -> [Passthrough]?
    {
        guard let value = map.value("passthrough"), let items = reader.list(value) else {
            return map.has("passthrough") ? nil : []
        }
        if items.isEmpty {
            reader.report(
                .emptyList(
                    at: value.position, key: value.path,
                    hint: "list entries such as - { server_names: [git.example.com], cluster: git }"))
            return nil
        }
        if tls == nil, map.has("hosts") || map.has("redirect_to_https") {
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition("passthrough"), key: map.keyPath("passthrough"),
                    message: "listener \"\(listener)\" serves plain HTTP and has \"passthrough\"",
                    hint:
                        "passthrough shares a port with TLS: add tls: { certificate: ... } to terminate the other names, or give passthrough a listener of its own"
                ))
            return nil
        }
        var ok = true
        var seen: [String: (cluster: String, position: SourcePosition)] = [:]
        var entries: [Passthrough] = []
        for item in items {
            guard let entry = decodePassthroughEntry(item, listener: listener, seen: &seen) else {
                ok = false
                continue
            }
            entries.append(entry)
        }
        guard ok else { return nil }
        return checkTerminated(entries, in: map, listener: listener, tls: tls, hosts: hosts) ? entries : nil
    }

    private func decodePassthroughEntry(
        _ item: Located, listener: String, seen: inout [String: (cluster: String, position: SourcePosition)]
    ) -> Passthrough? {
        guard
            var map = reader.mapping(
                item, place: "passthrough of listener \"\(listener)\"", allowed: Self.passthroughKeys)
        else { return nil }
        var cluster: String?
        if let value = map.required("cluster", hint: "name the cluster that receives these TLS connections"),
            let name = reader.nonEmptyString(value)
        {
            cluster = name
            map.place = "passthrough to \"\(name)\""
            references.clusterUses.append(
                (
                    .init(name: name, position: value.position, key: value.path),
                    "passthrough of listener \"\(listener)\""
                ))
        }
        map.rejectUnknownKeys()
        var names: [String] = []
        var namesOK = false
        if let value = map.required(
            "server_names", hint: "list the TLS server names to forward, e.g. [git.example.com]"),
            let list = reader.stringList(value, emptyHint: "list at least one server name, e.g. [git.example.com]")
        {
            namesOK = true
            for (text, entry) in list {
                let name = text.lowercased()
                if let reason = Self.serverNameProblem(name) {
                    reader.report(
                        .invalidDomain(
                            at: entry.position, key: entry.path, domain: text, reason: reason,
                            hint: "write a name such as git.example.com or a wildcard such as *.lab.example.com"))
                    namesOK = false
                } else if let first = seen[name] {
                    reader.report(
                        .invalidDomain(
                            at: entry.position, key: entry.path, domain: text,
                            reason:
                                "is already passed through to \"\(first.cluster)\" (line \(first.position.line)) on listener \"\(listener)\"",
                            hint: "a server name selects one passthrough; keep one"))
                    namesOK = false
                } else {
                    seen[name] = (cluster ?? "?", entry.position)
                    names.append(name)
                }
            }
        }
        let idleTimeout = map.value("idle_timeout").flatMap(reader.duration)
        guard let cluster, namesOK else { return nil }
        return Passthrough(serverNames: names, cluster: cluster, idleTimeout: idleTimeout, position: map.position)
    }

    /// Why `name` cannot be a TLS server name that Envoy matches, or nil. SNI carries no port, no scheme, and Envoy
    /// compares it exactly or against a `*.suffix` wildcard.
    static func serverNameProblem(_ name: String) -> String? {
        if name == "*" { return "matches every name; for a port that forwards everything use tcp: { cluster: ... }" }
        if let problem = AddressText.domainProblem(name) { return problem }
        if name.contains(":") { return "has a port; a TLS server name never carries one" }
        if name.contains("*") && !(name.hasPrefix("*.") && !name.dropFirst().contains("*")) {
            return "is not a server name Envoy can match: write it exactly or as *.suffix"
        }
        if name.hasPrefix(".") || name.hasSuffix(".") || name.contains("..") { return "has an empty label" }
        return nil
    }

    /// Reports every terminated domain that a passthrough would take instead. A name equal to a passthrough name
    /// always clashes; a name a passthrough wildcard covers clashes unless its host has its own certificate, whose
    /// chain names it more precisely (Envoy prefers an exact name, then the longest wildcard).
    private func checkTerminated(
        _ entries: [Passthrough], in map: MappingReader, listener: String, tls: TLSSettings?, hosts: [VirtualHost]
    ) -> Bool {
        var ok = true
        for host in hosts {
            let ownChain = host.certificate != nil && host.certificate != tls?.certificate
            for domain in host.domains {
                let name = VirtualHost.serverName(domain)
                guard
                    let index = entries.firstIndex(where: {
                        $0.serverNames.contains(name) || (!ownChain && covers($0, name))
                    })
                else { continue }
                let entry = entries[index]
                let pattern =
                    entry.serverNames.contains(name) ? name : entry.serverNames.first { covers(name: $0, name) }!
                reader.report(
                    .conflictingKeys(
                        at: entry.position, key: "\(map.keyPath("passthrough"))[\(index)]",
                        message:
                            "passthrough \"\(pattern)\" to \"\(entry.cluster)\" would take TLS connections for \"\(domain)\", which host \"\(host.name)\" (line \(host.position.line)) of listener \"\(listener)\" terminates",
                        hint:
                            pattern == name
                            ? "a server name is either passed through or terminated; remove it from one of them"
                            : "list the passthrough names exactly, or give host \"\(host.name)\" its own certificate"))
                ok = false
            }
        }
        return ok
    }

    private func covers(_ entry: Passthrough, _ name: String) -> Bool {
        entry.serverNames.contains { covers(name: $0, name) }
    }

    /// Whether the wildcard `pattern` takes every client sending a name that the host domain `name` matches.
    private func covers(name pattern: String, _ name: String) -> Bool {
        guard pattern.hasPrefix("*.") else { return false }
        let suffix = pattern.dropFirst()  // ".example.com"
        if name.hasPrefix("*") {
            // `*.lab.example.com` or `*-api.example.com`: every name it matches ends in its own suffix.
            let rest = name.dropFirst()
            return rest.hasSuffix(suffix) && rest.count > suffix.count
        }
        return !name.hasSuffix("*") && name.hasSuffix(suffix) && name.count > suffix.count
    }
}
