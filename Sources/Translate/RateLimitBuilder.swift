import Config
import Protobuf

/// Local rate limits: Envoy's `local_ratelimit` HTTP filter sits in the connection manager without a bucket of its
/// own (so it limits nothing by itself), and each host or route with `rate_limit` carries its bucket as per-route
/// configuration. A route's bucket replaces its host's; one bucket serves every route that shares its host's.
enum RateLimitBuilder {
    static let filterName = "envoy.filters.http.local_ratelimit"
    static let configType = "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"

    /// Whether the listener needs the filter: some host or route asks for a limit.
    static func needed(_ http: HTTPListener) -> Bool {
        http.hosts.contains { host in host.rateLimit != nil || host.routes.contains { $0.rateLimit != nil } }
    }

    /// The filter for the connection manager's chain, before the router.
    static var httpFilter: ProtoValue {
        chainFilter(filterName, any(configType, ["stat_prefix": .string("rate_limit")]))
    }

    /// The `typed_per_filter_config` entry holding the bucket of `limit`, for a virtual host or a route.
    static func perRoute(_ limit: RateLimit) -> [String: ProtoValue] {
        let always = message(
            "envoy.config.core.v3.RuntimeFractionalPercent",
            [
                "default_value": message(
                    "envoy.type.v3.FractionalPercent", ["numerator": .int(100), "denominator": .enumValue("HUNDRED")])
            ])
        let bucket = message(
            "envoy.type.v3.TokenBucket",
            [
                "max_tokens": .int(Int64(limit.requests)),
                "tokens_per_fill": .uint32Value(UInt32(limit.requests)),
                "fill_interval": .duration(limit.per),
            ])
        let config = ProtoMessage(
            configType,
            [
                "stat_prefix": .string("rate_limit"),
                "token_bucket": bucket,
                // Both default to 0 %: without them the bucket is counted but never enforced.
                "filter_enabled": always,
                "filter_enforced": always,
            ])
        return [filterName: .any(config)]
    }
}
