import Yams

/// Listener options beside routing: `access_log`, `hsts` and `trusted_proxies`.
extension RoutesDecoder {
    static let hstsKeys = ["max_age", "include_subdomains", "preload"]
    static let accessLogKeys = ["path"]
    /// More proxies than this in front of one site is a mistake, not a topology.
    static let maxTrustedProxies = 32
    /// hstspreload.org refuses a shorter max-age.
    static let preloadMinimumAge: Int64 = 31_536_000

    /// `access_log: false`, `true` (stdout, the default) or `{ path: /var/log/envoy/NAME.log }`.
    func decodeAccessLog(_ map: MappingReader) -> AccessLog {
        guard let value = map.value("access_log") else { return .stdout }
        if value.node.mapping == nil {
            guard let on = reader.bool(value) else { return .stdout }
            return on ? .stdout : .off
        }
        guard let log = reader.mapping(value, place: "access_log", allowed: Self.accessLogKeys) else { return .stdout }
        log.rejectUnknownKeys()
        guard
            let pathValue = log.required(
                "path", hint: "write the log file's absolute path, e.g. path: /var/log/envoy/web.log"),
            let path = reader.nonEmptyString(pathValue)
        else { return .stdout }
        guard path.hasPrefix("/") else {
            reader.report(
                .invalidValue(
                    at: pathValue.position, key: pathValue.path,
                    message: "access_log \"path\" \"\(path)\" is not an absolute path",
                    hint:
                        "Envoy opens it relative to its own working directory; write it from /, e.g. /var/log/envoy/web.log"
                ))
            return .stdout
        }
        return .file(path)
    }

    /// `hsts: false`, `true` or a mapping; only a TLS listener sends it, and it does by default.
    func decodeHSTS(_ map: MappingReader, listener: String) -> HSTS? {
        let hasTLS = map.has("tls")
        guard let value = map.value("hsts") else { return hasTLS ? HSTS() : nil }
        var hsts: HSTS?
        if value.node.mapping == nil {
            guard let on = reader.bool(value) else { return nil }
            hsts = on ? HSTS() : nil
        } else if let options = reader.mapping(value, place: "hsts of listener \"\(listener)\"", allowed: Self.hstsKeys)
        {
            options.rejectUnknownKeys()
            var settings = HSTS()
            if let age = options.value("max_age"), let seconds = maxAge(age) { settings.maxAge = seconds }
            settings.includeSubdomains = options.value("include_subdomains").flatMap(reader.bool) ?? false
            if let preloadValue = options.value("preload"), reader.bool(preloadValue) == true {
                settings.preload = true
                var missing: [String] = []
                if !settings.includeSubdomains { missing.append("include_subdomains: true") }
                if settings.maxAge < Self.preloadMinimumAge { missing.append("a max_age of at least 365d") }
                if !missing.isEmpty {
                    reader.report(
                        .invalidValue(
                            at: preloadValue.position, key: preloadValue.path,
                            message: "hsts \"preload\" needs \(missing.joined(separator: " and "))",
                            hint: "browsers' preload lists refuse anything less; add it or remove preload"))
                }
            }
            hsts = settings
        }
        if hsts != nil && !hasTLS {
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition("hsts"), key: value.path,
                    message: "listener \"\(listener)\" sets \"hsts\" but has no \"tls\"",
                    hint: "browsers ignore Strict-Transport-Security over plain http; set it on the https listener"))
            return nil
        }
        return hsts
    }

    /// `365d`, `8760h`, `0s`: whole seconds, days allowed (HSTS ages are written in days).
    private func maxAge(_ value: Located) -> Int64? {
        guard let text = reader.nonEmptyString(value) else { return nil }
        var rest = Substring(text)
        var seconds: Int64 = 0
        if let d = rest.firstIndex(of: "d"), rest[..<d].allSatisfy(\.isNumber), !rest[..<d].isEmpty,
            rest[..<d].count <= 5, let days = Int64(rest[..<d])
        {
            seconds = days * 86_400
            rest = rest[rest.index(after: d)...]
        }
        if !rest.isEmpty {
            switch DurationText.parse(String(rest)) {
            case .success(let duration):
                let (whole, fraction) = duration.components
                if fraction != 0 {
                    reader.report(
                        .invalidDuration(
                            at: value.position, key: value.path, text: text, reason: "is not a whole number of seconds")
                    )
                    return nil
                }
                seconds += whole
            case .failure(let failure):
                reader.report(
                    .invalidDuration(
                        at: value.position, key: value.path, text: text,
                        reason: failure.reason.replacingOccurrences(of: "use h, m, s", with: "use d, h, m, s"),
                        hint: "write days, e.g. 365d (one year) or 730d"))
                return nil
            }
        }
        guard seconds <= 100 * 31_536_000 else {
            reader.report(
                .invalidDuration(at: value.position, key: value.path, text: text, reason: "is longer than 100 years"))
            return nil
        }
        return seconds
    }

    /// `trusted_proxies: N`: the proxies in front of Envoy whose X-Forwarded-For entries are believed.
    func decodeTrustedProxies(_ map: MappingReader) -> Int {
        guard let value = map.value("trusted_proxies"), let count = reader.integer(value) else { return 0 }
        guard (0...Self.maxTrustedProxies).contains(count) else {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path,
                    message:
                        "\"trusted_proxies\" \(YAMLReader.scalarText(value.node)) is not between 0 and \(Self.maxTrustedProxies)",
                    hint: "count the proxies in front of Envoy that add to X-Forwarded-For, usually 1"))
            return 0
        }
        return count
    }
}
