import Yams

/// Cluster options: weighted endpoints, health checks, outlier detection, circuit breakers, load balancing and TLS
/// to the upstream.
extension RoutesDecoder {
    static let endpointKeys = ["address", "weight"]
    static let healthCheckKeys = [
        "path", "tcp", "host", "statuses", "interval", "timeout", "healthy_threshold", "unhealthy_threshold",
    ]
    static let outlierKeys = ["consecutive_5xx", "interval", "base_ejection_time", "max_ejection_percent"]
    static let circuitBreakerKeys = ["max_connections", "max_pending_requests", "max_requests", "max_retries"]
    static let upstreamTLSKeys = ["sni", "ca", "certificate"]
    static let maxEndpointWeight = 10_000
    static let maxLimit = 1_000_000

    /// `endpoints: [127.0.0.1:8080, { address: 10.0.0.2:8080, weight: 3 }]`.
    func decodeEndpoints(_ value: Located) -> [Endpoint] {
        guard let items = reader.list(value) else { return [] }
        if items.isEmpty {
            reader.report(.emptyList(at: value.position, key: value.path, hint: "list at least one host:port"))
            return []
        }
        var endpoints: [Endpoint] = []
        for item in items {
            var addressValue = item
            var weight: Int?
            if item.node.mapping != nil {
                guard let entry = reader.mapping(item, place: "endpoint", allowed: Self.endpointKeys) else { continue }
                // Unknown keys first: `required` stays quiet about a misspelt `adress`, counting on this report.
                entry.rejectUnknownKeys()
                guard
                    let address = entry.required(
                        "address", hint: "write the endpoint's host:port, e.g. address: 10.0.0.2:8080")
                else { continue }
                addressValue = address
                if let weightValue = entry.value("weight") {
                    weight = boundedInteger(weightValue, 1...Self.maxEndpointWeight, what: "endpoint \"weight\"")
                    if weight == nil { continue }
                }
            }
            guard let text = reader.nonEmptyString(addressValue) else { continue }
            switch AddressText.endpoint(text) {
            case .success(let address):
                endpoints.append(Endpoint(host: address.host, port: address.port, weight: weight))
            case .failure(.reason(let reason)):
                reader.report(
                    .invalidEndpoint(at: addressValue.position, key: addressValue.path, text: text, reason: reason))
            }
        }
        return endpoints
    }

    /// An integer in `range`, or nil with an error naming `what`.
    func boundedInteger(_ value: Located, _ range: ClosedRange<Int>, what: String) -> Int? {
        guard let number = reader.integer(value) else { return nil }
        guard range.contains(number) else {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path,
                    message:
                        "\(what) \(YAMLReader.scalarText(value.node)) is not between \(range.lowerBound) and \(range.upperBound)",
                    hint: "write a whole number from \(range.lowerBound) to \(range.upperBound)"))
            return nil
        }
        return number
    }

    /// A duration above zero, or nil with an error.
    func positiveDuration(_ value: Located) -> Duration? {
        guard let duration = reader.duration(value) else { return nil }
        guard duration > .zero else {
            reader.report(
                .invalidValue(
                    at: value.position, key: value.path,
                    message: "\"\(value.path.split(separator: ".").last ?? "")\" must be longer than 0s",
                    hint: "write e.g. 5s"))
            return nil
        }
        return duration
    }

    func decodeLBPolicy(_ value: Located) -> LBPolicy? {
        guard let text = reader.nonEmptyString(value) else { return nil }
        if let policy = LBPolicy(rawValue: text) { return policy }
        let names = LBPolicy.allCases.map(\.rawValue)
        let guess = Suggest.closest(to: text, in: names).map { "did you mean \"\($0)\"? " } ?? ""
        reader.report(
            .invalidValue(
                at: value.position, key: value.path,
                message: "\"lb_policy\" \"\(text)\" is not a load-balancing policy",
                hint: guess + "use one of " + names.joined(separator: ", ")))
        return nil
    }

    /// `health_check: { path: /healthz, ... }` (HTTP) or `{ tcp: true, ... }` (connect only).
    func decodeHealthCheck(_ value: Located, cluster: String) -> HealthCheck? {
        guard
            let map = reader.mapping(
                value, place: "health_check of cluster \"\(cluster)\"", allowed: Self.healthCheckKeys)
        else { return nil }
        map.rejectUnknownKeys()
        let tcp = map.value("tcp").flatMap(reader.bool) ?? false
        var kind: HealthCheck.Kind?
        switch (map.value("path"), tcp) {
        case (_?, true):
            reader.report(
                .conflictingKeys(
                    at: map.keyPosition("tcp"), key: map.keyPath("tcp"),
                    message: "health_check has both \"path\" and \"tcp\"",
                    hint: "path checks over HTTP, tcp: true only connects; keep one"))
        case (let pathValue?, false):
            guard let path = matchPath(pathValue) else { return nil }
            var host: String?
            if let hostValue = map.value("host") { host = reader.nonEmptyString(hostValue) }
            var statuses: [Range<Int>] = []
            if let statusValue = map.value("statuses") {
                guard let ranges = decodeStatuses(statusValue) else { return nil }
                statuses = ranges
            }
            kind = .http(path: path, host: host, statuses: statuses)
        case (nil, true):
            for key in ["host", "statuses"] where map.has(key) {
                reader.report(
                    .conflictingKeys(
                        at: map.keyPosition(key), key: map.keyPath(key),
                        message: "\"\(key)\" only applies to an HTTP health check (path)",
                        hint: "remove \"\(key)\", or check a path instead of tcp"))
            }
            kind = .tcp
        case (nil, false):
            if !map.isMisspelled("path") && !map.isMisspelled("tcp") {
                reader.report(
                    .missingKey(
                        at: map.position, key: map.keyPath("path"), in: "health_check",
                        hint: "add path: /healthz (HTTP GET) or tcp: true (connect only)"))
            }
        }
        guard let kind else { return nil }
        var check = HealthCheck(kind: kind)
        if let interval = map.value("interval") {
            guard let duration = positiveDuration(interval) else { return nil }
            check.interval = duration
        }
        if let timeout = map.value("timeout") {
            guard let duration = positiveDuration(timeout) else { return nil }
            check.timeout = duration
        }
        if let healthy = map.value("healthy_threshold") {
            guard let count = boundedInteger(healthy, 1...100, what: "\"healthy_threshold\"") else { return nil }
            check.healthyThreshold = count
        }
        if let unhealthy = map.value("unhealthy_threshold") {
            guard let count = boundedInteger(unhealthy, 1...100, what: "\"unhealthy_threshold\"") else { return nil }
            check.unhealthyThreshold = count
        }
        return check
    }

    /// `[200, 204, "200-299"]`: statuses and inclusive ranges, as half-open ranges.
    private func decodeStatuses(_ value: Located) -> [Range<Int>]? {
        guard let items = reader.list(value) else { return nil }
        var ranges: [Range<Int>] = []
        for item in items {
            guard let text = reader.string(item) else { return nil }
            let parts = text.split(separator: "-", omittingEmptySubsequences: false).map {
                YAMLReader.decimal($0.trimmingCharactersInSpaces())
            }
            guard parts.count <= 2, let low = parts.first ?? nil, let high = parts.last ?? nil,
                (100...599).contains(low), (100...599).contains(high), low <= high
            else {
                reader.report(
                    .invalidValue(
                        at: item.position, key: item.path,
                        message: "health check status \"\(text)\" is not a status or range",
                        hint: "write statuses such as 200 or ranges such as 200-399, between 100 and 599"))
                return nil
            }
            ranges.append(low..<(high + 1))
        }
        return ranges
    }

    /// `outlier_detection: true` (Envoy's defaults) or a mapping of the settings to change.
    func decodeOutlierDetection(_ value: Located, cluster: String) -> OutlierDetection? {
        if value.node.mapping == nil {
            guard let on = reader.bool(value) else { return nil }
            return on ? OutlierDetection() : nil
        }
        guard
            let map = reader.mapping(
                value, place: "outlier_detection of cluster \"\(cluster)\"", allowed: Self.outlierKeys)
        else { return nil }
        map.rejectUnknownKeys()
        var settings = OutlierDetection()
        if let v = map.value("consecutive_5xx") {
            settings.consecutive5xx = boundedInteger(v, 1...1000, what: "\"consecutive_5xx\"")
        }
        if let v = map.value("interval") { settings.interval = positiveDuration(v) }
        if let v = map.value("base_ejection_time") { settings.baseEjectionTime = positiveDuration(v) }
        if let v = map.value("max_ejection_percent") {
            settings.maxEjectionPercent = boundedInteger(v, 1...100, what: "\"max_ejection_percent\"")
        }
        return settings
    }

    func decodeCircuitBreakers(_ value: Located, cluster: String) -> CircuitBreakers? {
        guard
            let map = reader.mapping(
                value, place: "circuit_breakers of cluster \"\(cluster)\"", allowed: Self.circuitBreakerKeys)
        else {
            return nil
        }
        map.rejectUnknownKeys()
        var limits = CircuitBreakers()
        func limit(_ key: String, lowest: Int = 1) -> Int? {
            map.value(key).flatMap { boundedInteger($0, lowest...Self.maxLimit, what: "\"\(key)\"") }
        }
        limits.maxConnections = limit("max_connections")
        limits.maxPendingRequests = limit("max_pending_requests")
        limits.maxRequests = limit("max_requests")
        limits.maxRetries = limit("max_retries", lowest: 0)
        return limits
    }

    /// `tls: { ca: FOLDER, sni: name, certificate: FOLDER }`: the upstream's certificate must chain to
    /// `FOLDER/ca.crt`; `certificate` is presented as a client certificate.
    func decodeUpstreamTLS(_ value: Located, endpoints: [Endpoint], cluster: String) -> UpstreamTLS? {
        guard let map = reader.mapping(value, place: "tls of cluster \"\(cluster)\"", allowed: Self.upstreamTLSKeys)
        else {
            return nil
        }
        map.rejectUnknownKeys()
        guard
            let caValue = map.required(
                "ca", hint: "name the certificate folder whose ca.crt signs the upstream's certificate, e.g. ca: nas"),
            let ca = reader.nonEmptyString(caValue)
        else { return nil }
        var sni: String?
        if let sniValue = map.value("sni") {
            guard let name = reader.nonEmptyString(sniValue) else { return nil }
            if name.contains("*") || name.contains(":") || AddressText.domainProblem(name) != nil {
                reader.report(
                    .invalidValue(
                        at: sniValue.position, key: sniValue.path, message: "\"sni\" \"\(name)\" is not a server name",
                        hint: "write the host name the upstream's certificate is for, e.g. nas.lan"))
                return nil
            }
            sni = name
        } else {
            // One DNS name for every endpoint is the name the upstream's certificate is for.
            let names = Set(endpoints.map(\.host).filter { !AddressText.isIP($0) })
            if names.count == 1 { sni = names.first }
        }
        var certificate: String?
        var certificatePosition: SourcePosition?
        if let certificateValue = map.value("certificate") {
            guard let folder = reader.nonEmptyString(certificateValue) else { return nil }
            certificate = folder
            certificatePosition = certificateValue.position
        }
        return UpstreamTLS(
            sni: sni, ca: ca, certificate: certificate, position: map.position, caPosition: caValue.position,
            certificatePosition: certificatePosition)
    }
}

extension Substring {
    fileprivate func trimmingCharactersInSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
