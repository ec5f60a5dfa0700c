import Foundation

/// Syntax of the addresses a routes file names: listener IPs, `host:port` endpoints and virtual-host domains.
///
/// Written by hand rather than with `inet_pton` so that the Config module stays free of platform C APIs and gives
/// a reason with every refusal.
enum AddressText {
    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int(part)
            else { return false }
            return value <= 255
        }
    }

    static func isIPv6(_ text: String) -> Bool {
        guard !text.isEmpty, text.count <= 45 else { return false }
        var body = Substring(text)
        // A zone index (`fe80::1%eth0`) is not meaningful in a routes file shared by several machines.
        var groupsAllowed = 8
        if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
            guard isIPv4(String(body[body.index(after: lastColon)...])) else { return false }
            body = body[...lastColon]
            if body.hasSuffix(":") && !body.hasSuffix("::") { body = body.dropLast() }
            groupsAllowed = 6
        }
        let halves = body.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        func groups(_ half: String) -> Int? {
            if half.isEmpty { return 0 }
            let items = half.split(separator: ":", omittingEmptySubsequences: false)
            for item in items {
                guard (1...4).contains(item.count), item.allSatisfy(\.isHexDigit) else { return nil }
            }
            return items.count
        }
        if halves.count == 2 {
            guard let left = groups(halves[0]), let right = groups(halves[1]) else { return false }
            // `::` stands for at least one group of zeros.
            return left + right <= groupsAllowed - 1
        }
        guard let count = groups(halves[0]) else { return false }
        return count == groupsAllowed
    }

    static func isIP(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    /// A DNS host name: labels of letters, digits and hyphens, not starting or ending with a hyphen.
    static func isHostName(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            (1...63).contains(label.utf8.count)
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
                && label.first != "-" && label.last != "-"
        }
        // All-numeric names are mistyped IPv4 addresses (`10.0.0.256`), not host names.
        let numeric = labels.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } }
        return valid && !numeric
    }

    enum EndpointFailure: Error { case reason(String) }

    /// `127.0.0.1:8080`, `[::1]:8080`, `backend.internal:8080`. IPv6 hosts come back without brackets.
    static func endpoint(_ text: String) -> Result<(host: String, port: Int), EndpointFailure> {
        if text.contains("://") {
            return .failure(
                .reason("has a scheme; write only host:port, and add tls: to the cluster for an https upstream"))
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.reason("has \"[\" without \"]\"")) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(.reason("needs \":port\" after \"]\"")) }
            portText = rest.dropFirst()
            guard isIPv6(String(host)) else {
                return .failure(.reason("has \"\(host)\" in brackets, which is not an IPv6 address"))
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.reason("has no port")) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                return .failure(.reason("looks like an IPv6 address without brackets"))
            }
            guard !host.isEmpty else { return .failure(.reason("has no host before the port")) }
            let hostString = String(host)
            guard isIPv4(hostString) || isHostName(hostString) else {
                return .failure(.reason("has \"\(host)\", which is neither an IPv4 address nor a host name"))
            }
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText)
        else {
            return .failure(.reason("has port \"\(portText)\", which is not a number"))
        }
        guard (1...65535).contains(port) else { return .failure(.reason("has port \(port), outside 1...65535")) }
        return .success((String(host), port))
    }

    /// Why Envoy would refuse `domain` in a virtual host, or nil when it is fine.
    ///
    /// Envoy accepts `*`, a leading `*` (`*.example.com`, `*-api.example.com`) or a trailing `*` (`api.*`),
    /// optionally with `:port`.
    static func domainProblem(_ domain: String) -> String? {
        if domain == "*" { return nil }
        if domain.contains("://") { return "contains a scheme; write only the host name" }
        if domain.contains(where: { $0 == " " || $0 == "\t" || $0 == "/" }) {
            return "contains a space or \"/\"; write only the host name"
        }
        let stars = domain.filter { $0 == "*" }.count
        if stars > 1 || (stars == 1 && !domain.hasPrefix("*") && !domain.hasSuffix("*")) {
            return "has \"*\" in the middle; Envoy only allows a leading or trailing wildcard"
        }
        return nil
    }
}
