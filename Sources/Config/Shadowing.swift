/// Finds routes that can never match: Envoy takes the first route of a host that matches a request, so a route
/// after one that matches everything it would match is dead configuration, almost always an ordering mistake
/// (`prefix: /` first). Only certain cases are reported; a regex is compared only with `prefix: /` and with itself.
enum Shadowing {
    /// For each route that an earlier one shadows: its index, the earlier route's index and why.
    ///
    /// The earlier routes that could cover a route are looked up, not scanned: by its exact path, regex or template,
    /// and by every leading part of its path that some earlier `prefix` has the length of. A host of n routes costs
    /// about n lookups per distinct prefix length instead of n² comparisons. `shadowedByScan` is the plain version.
    static func shadowed(_ routes: [Route]) -> [(index: Int, by: Int, reason: String)] {
        var found: [(index: Int, by: Int, reason: String)] = []
        var earlier = EarlierRoutes()
        for (index, route) in routes.enumerated() {
            for candidate in earlier.candidates(for: route.match) {
                guard let reason = covers(routes[candidate], route) else { continue }
                found.append((index, candidate, reason))
                break
            }
            earlier.add(route.match, index: index)
        }
        return found
    }

    /// Every pair compared: the definition `shadowed` must agree with (the tests check they do).
    static func shadowedByScan(_ routes: [Route]) -> [(index: Int, by: Int, reason: String)] {
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

/// The routes of a host seen so far, indexed by what could make them cover a later route.
private struct EarlierRoutes {
    private var prefixes: [String: [Int]] = [:]
    /// The lengths (in characters, as `hasPrefix` counts) of the prefixes above: only those cuts of a path are looked up.
    private var prefixLengths: Set<Int> = []
    private var paths: [String: [Int]] = [:]
    private var regexes: [String: [Int]] = [:]
    private var templates: [String: [Int]] = [:]

    mutating func add(_ match: Route.Match, index: Int) {
        switch match {
        case .prefix(let p):
            prefixes[p, default: []].append(index)
            prefixLengths.insert(p.count)
        case .path(let x): paths[x, default: []].append(index)
        case .regex(let r): regexes[r, default: []].append(index)
        case .template(let t): templates[t, default: []].append(index)
        }
    }

    /// The earlier routes whose match may cover `match`, in file order; `Shadowing.covers` decides.
    func candidates(for match: Route.Match) -> [Int] {
        var found: [Int] = []
        switch match {
        case .prefix(let q):
            found += prefixesCovering(q)
        case .path(let x):
            found += prefixesCovering(x)
            found += paths[x] ?? []
        case .template(let t):
            found += prefixesCovering(Shadowing.literalPrefix(t))
            found += templates[t] ?? []
        case .regex(let r):
            found += prefixes["/"] ?? []
            found += regexes[r] ?? []
        }
        return found.count > 1 ? found.sorted() : found
    }

    /// Earlier prefixes that `text` starts with (whole characters, as `hasPrefix` compares).
    private func prefixesCovering(_ text: String) -> [Int] {
        guard !prefixes.isEmpty else { return [] }
        var found: [Int] = []
        var end = text.startIndex
        var length = 0
        while true {
            if prefixLengths.contains(length), let indices = prefixes[String(text[..<end])] {
                found += indices
            }
            guard end < text.endIndex else { break }
            end = text.index(after: end)
            length += 1
        }
        return found
    }
}
