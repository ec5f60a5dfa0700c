/// `cors:` on a host or a route: which other sites' pages may call it from a browser.
extension RoutesDecoder {
    static let corsKeys = ["origins", "methods", "headers", "expose_headers", "credentials", "max_age"]

    /// What a `cors` key said: `policy` nil when absent. The whole result is nil after an error.
    struct CORSSetting {
        var policy: CORS?
    }

    func decodeCORS(_ map: MappingReader) -> CORSSetting? {
        guard let value = map.value("cors") else { return CORSSetting() }
        guard let entry = reader.mapping(value, place: "cors", allowed: Self.corsKeys) else { return nil }
        entry.rejectUnknownKeys()
        var ok = true
        var origins: [CORS.Origin] = []
        var anyOrigin: Located?
        if let list = entry.required("origins", hint: "list the sites allowed, e.g. [\"https://app.example.com\"]"),
            let items = reader.stringList(
                list, emptyHint: "list at least one origin, e.g. [\"https://app.example.com\"]")
        {
            for (text, item) in items {
                switch Self.origin(text) {
                case .success(let origin):
                    if origin == .any { anyOrigin = item }
                    origins.append(origin)
                case .failure(let reason):
                    reader.report(
                        .invalidValue(
                            at: item.position, key: item.path, message: "origin \"\(text)\" \(reason.text)",
                            hint: "write scheme://host[:port] as a browser sends it, https://*.example.com, or \"*\""))
                    ok = false
                }
            }
        } else {
            ok = false
        }
        let methods = tokens(entry, "methods", uppercased: true, example: "[GET, POST]")
        let headers = tokens(entry, "headers", uppercased: false, example: "[content-type, authorization]")
        let expose = tokens(entry, "expose_headers", uppercased: false, example: "[x-request-id]")
        let credentials = entry.value("credentials").flatMap(reader.bool) ?? false
        if credentials, let anyOrigin {
            reader.report(
                .conflictingKeys(
                    at: anyOrigin.position, key: anyOrigin.path,
                    message: "origin \"*\" with credentials: true is refused by every browser",
                    hint: "list the origins that may send cookies, or drop credentials"))
            ok = false
        }
        var maxAge: Duration?
        if let age = entry.value("max_age") {
            maxAge = reader.duration(age)
            if maxAge == nil { ok = false }
        }
        guard ok, let methods, let headers, let expose else { return nil }
        return CORSSetting(
            policy: CORS(
                origins: origins, methods: methods, headers: headers, exposeHeaders: expose, credentials: credentials,
                maxAge: maxAge))
    }

    /// A list of HTTP tokens (methods, header names); nil after an error, [] when absent.
    private func tokens(_ entry: MappingReader, _ key: String, uppercased: Bool, example: String) -> [String]? {
        guard let list = entry.value(key) else { return [] }
        guard let items = reader.stringList(list, emptyHint: "list them, e.g. \(example), or remove \"\(key)\"") else {
            return nil
        }
        var out: [String] = []
        for (text, item) in items {
            let valid = text.unicodeScalars.allSatisfy {
                $0.isASCII && $0.value > 32 && !"\"(),/:;<=>?@[\\]{}".unicodeScalars.contains($0)
            }
            guard valid else {
                reader.report(
                    .invalidValue(
                        at: item.position, key: item.path, message: "\"\(text)\" is not an HTTP token",
                        hint: "write names such as \(example)"))
                return nil
            }
            out.append(uppercased ? text.uppercased() : text.lowercased())
        }
        return out
    }

    struct OriginProblem: Error {
        var text: String
    }

    /// `*`, `https://app.example.com`, `http://localhost:3000`, `https://*.example.com`.
    static func origin(_ text: String) -> Result<CORS.Origin, OriginProblem> {
        if text == "*" { return .success(.any) }
        guard let schemeEnd = text.range(of: "://") else {
            return .failure(OriginProblem(text: "has no scheme (a browser sends https://app.example.com)"))
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .failure(OriginProblem(text: "has scheme \"\(scheme)\"; origins are http or https"))
        }
        var authority = String(text[schemeEnd.upperBound...])
        if authority.hasSuffix("/") {
            return .failure(OriginProblem(text: "ends with \"/\"; an origin has no path"))
        }
        guard !authority.contains("/") else { return .failure(OriginProblem(text: "has a path; an origin has none")) }
        var port: String?
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            let digits = authority[authority.index(after: colon)...]
            guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let number = Int(digits), (1...65535).contains(number)
            else { return .failure(OriginProblem(text: "has a port that is not a number from 1 to 65535")) }
            port = String(digits)
            authority = String(authority[..<colon])
        }
        let host = authority.lowercased()
        if host.hasPrefix("*.") {
            let suffix = String(host.dropFirst(2))
            guard !suffix.contains("*"), AddressText.isHostName(suffix) else {
                return .failure(OriginProblem(text: "has a wildcard Chancery cannot match; write *.example.com"))
            }
            return .success(.subdomains(scheme: scheme, suffix: suffix, port: port))
        }
        guard
            AddressText.isHostName(host) || AddressText.isIP(host)
                || (host.hasPrefix("[") && host.hasSuffix("]")
                    && AddressText.isIPv6(String(host.dropFirst().dropLast())))
        else { return .failure(OriginProblem(text: "does not name a host")) }
        return .success(.exact(scheme + "://" + host + (port.map { ":" + $0 } ?? "")))
    }
}
