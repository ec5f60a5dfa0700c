import Config
import Protobuf

/// A route's RouteMatch: the path condition, then header and query-parameter conditions.
enum MatchBuilder {
    static func routeMatch(_ route: Route) -> ProtoValue {
        var match: [String: ProtoValue] = [:]
        switch route.match {
        case .prefix(let prefix): match["prefix"] = .string(prefix)
        case .path(let path): match["path"] = .string(path)
        case .regex(let pattern): match["safe_regex"] = regex(pattern)
        case .template(let template):
            match["path_match_policy"] = message(
                "envoy.config.core.v3.TypedExtensionConfig",
                [
                    "name": .string("envoy.path.match.uri_template.uri_template_matcher"),
                    "typed_config": any(
                        "envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig",
                        ["path_template": .string(template)]),
                ])
        }
        if !route.headerMatches.isEmpty { match["headers"] = .list(route.headerMatches.map(header)) }
        if !route.queryMatches.isEmpty { match["query_parameters"] = .list(route.queryMatches.map(query)) }
        return message("envoy.config.route.v3.RouteMatch", match)
    }

    static func regex(_ pattern: String) -> ProtoValue {
        message("envoy.type.matcher.v3.RegexMatcher", ["regex": .string(pattern)])
    }

    /// A StringMatcher for a value condition; nil for `present`.
    private static func stringMatcher(_ match: ValueMatch) -> ProtoValue? {
        let field: (String, ProtoValue)
        switch match {
        case .exact(let text): field = ("exact", .string(text))
        case .prefix(let text): field = ("prefix", .string(text))
        case .regex(let pattern): field = ("safe_regex", regex(pattern))
        case .present: return nil
        }
        return message("envoy.type.matcher.v3.StringMatcher", [field.0: field.1])
    }

    private static func header(_ header: HeaderMatch) -> ProtoValue {
        var fields: [String: ProtoValue] = ["name": .string(header.name)]
        var invert = header.invert
        if case .present(let present) = header.match {
            fields["present_match"] = .bool(true)
            // "must be absent" is "present", inverted.
            if !present { invert.toggle() }
        } else {
            fields["string_match"] = stringMatcher(header.match)
        }
        if invert { fields["invert_match"] = .bool(true) }
        return message("envoy.config.route.v3.HeaderMatcher", fields)
    }

    private static func query(_ query: QueryMatch) -> ProtoValue {
        var fields: [String: ProtoValue] = ["name": .string(query.name)]
        if case .present = query.match {
            fields["present_match"] = .bool(true)
        } else {
            fields["string_match"] = stringMatcher(query.match)
        }
        return message("envoy.config.route.v3.QueryParameterMatcher", fields)
    }
}
