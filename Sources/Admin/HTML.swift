import Foundation

/// The few pieces every admin HTML page is built from. Everything shown passes through `escape`: node ids, NACK
/// messages, group and resource names come from proxies or from the routes file, never trusted as markup.
enum HTML {
    /// The headers every HTML page carries: nothing but this origin's stylesheet may load, no script runs, no page
    /// may frame it, and no referrer leaks the admin's paths.
    static let headers: [(String, String)] = [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
                + "frame-ancestors 'none'"
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ]

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A query value, percent-encoded (then still escaped where it lands in an attribute).
    static func queryValue(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func link(_ href: String, _ text: String, className: String? = nil) -> String {
        let classAttribute = className.map { " class=\"\(escape($0))\"" } ?? ""
        return "<a href=\"\(escape(href))\"\(classAttribute)>\(escape(text))</a>"
    }

    /// A whole document: `refresh` seconds, when given, reloads it with a meta tag (no script needed).
    static func document(title: String, refresh: Int? = nil, body: String) -> String {
        var head = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        head += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        if let refresh { head += "<meta http-equiv=\"refresh\" content=\"\(refresh)\">\n" }
        head += "<title>\(escape(title))</title>\n<link rel=\"stylesheet\" href=\"/ui/style.css\">\n</head>\n"
        return head + "<body>\n" + body + "</body>\n</html>\n"
    }

    /// `key=value&…` split into pairs, values percent-decoded; nil when a value is not valid percent-encoding.
    static func queryPairs(_ query: Substring) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let raw = parts.count > 1 ? String(parts[1]) : ""
            guard let value = raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else { return nil }
            pairs.append((String(parts[0]), value))
        }
        return pairs
    }

    /// The stylesheet at `/ui/style.css`: served from this origin so the policy needs no inline allowance.
    static let style = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
        h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
        nav a { margin-right: 1em; }
        table { border-collapse: collapse; margin: .5em 0; }
        th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top; }
        th { background: #f2f2f2; }
        code, pre, td.mono { font-family: ui-monospace, monospace; font-size: 13px; }
        pre { background: #f7f7f7; border: 1px solid #ddd; padding: .8em; overflow: auto; }
        td.synced, span.synced { color: #176f2c; font-weight: 600; }
        td.stale, span.stale { color: #946200; font-weight: 600; }
        td.nacked, span.nacked, .error { color: #b3261e; font-weight: 600; } td.none { color: #888; }
        tr.nacked { background: #fdf0ef; } tr.stale { background: #fdf8e8; }
        .ok { color: #176f2c; font-weight: 600; } .warning, .expiring { color: #946200; }
        .message { display: block; font-weight: normal; max-width: 28em; white-space: pre-wrap; }
        form label { margin-right: .8em; }
        .muted { color: #666; }
        """
}
