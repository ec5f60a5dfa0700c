/// Routes: what they match, and what they do (forward, redirect, respond).
extension RoutesDecoder {
    func decodeRoute(_ item: Located) -> Route? {
        guard let map = reader.mapping(item, place: "route", allowed: Self.routeKeys) else { return nil }
        map.rejectUnknownKeys()

        let match = decodeMatch(map)
        let headerMatches = decodeHeaderMatches(map)
        let queryMatches = decodeQueryMatches(map)
        let edits = decodeHeaderEdits(map)
        let rateLimit = decodeRateLimit(map)
        let cors = decodeCORS(map)
        let basicAuth = decodeBasicAuth(map, onRoute: true)
        let grpcJSON = decodeGRPCJSON(map)
        var compression = map.value("compression").map { reader.bool($0) }
        if compression == .some(true), let value = map.value("compression") {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path, message: "a route can only turn compression off",
                    hint:
                        "set compression: true on the listener; compression: false here leaves this route's responses as they are"
                ))
            compression = .some(nil)
        }

        let actionKeys = ["cluster", "clusters", "redirect", "respond"]
        let actions = actionKeys.filter(map.has)
        let action: Route.Action?
        if actions.count > 1 {
            let extra = actions[1]
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition(extra), key: map.keyPath(extra),
                    message: "route has both \"\(actions[0])\" and \"\(extra)\"",
                    hint: "a route does exactly one thing: forward (cluster or clusters), redirect or respond"))
            action = nil
        } else if actions.isEmpty {
            if !actionKeys.contains(where: map.isMisspelled) {
                reader.report(
                    .missingAction(
                        at: map.position, key: map.keyPath("cluster"),
                        message: "route has no \"cluster\", \"clusters\", \"redirect\" or \"respond\"",
                        hint:
                            "add cluster: NAME to forward, clusters: [...] to split, redirect: {...} or respond: {...}"
                    ))
            }
            action = nil
        } else if actions[0] == "cluster" || actions[0] == "clusters" {
            action = decodeForward(map)
        } else {
            for key in Self.forwardOnlyKeys where map.has(key) {
                reader.report(
                    .conflictingKeys(
                        at: map.keyPosition(key), key: map.keyPath(key),
                        message: "\"\(key)\" only applies to a route with \"cluster\"",
                        hint: "remove \"\(key)\" from this \(actions[0]) route"))
            }
            action = actions[0] == "redirect" ? decodeRedirect(map) : decodeRespond(map)
        }
        if case .template? = match, map.has("prefix_rewrite") {
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition("prefix_rewrite"), key: map.keyPath("prefix_rewrite"),
                    message: "route has both \"path_template\" and \"prefix_rewrite\"",
                    hint: "Envoy rewrites a template match only with a template rewrite; match a prefix instead"))
            return nil
        }
        guard let match, let action, let headerMatches, let queryMatches, let edits, let rateLimit, let cors,
            let basicAuth, let grpcJSON, compression != .some(nil)
        else { return nil }
        var route = Route(match: match, action: action, position: map.position)
        route.headerMatches = headerMatches
        route.queryMatches = queryMatches
        route.headers = edits
        route.rateLimit = rateLimit.limit
        route.cors = cors.policy
        route.basicAuth = basicAuth.value
        route.grpcJSON = grpcJSON.value
        route.compression = compression ?? nil
        return route
    }

    /// Keys that only make sense when the route forwards to a cluster.
    static let forwardOnlyKeys = [
        "timeout", "websockets", "prefix_rewrite", "host_rewrite", "retries", "idle_timeout", "grpc_json",
    ]

    /// Exactly one of `prefix`, `path`, `regex`, `path_template`.
    private func decodeMatch(_ map: MappingReader) -> Route.Match? {
        let present = Self.matchKeys.filter(map.has)
        if present.count > 1 {
            let extra = present[1]
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition(extra), key: map.keyPath(extra),
                    message: "route has both \"\(present[0])\" and \"\(extra)\"",
                    hint:
                        "keep one: prefix matches everything below it, path matches exactly, regex and path_template match a pattern"
                ))
            return nil
        }
        guard let key = present.first, let value = map.value(key) else {
            if !Self.matchKeys.contains(where: map.isMisspelled) {
                reader.report(
                    .missingOneOf(
                        at: map.position, key: map.keyPath("prefix"), in: "route", choices: Self.matchKeys,
                        hint: "add prefix: / (everything below) or path: /exact"))
            }
            return nil
        }
        switch key {
        case "prefix": return matchPath(value).map(Route.Match.prefix)
        case "path": return matchPath(value).map(Route.Match.path)
        case "regex": return regex(value).map(Route.Match.regex)
        default:
            guard let text = reader.nonEmptyString(value) else { return nil }
            if let problem = PatternCheck.uriTemplate(text) {
                reader.report(
                    .invalidValue(
                        at: position(in: value, offset: problem.offset), key: value.path,
                        message: "\"path_template\" \"\(text)\" \(problem.reason)",
                        hint: "write e.g. /users/{id}/files/{path=**}; see Envoy's uri_template matcher"))
                return nil
            }
            return .template(text)
        }
    }

    static let matchKeys = ["prefix", "path", "regex", "path_template"]

    /// An RE2 expression, checked here so Envoy never refuses it.
    func regex(_ value: Located) -> String? {
        guard let text = reader.nonEmptyString(value) else { return nil }
        if text.count > Self.maxRegexLength {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path,
                    message: "regex is \(text.count) characters long; at most \(Self.maxRegexLength) are allowed",
                    hint: "split the route, or match a prefix"))
            return nil
        }
        if let problem = PatternCheck.regex(text) {
            reader.report(
                .invalidValue(
                    at: position(in: value, offset: problem.offset), key: value.path,
                    message: "regex \"\(text)\" \(problem.reason)",
                    hint: "Envoy uses RE2 syntax: https://github.com/google/re2/wiki/Syntax"))
            return nil
        }
        let cost = RegexCost.estimate(text)
        if cost.repeatProduct > RegexCost.maxRepeatProduct {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path,
                    message:
                        "regex \"\(text)\" nests counted repetitions that multiply to \(cost.repeatProduct); RE2 allows at most 1000",
                    hint: "RE2 refuses it; count fewer times, or repeat with + or * instead"))
            return nil
        }
        if cost.size > RegexCost.limit {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path,
                    message:
                        "regex \"\(text)\" is too large for Envoy: it compiles to up to \(cost.size) RE2 instructions, more than \(RegexCost.limit)",
                    hint:
                        "counted repetitions ({1,200}) and \\p classes multiply the size; a prefix or path_template match, or + and * instead of large counts, keep it small"
                ))
            return nil
        }
        return text
    }

    static let maxRegexLength = 1000

    /// Where the `offset`-th character of a scalar is written: exact for plain text and for quoted text without
    /// escapes before it, else the start of the value.
    func position(in value: Located, offset: Int) -> SourcePosition {
        guard let scalar = value.node.scalar else { return value.position }
        var position = value.position
        let before = scalar.string.prefix(offset)
        switch scalar.style {
        case .plain, .any:
            position.column += offset
        case .singleQuoted where !before.contains("'"):
            position.column += offset + 1
        case .doubleQuoted where !before.contains("\\") && !before.contains("\""):
            position.column += offset + 1
        default:
            break
        }
        return position
    }

    func matchPath(_ value: Located) -> String? {
        guard let text = reader.nonEmptyString(value) else { return nil }
        guard text.hasPrefix("/") else {
            reader.report(.invalidPath(at: value.position, key: value.path, text: text))
            return nil
        }
        return text
    }

    private func decodeForward(_ map: MappingReader) -> Route.Action? {
        var ok = true
        var split: [WeightedCluster] = []
        let cluster: String
        if map.has("clusters") {
            guard let value = map.value("clusters"), let weighted = decodeWeightedClusters(value) else { return nil }
            split = weighted
            cluster = weighted[0].name
        } else {
            guard let value = map.value("cluster"), let name = reader.nonEmptyString(value) else { return nil }
            references.clusterUses.append((.init(name: name, position: value.position, key: value.path), "route"))
            cluster = name
        }
        var timeout: Duration?
        if let timeoutValue = map.value("timeout") {
            timeout = reader.duration(timeoutValue)
            ok = ok && timeout != nil
        }
        let websockets = map.value("websockets").flatMap(reader.bool) ?? false
        var prefixRewrite: String?
        if let rewriteValue = map.value("prefix_rewrite") {
            prefixRewrite = matchPath(rewriteValue)
            ok = ok && prefixRewrite != nil
        }
        var forward = Route.Forward(
            cluster: cluster, timeout: timeout, websockets: websockets, prefixRewrite: prefixRewrite)
        forward.split = split
        if let value = map.value("host_rewrite") {
            forward.hostRewrite = reader.nonEmptyString(value)
            if let host = forward.hostRewrite,
                let problem = host.contains("*")
                    ? "contains \"*\"; write one host name" : AddressText.domainProblem(host)
            {
                reader.report(
                    .invalidValue(
                        at: value.position, key: value.path, message: "\"host_rewrite\" \"\(host)\" \(problem)",
                        hint: "write the host name the backend expects, e.g. nas.lan or nas.lan:5001"))
                ok = false
            }
            ok = ok && forward.hostRewrite != nil
        }
        if let value = map.value("idle_timeout") {
            forward.idleTimeout = reader.duration(value)
            ok = ok && forward.idleTimeout != nil
        }
        if let value = map.value("retries") {
            forward.retries = decodeRetries(value)
            ok = ok && forward.retries != nil
        }
        guard ok else { return nil }
        return .forward(forward)
    }

    private func decodeRedirect(_ route: MappingReader) -> Route.Action? {
        guard let value = route.value("redirect"),
            let map = reader.mapping(value, place: "redirect", allowed: Self.redirectKeys)
        else { return nil }
        map.rejectUnknownKeys()
        var ok = true
        var redirect = Route.Redirect()
        if let https = map.value("https") { redirect.https = reader.bool(https) ?? false }
        if let host = map.value("host") {
            redirect.host = reader.nonEmptyString(host)
            ok = ok && redirect.host != nil
        }
        if let port = map.value("port") {
            redirect.port = reader.port(port)
            ok = ok && redirect.port != nil
        }
        if let path = map.value("path") {
            redirect.path = matchPath(path)
            ok = ok && redirect.path != nil
        }
        if let statusValue = map.value("status") {
            if let status = reader.integer(statusValue), Self.redirectStatuses.contains(status) {
                redirect.status = status
            } else {
                if statusValue.node.scalar.flatMap({ YAMLReader.decimal($0.string) }) != nil {
                    reader.report(
                        .redirectStatusNotAllowed(
                            at: statusValue.position, key: statusValue.path,
                            value: YAMLReader.scalarText(statusValue.node)))
                }
                ok = false
            }
        }
        if ok, !redirect.https, redirect.host == nil, redirect.port == nil, redirect.path == nil {
            reader.report(
                .invalidValue(
                    at: map.position, key: map.path,
                    message: "\"redirect\" changes nothing, so it would redirect to itself forever",
                    hint: "set at least one of https, host, port, path"))
            ok = false
        }
        return ok ? .redirect(redirect) : nil
    }

    private func decodeRespond(_ route: MappingReader) -> Route.Action? {
        guard let value = route.value("respond"),
            let map = reader.mapping(value, place: "respond", allowed: Self.respondKeys)
        else { return nil }
        map.rejectUnknownKeys()
        var status: Int?
        if let statusValue = map.required("status", hint: "add the HTTP status to answer with, e.g. status: 404"),
            let number = reader.integer(statusValue)
        {
            if (200...599).contains(number) {
                status = number
            } else {
                reader.report(
                    .invalidStatus(
                        at: statusValue.position, key: statusValue.path,
                        value: YAMLReader.scalarText(statusValue.node)))
            }
        }
        var body = ""
        var ok = true
        if let bodyValue = map.value("body") {
            if let text = reader.string(bodyValue, multiline: true) {
                body = text
                if text.utf8.count > Self.maxResponseBody {
                    reader.report(
                        .invalidValue(
                            at: bodyValue.position, key: bodyValue.path,
                            message:
                                "respond \"body\" is \(text.utf8.count) bytes; Envoy allows at most \(Self.maxResponseBody)",
                            hint: "shorten it, or serve the page from a cluster"))
                    ok = false
                }
            } else {
                ok = false
            }
        }
        guard let status, ok else { return nil }
        return .respond(status: status, body: body)
    }
}
