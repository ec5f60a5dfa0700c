/// Finds routes that can never match: Envoy takes the first route of a host that matches a request, so a route
/// after one that matches everything it would match is dead configuration, almost always an ordering mistake
/// (`prefix: /` first). Only certain cases are reported; a regex is compared only with `prefix: /` and with itself.
enum Shadowing {
    /// For each route that an earlier one shadows: its index, the earlier route's index and why.
    static func shadowed(_ routes: [Route]) -> [(index: Int, by: Int, reason: String)] {
        var found: [(index: Int, by: Int, reason: String)] = []
        for (index, route) in routes.enumerated() {
            for earlier in routes.indices where earlier < index {
                guard let reason = covers(routes[earlier], route) else { continue }
                found.append((index, earlier, reason))
                break
            }
        }
        return found
    }

    /// Why `first` matches every request `second` matches, or nil when it may not. `first`'s header and query
    /// conditions must all be conditions of `second` too, or some request could pass `second` and fail `first`.
    static func covers(_ first: Route, _ second: Route) -> String? {
        guard first.headerMatches.allSatisfy(second.headerMatches.contains),
            first.queryMatches.allSatisfy(second.queryMatches.contains),
            let reason = covers(first.match, second.match)
        else { return nil }
        let conditions = first.headerMatches.isEmpty && first.queryMatches.isEmpty ? "" : " with the same conditions"
        return reason + conditions
    }

    static func covers(_ first: Route.Match, _ second: Route.Match) -> String? {
        switch (first, second) {
        case (.prefix(let p), .prefix(let q)) where q.hasPrefix(p):
            return p == q ? "the same prefix \"\(p)\"" : "prefix \"\(p)\" covers prefix \"\(q)\""
        case (.prefix(let p), .path(let x)) where x.hasPrefix(p):
            return "prefix \"\(p)\" covers path \"\(x)\""
        case (.prefix(let p), .template(let t)) where literalPrefix(t).hasPrefix(p):
            return "prefix \"\(p)\" covers path_template \"\(t)\""
        case (.prefix("/"), .regex(let r)):
            return "prefix \"/\" covers regex \"\(r)\""
        case (.path(let x), .path(let y)) where x == y:
            return "the same path \"\(x)\""
        case (.regex(let r), .regex(let s)) where r == s:
            return "the same regex \"\(r)\""
        case (.template(let t), .template(let u)) where t == u:
            return "the same path_template \"\(t)\""
        default:
            return nil
        }
    }

    /// The text every path a template matches starts with: everything before its first variable or wildcard.
    static func literalPrefix(_ template: String) -> String {
        String(template.prefix { $0 != "{" && $0 != "*" })
    }
}
