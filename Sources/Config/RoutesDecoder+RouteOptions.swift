import Yams

/// Route options: header and query matches, header edits, weighted clusters, retries.
extension RoutesDecoder {
    static let headerMatchKeys = ["name", "exact", "prefix", "regex", "present", "invert"]
    static let queryMatchKeys = ["name", "exact", "prefix", "regex", "present"]
    static let headerEditKeys = ["add", "set", "remove"]
    static let weightedClusterKeys = ["name", "weight"]
    static let retryKeys = ["on", "count", "per_try_timeout"]
    /// Envoy's `retry_on` conditions (HTTP) and `retry_grpc_on` names, as `x-envoy-retry-on` spells them.
    static let retryConditions = [
        "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited",
        "retriable-4xx", "refused-stream", "http3-post-connect-failure",
        "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
    ]
    static let maxRetries = 10

    /// `headers:` of a route; nil after an error, `[]` when absent.
    func decodeHeaderMatches(_ map: MappingReader) -> [HeaderMatch]? {
        guard let value = map.value("headers") else { return [] }
        guard let items = reader.list(value) else { return nil }
        var matches: [HeaderMatch] = []
        for item in items {
            guard let entry = reader.mapping(item, place: "header match", allowed: Self.headerMatchKeys) else {
                return nil
            }
            entry.rejectUnknownKeys()
            guard let name = headerName(entry, pseudoAllowed: true), let match = valueMatch(entry, what: "header")
            else { return nil }
            let invert = entry.value("invert").flatMap(reader.bool) ?? false
            matches.append(HeaderMatch(name: name, match: match, invert: invert))
        }
        return matches
    }

    /// `query:` of a route; nil after an error, `[]` when absent.
    func decodeQueryMatches(_ map: MappingReader) -> [QueryMatch]? {
        guard let value = map.value("query") else { return [] }
        guard let items = reader.list(value) else { return nil }
        var matches: [QueryMatch] = []
        for item in items {
            guard let entry = reader.mapping(item, place: "query match", allowed: Self.queryMatchKeys) else {
                return nil
            }
            entry.rejectUnknownKeys()
            guard let nameValue = entry.required("name", hint: "name the query parameter, e.g. name: preview"),
                let name = reader.nonEmptyString(nameValue), let match = valueMatch(entry, what: "query parameter")
            else { return nil }
            if match == .present(false), let present = entry.value("present") {
                reader.report(
                    .invalidValue(
                        at: present.position, key: present.path,
                        message: "a query match cannot ask for a parameter to be absent",
                        hint: "use present: true, or match on a header with invert: true"))
                return nil
            }
            matches.append(QueryMatch(name: name, match: match))
        }
        return matches
    }

    /// Exactly one of `exact`, `prefix`, `regex`, `present`.
    private func valueMatch(_ entry: MappingReader, what: String) -> ValueMatch? {
        let kinds = ["exact", "prefix", "regex", "present"].filter(entry.has)
        guard kinds.count == 1, let kind = kinds.first, let value = entry.value(kind) else {
            if kinds.count > 1 {
                reader.report(
                    .conflictingKeys(
                        at: entry.keyPosition(kinds[1]), key: entry.keyPath(kinds[1]),
                        message: "\(what) match has both \"\(kinds[0])\" and \"\(kinds[1])\"",
                        hint: "keep one of exact, prefix, regex, present"))
            } else if !["exact", "prefix", "regex", "present"].contains(where: entry.isMisspelled) {
                reader.report(
                    .missingOneOf(
                        at: entry.position, key: entry.keyPath("exact"), in: "\(what) match",
                        choices: ["exact", "prefix", "regex", "present"],
                        hint: "add exact: VALUE, prefix: TEXT, regex: RE2 or present: true"))
            }
            return nil
        }
        switch kind {
        case "exact": return reader.string(value).map(ValueMatch.exact)
        case "prefix": return reader.nonEmptyString(value).map(ValueMatch.prefix)
        case "regex": return regex(value).map(ValueMatch.regex)
        default: return reader.bool(value).map(ValueMatch.present)
        }
    }

    /// A header name: an HTTP token, lowercased as Envoy compares them; `:authority` and friends only in matches.
    private func headerName(_ entry: MappingReader, pseudoAllowed: Bool) -> String? {
        guard let value = entry.required("name", hint: "name the header, e.g. name: x-canary"),
            let name = reader.nonEmptyString(value)
        else { return nil }
        return checkHeaderName(name, at: value, pseudoAllowed: pseudoAllowed)
    }

    private func checkHeaderName(_ name: String, at value: Located, pseudoAllowed: Bool) -> String? {
        let body = pseudoAllowed && name.hasPrefix(":") ? String(name.dropFirst()) : name
        let token = Set("!#$%&'*+-.^_`|~")
        if body.isEmpty || !body.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || token.contains($0)) }) {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path, message: "\"\(name)\" is not a header name",
                    hint: "use letters, digits and -, e.g. x-forwarded-proto"))
            return nil
        }
        return name.lowercased()
    }

    /// `request_headers:` and `response_headers:` of a host or route; nil after an error.
    func decodeHeaderEdits(_ map: MappingReader) -> HeaderEdits? {
        var edits = HeaderEdits()
        var ok = true
        for side in ["request_headers", "response_headers"] {
            guard let value = map.value(side) else { continue }
            guard let block = reader.mapping(value, place: side, allowed: Self.headerEditKeys) else {
                ok = false
                continue
            }
            block.rejectUnknownKeys()
            let request = side == "request_headers"
            for key in ["add", "set"] {
                guard let pairsValue = block.value(key) else { continue }
                guard let pairs = headerPairs(pairsValue, request: request) else {
                    ok = false
                    continue
                }
                switch (request, key) {
                case (true, "add"): edits.requestAdd = pairs
                case (true, _): edits.requestSet = pairs
                case (false, "add"): edits.responseAdd = pairs
                default: edits.responseSet = pairs
                }
            }
            if let removeValue = block.value("remove") {
                guard let names = reader.stringList(removeValue, emptyHint: "list header names, or remove \"remove\"")
                else {
                    ok = false
                    continue
                }
                var checked: [String] = []
                for (name, item) in names {
                    guard let name = editableName(name, at: item, request: request) else {
                        ok = false
                        continue
                    }
                    checked.append(name)
                }
                if request { edits.requestRemove = checked } else { edits.responseRemove = checked }
            }
        }
        return ok ? edits : nil
    }

    private func headerPairs(_ value: Located, request: Bool) -> [HeaderPair]? {
        guard let mapping = value.node.mapping else {
            reader.report(
                .wrongType(
                    at: value.position, key: value.path, expected: "a mapping of header names to values",
                    found: YAMLReader.describe(value.node)))
            return nil
        }
        var pairs: [HeaderPair] = []
        var ok = true
        let path = value.path
        for (keyNode, valueNode) in mapping {
            let nameText = keyNode.scalar?.string ?? ""
            let keyLocated = value.child(keyNode, key: nameText, path: path)
            let item = value.child(valueNode, key: nameText, path: path)
            guard let name = editableName(nameText, at: keyLocated, request: request), let text = reader.string(item)
            else {
                ok = false
                continue
            }
            pairs.append(HeaderPair(name: name, value: text))
        }
        return ok ? pairs : nil
    }

    /// Envoy refuses edits of pseudo-headers and of `host` (that is `host_rewrite`).
    private func editableName(_ name: String, at value: Located, request: Bool) -> String? {
        if name.hasPrefix(":") || name.lowercased() == "host" {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path, message: "header \"\(name)\" cannot be edited",
                    hint: request && name.lowercased() != ":path"
                        ? "Envoy does not edit pseudo-headers or host; use host_rewrite to change the Host header"
                        : "Envoy does not edit pseudo-headers or host"))
            return nil
        }
        return checkHeaderName(name, at: value, pseudoAllowed: false)
    }

    /// `clusters: [{name, weight}]`: weights are percentages and must add up to 100.
    func decodeWeightedClusters(_ value: Located) -> [WeightedCluster]? {
        guard let items = reader.list(value) else { return nil }
        if items.isEmpty {
            reader.report(
                .emptyList(at: value.position, key: value.path, hint: "list clusters with weights, or use cluster:"))
            return nil
        }
        var split: [WeightedCluster] = []
        var seen: [String: SourcePosition] = [:]
        var ok = true
        for item in items {
            guard let entry = reader.mapping(item, place: "weighted cluster", allowed: Self.weightedClusterKeys) else {
                ok = false
                continue
            }
            entry.rejectUnknownKeys()
            let nameValue = entry.required("name", hint: "name the cluster, e.g. name: www-canary")
            let name = nameValue.flatMap(reader.nonEmptyString)
            var weight: Int?
            if let weightValue = entry.required("weight", hint: "give its share in percent, e.g. weight: 10"),
                let number = reader.integer(weightValue)
            {
                if (1...100).contains(number) {
                    weight = number
                } else {
                    reader.report(
                        .invalidValue(
                            at: weightValue.position, key: weightValue.path,
                            message: "\"weight\" \(YAMLReader.scalarText(weightValue.node)) is not between 1 and 100",
                            hint: "weights are percentages of the traffic; leave out a cluster that gets none"))
                }
            }
            guard let name, let nameValue, let weight else {
                ok = false
                continue
            }
            if let first = seen[name] {
                reader.report(
                    .duplicateName(
                        at: nameValue.position, key: nameValue.path, kind: "weighted cluster", name: name, first: first)
                )
                ok = false
                continue
            }
            seen[name] = nameValue.position
            references.clusterUses.append(
                (.init(name: name, position: nameValue.position, key: nameValue.path), "route"))
            split.append(WeightedCluster(name: name, weight: weight))
        }
        guard ok else { return nil }
        let total = split.reduce(0) { $0 + $1.weight }
        if total != 100 {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path,
                    message: "the weights of \"clusters\" add up to \(total), not 100",
                    hint: "weights are percentages, e.g. 90 and 10"))
            return nil
        }
        return split
    }

    /// `retries: { on: [5xx, connect-failure], count: 2, per_try_timeout: 2s }`.
    func decodeRetries(_ value: Located) -> RetryPolicy? {
        guard let map = reader.mapping(value, place: "retries", allowed: Self.retryKeys) else { return nil }
        map.rejectUnknownKeys()
        var ok = true
        var conditions: [String] = []
        if let onValue = map.required("on", hint: "say when to retry, e.g. on: [connect-failure, reset, 5xx]"),
            let items = reader.stringList(onValue, emptyHint: "list conditions such as connect-failure, reset, 5xx")
        {
            for (condition, item) in items {
                guard Self.retryConditions.contains(condition) else {
                    let guess = Suggest.closest(to: condition, in: Self.retryConditions).map {
                        "did you mean \"\($0)\"? "
                    }
                    reader.report(
                        .invalidValue(
                            at: item.position, key: item.path,
                            message: "retry condition \"\(condition)\" is not one Envoy knows",
                            hint: (guess ?? "") + "use " + Self.retryConditions.joined(separator: ", ")))
                    ok = false
                    continue
                }
                if !conditions.contains(condition) { conditions.append(condition) }
            }
        } else {
            ok = false
        }
        var policy = RetryPolicy(on: conditions)
        if let countValue = map.value("count") {
            if let count = reader.integer(countValue) {
                if (1...Self.maxRetries).contains(count) {
                    policy.count = count
                } else {
                    reader.report(
                        .invalidValue(
                            at: countValue.position, key: countValue.path,
                            message:
                                "retries \"count\" \(YAMLReader.scalarText(countValue.node)) is not between 1 and \(Self.maxRetries)",
                            hint: "a few retries hide a blip; many multiply an outage"))
                    ok = false
                }
            } else {
                ok = false
            }
        }
        if let timeoutValue = map.value("per_try_timeout") {
            if let timeout = reader.duration(timeoutValue) {
                if timeout > .zero {
                    policy.perTryTimeout = timeout
                } else {
                    reader.report(
                        .invalidValue(
                            at: timeoutValue.position, key: timeoutValue.path,
                            message: "\"per_try_timeout\" must be longer than 0s",
                            hint: "leave it out to let each try use the route's timeout"))
                    ok = false
                }
            } else {
                ok = false
            }
        }
        return ok ? policy : nil
    }
}
