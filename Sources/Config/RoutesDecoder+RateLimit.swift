/// `rate_limit: { requests: 10, per: 1m }` on a host or a route.
extension RoutesDecoder {
    static let rateLimitKeys = ["requests", "per"]
    /// Envoy refills a bucket at most every 50 ms; a day is the longest window that still means "rate".
    static let rateLimitWindow: ClosedRange<Duration> = .milliseconds(50) ... .seconds(86_400)
    static let maxRateLimitRequests = 1_000_000

    /// What a `rate_limit` key said: `limit` nil when absent. The whole result is nil after an error.
    struct RateLimitSetting {
        var limit: RateLimit?
    }

    func decodeRateLimit(_ map: MappingReader) -> RateLimitSetting? {
        guard let value = map.value("rate_limit") else { return RateLimitSetting() }
        guard let entry = reader.mapping(value, place: "rate_limit", allowed: Self.rateLimitKeys) else { return nil }
        entry.rejectUnknownKeys()
        let requestsValue = entry.required("requests", hint: "how many requests each Envoy lets through, e.g. 10")
        let requests = requestsValue.flatMap {
            boundedInteger($0, 1...Self.maxRateLimitRequests, what: "rate_limit \"requests\"")
        }
        let perValue = entry.required("per", hint: "the window the requests are counted in, e.g. per: 1m")
        var per: Duration?
        if let perValue, let duration = reader.duration(perValue) {
            if Self.rateLimitWindow.contains(duration) {
                per = duration
            } else {
                reader.report(
                    .invalidValue(
                        at: perValue.position, key: perValue.path,
                        message: "rate_limit \"per\" must be between 50ms and 24h",
                        hint: "Envoy refills the bucket once per window; write e.g. 1s, 1m or 1h"))
            }
        }
        guard let requests, let per else { return nil }
        return RateLimitSetting(limit: RateLimit(requests: requests, per: per))
    }
}
