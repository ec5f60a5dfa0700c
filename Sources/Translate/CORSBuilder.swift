import Config
import Protobuf

/// Cross-origin policies: Envoy's `cors` filter first in the connection manager (it answers preflights before any
/// other filter spends anything on them), and each host or route with `cors` carries its policy per route.
enum CORSBuilder {
    static let filterName = "envoy.filters.http.cors"

    static func needed(_ http: HTTPListener) -> Bool {
        http.hosts.contains { host in host.cors != nil || host.routes.contains { $0.cors != nil } }
    }

    static var httpFilter: ProtoValue {
        chainFilter(filterName, any("envoy.extensions.filters.http.cors.v3.Cors"))
    }

    /// The `typed_per_filter_config` entry holding `policy`.
    static func perRoute(_ policy: CORS) -> [String: ProtoValue] {
        var fields: [String: ProtoValue] = [
            "allow_origin_string_match": .list(policy.origins.map(matcher))
        ]
        if !policy.methods.isEmpty { fields["allow_methods"] = .string(policy.methods.joined(separator: ",")) }
        if !policy.headers.isEmpty { fields["allow_headers"] = .string(policy.headers.joined(separator: ",")) }
        if !policy.exposeHeaders.isEmpty {
            fields["expose_headers"] = .string(policy.exposeHeaders.joined(separator: ","))
        }
        if let age = policy.maxAge { fields["max_age"] = .string(String(age.components.seconds)) }
        if policy.credentials { fields["allow_credentials"] = .boolValue(true) }
        return [filterName: .any(ProtoMessage("envoy.extensions.filters.http.cors.v3.CorsPolicy", fields))]
    }

    /// An origin as Envoy compares it with the `Origin` header. Subdomains become a small regex (well under Envoy's
    /// default RE2 size limit, so it also holds for bootstraps Chancery did not write).
    static func matcher(_ origin: CORS.Origin) -> ProtoValue {
        switch origin {
        case .any:
            return message("envoy.type.matcher.v3.StringMatcher", ["safe_regex": regex(".*")])
        case .exact(let text):
            return message("envoy.type.matcher.v3.StringMatcher", ["exact": .string(text)])
        case .subdomains(let scheme, let suffix, let port):
            let escaped = suffix.replacingOccurrences(of: ".", with: "\\.")
            let pattern = "^\(scheme)://[a-z0-9.-]+\\.\(escaped)\(port.map { ":" + $0 } ?? "")$"
            return message("envoy.type.matcher.v3.StringMatcher", ["safe_regex": regex(pattern)])
        }
    }

    private static func regex(_ pattern: String) -> ProtoValue {
        message("envoy.type.matcher.v3.RegexMatcher", ["regex": .string(pattern)])
    }
}
