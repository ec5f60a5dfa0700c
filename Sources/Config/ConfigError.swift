/// One problem found in a routes file: where it is, which key, what is wrong, and how to fix it.
///
/// Created only through the static factories below so that every error of one kind reads the same way.
/// Equality and hashing look at `code` alone (as swift-certificates' `CertificateError` does): tests match
/// codes, not wording, and the wording can improve without breaking them.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem. A struct rather than an enum so that new kinds can be added without breaking
    /// exhaustive switches in other modules.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: String, Hashable, Sendable {
            case unreadableFile, yamlSyntax, wrongType, unknownKey, missingKey, duplicateKey
            case duplicateName, addressInUse, unknownCluster, unknownGroup, invalidDuration
            case portOutOfRange, invalidEndpoint, invalidAddress, emptyList, duplicateDomain
            case invalidDomain, redirectStatusNotAllowed, invalidStatus, conflictingKeys
            case missingAction, invalidPath, invalidValue, listenerHasNothingToDo, unknownCertificate
            case shadowedRoute, rawResource
        }
        fileprivate let backing: Backing
        fileprivate init(_ backing: Backing) { self.backing = backing }
        public var description: String { backing.rawValue }

        /// The file could not be read (missing, a directory, no permission).
        public static let unreadableFile = Code(.unreadableFile)
        /// libyaml rejected the text (bad indentation, unclosed quote, tab, ...).
        public static let yamlSyntax = Code(.yamlSyntax)
        /// A value has the wrong shape: a list where a mapping belongs, text where a number belongs.
        public static let wrongType = Code(.wrongType)
        /// A key that Chancery does not know (often a typo).
        public static let unknownKey = Code(.unknownKey)
        /// A required key is absent.
        public static let missingKey = Code(.missingKey)
        /// The same key twice in one mapping.
        public static let duplicateKey = Code(.duplicateKey)
        /// Two listeners, clusters, hosts (in one listener) or groups with the same name.
        public static let duplicateName = Code(.duplicateName)
        /// Two listeners bind the same address:port for one node group.
        public static let addressInUse = Code(.addressInUse)
        /// A route or TCP listener names a cluster that is not defined.
        public static let unknownCluster = Code(.unknownCluster)
        /// A listener names a node group that `groups:` does not declare.
        public static let unknownGroup = Code(.unknownGroup)
        /// A duration such as `30x` or `1s1m`.
        public static let invalidDuration = Code(.invalidDuration)
        /// A port outside 1...65535.
        public static let portOutOfRange = Code(.portOutOfRange)
        /// An endpoint that is not `host:port`.
        public static let invalidEndpoint = Code(.invalidEndpoint)
        /// A listener address that is not an IP literal.
        public static let invalidAddress = Code(.invalidAddress)
        /// A list that must not be empty is empty (domains, endpoints, routes, groups).
        public static let emptyList = Code(.emptyList)
        /// The same domain served by two hosts of one listener.
        public static let duplicateDomain = Code(.duplicateDomain)
        /// A domain Envoy would not accept (spaces, wildcard in the middle).
        public static let invalidDomain = Code(.invalidDomain)
        /// A redirect status other than 301, 302, 303, 307, 308.
        public static let redirectStatusNotAllowed = Code(.redirectStatusNotAllowed)
        /// A `respond` status outside 200...599.
        public static let invalidStatus = Code(.invalidStatus)
        /// Keys that exclude each other: `prefix` with `path`, `cluster` with `redirect`, `tcp` with `hosts`, ...
        public static let conflictingKeys = Code(.conflictingKeys)
        /// A route with none of `cluster`, `redirect`, `respond`, or a match with neither `prefix` nor `path`.
        public static let missingAction = Code(.missingAction)
        /// A path or prefix that does not start with `/`.
        public static let invalidPath = Code(.invalidPath)
        /// Any other value outside its allowed set (`proxy_protocol: v3`, a zero connect timeout).
        public static let invalidValue = Code(.invalidValue)
        /// A listener with no `hosts`, no `redirect_to_https` and no `tcp`.
        public static let listenerHasNothingToDo = Code(.listenerHasNothingToDo)
        /// A `certificate:` that is not present in the certificate directory.
        public static let unknownCertificate = Code(.unknownCertificate)
        /// A route that can never match because an earlier route of its host takes every request it would.
        public static let shadowedRoute = Code(.shadowedRoute)
        /// A raw Envoy resource file (`--raw`) that is not a valid resource, or one that cannot join the snapshot.
        public static let rawResource = Code(.rawResource)
    }

    public let code: Code
    /// Where the problem is; for a missing key, the mapping that should hold it.
    public let position: SourcePosition
    /// The dotted path of the offending key, e.g. `listeners[1].hosts[0].routes[0].cluster`.
    public let key: String
    /// What is wrong, naming the key.
    public let message: String
    /// How to fix it, or nil when the message says it all.
    public let hint: String?

    private init(_ code: Code, _ position: SourcePosition, key: String, _ message: String, hint: String? = nil) {
        self.code = code
        self.position = position
        self.key = key
        self.message = message
        self.hint = hint
    }

    /// `routes.yaml:14:9: route targets cluster "wwww", which is not defined (did you mean "www"?)`
    public var description: String {
        var text = "\(position): \(message)"
        if let hint { text += " (\(hint))" }
        return text
    }

    public static func == (lhs: ConfigError, rhs: ConfigError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}

// MARK: - Factories

extension ConfigError {
    static func unreadableFile(path: String, reason: String) -> ConfigError {
        ConfigError(
            .unreadableFile, SourcePosition(file: path, line: 0, column: 0), key: "",
            "cannot read routes file \"\(path)\": \(reason)", hint: "check the path given to --config")
    }

    static func yamlSyntax(at position: SourcePosition, problem: String, context: String?) -> ConfigError {
        var message = "YAML syntax error: \(problem)"
        if let context { message += " (\(context))" }
        return ConfigError(
            .yamlSyntax, position, key: "", message,
            hint: "check indentation (spaces, not tabs), quotes and brackets near here")
    }

    static func wrongType(at position: SourcePosition, key: String, expected: String, found: String) -> ConfigError {
        if key.isEmpty {
            return ConfigError(
                .wrongType, position, key: key, "the routes file must be a mapping of keys, found \(found)",
                hint: "it starts with \"listeners:\" (and optionally groups:, clusters:); list items go under it")
        }
        return ConfigError(.wrongType, position, key: key, "\"\(leaf(key))\" must be \(expected), found \(found)")
    }

    static func unknownKey(
        at position: SourcePosition, key: String, name: String, in place: String,
        allowed: [String]
    ) -> ConfigError {
        let hint: String
        if let guess = Suggest.closest(to: name, in: allowed) {
            hint = "did you mean \"\(guess)\"?"
        } else {
            hint = "allowed keys: \(allowed.joined(separator: ", "))"
        }
        return ConfigError(.unknownKey, position, key: key, "unknown key \"\(name)\" in \(place)", hint: hint)
    }

    /// A mapping that needs one of several keys, e.g. a route's match: `route needs one of "prefix", "path", …`.
    static func missingOneOf(
        at position: SourcePosition, key: String, in place: String, choices: [String], hint: String
    ) -> ConfigError {
        let quoted = choices.map { "\"\($0)\"" }
        let list = quoted.dropLast().joined(separator: ", ") + " or " + (quoted.last ?? "")
        return ConfigError(.missingKey, position, key: key, "\(place) needs one of \(list)", hint: hint)
    }

    static func missingKey(at position: SourcePosition, key: String, in place: String, hint: String) -> ConfigError {
        ConfigError(.missingKey, position, key: key, "\(place) is missing required key \"\(leaf(key))\"", hint: hint)
    }

    static func emptyFile(at position: SourcePosition) -> ConfigError {
        ConfigError(
            .missingKey, position, key: "listeners", "the routes file is empty",
            hint: "start with \"listeners:\"; docs/ROUTES.md and the README show complete files")
    }

    static func duplicateKey(at position: SourcePosition, names: [String], firstLine: Int? = nil) -> ConfigError {
        let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
        let first = firstLine.map { " (first on line \($0))" } ?? ""
        return ConfigError(
            .duplicateKey, position, key: names.first ?? "",
            "key \(list) appears more than once in the same mapping\(first)",
            hint: "keep one; YAML does not merge repeated keys")
    }

    static func duplicateName(
        at position: SourcePosition, key: String, kind: String, name: String,
        first: SourcePosition
    ) -> ConfigError {
        ConfigError(
            .duplicateName, position, key: key, "\(kind) name \"\(name)\" is already used",
            hint: "first defined at line \(first.line); names must be unique")
    }

    static func addressInUse(
        at position: SourcePosition, key: String, address: String, port: Int,
        group: String, other: String, otherPosition: SourcePosition
    ) -> ConfigError {
        ConfigError(
            .addressInUse, position, key: key,
            "\"port\" \(address):\(port) is already used by listener \"\(other)\" (line \(otherPosition.line)) in group \"\(group)\"",
            hint: "use another port, or put the listeners in different groups")
    }

    static func unknownCluster(
        at position: SourcePosition, key: String, name: String, defined: [String],
        from owner: String
    ) -> ConfigError {
        let hint: String
        if let guess = Suggest.closest(to: name, in: defined) {
            hint = "did you mean \"\(guess)\"?"
        } else if defined.isEmpty {
            hint = "define it under \"clusters:\""
        } else {
            hint = "define it under \"clusters:\"; defined: \(defined.joined(separator: ", "))"
        }
        return ConfigError(
            .unknownCluster, position, key: key,
            "\(owner) targets cluster \"\(name)\", which is not defined", hint: hint)
    }

    static func unknownGroup(at position: SourcePosition, key: String, name: String, declared: [String]) -> ConfigError
    {
        let hint: String
        if let guess = Suggest.closest(to: name, in: declared) {
            hint = "did you mean \"\(guess)\"?"
        } else {
            hint = "add it to the top-level \"groups:\" list (declared: \(declared.joined(separator: ", ")))"
        }
        return ConfigError(
            .unknownGroup, position, key: key,
            "listener group \"\(name)\" is not declared in \"groups\"", hint: hint)
    }

    static func invalidDuration(
        at position: SourcePosition, key: String, text: String, reason: String,
        hint: String = "write e.g. 0s, 500ms, 2s, 1m, 1h or 1m30s"
    ) -> ConfigError {
        ConfigError(
            .invalidDuration, position, key: key, "\"\(leaf(key))\" is not a valid duration: \"\(text)\" \(reason)",
            hint: hint)
    }

    static func portOutOfRange(at position: SourcePosition, key: String, value: String) -> ConfigError {
        ConfigError(.portOutOfRange, position, key: key, "\"\(leaf(key))\" must be between 1 and 65535, found \(value)")
    }

    static func invalidEndpoint(at position: SourcePosition, key: String, text: String, reason: String) -> ConfigError {
        ConfigError(
            .invalidEndpoint, position, key: key, "endpoint \"\(text)\" \(reason)",
            hint: "write host:port, e.g. 127.0.0.1:8080, [::1]:8080 or backend.internal:8080")
    }

    static func invalidAddress(at position: SourcePosition, key: String, text: String) -> ConfigError {
        ConfigError(
            .invalidAddress, position, key: key, "\"address\" \"\(text)\" is not an IP address",
            hint: "listeners bind an IP literal such as 0.0.0.0, 127.0.0.1 or ::")
    }

    static func emptyList(at position: SourcePosition, key: String, hint: String) -> ConfigError {
        ConfigError(.emptyList, position, key: key, "\"\(leaf(key))\" must not be empty", hint: hint)
    }

    static func duplicateDomain(
        at position: SourcePosition, key: String, domain: String, listener: String,
        otherHost: String, otherPosition: SourcePosition,
        hint: String = "a domain may appear in only one host per listener"
    ) -> ConfigError {
        ConfigError(
            .duplicateDomain, position, key: key,
            "domain \"\(domain)\" is already served by host \"\(otherHost)\" (line \(otherPosition.line)) of listener \"\(listener)\"",
            hint: hint)
    }

    static func invalidDomain(
        at position: SourcePosition, key: String, domain: String, reason: String,
        hint: String = "write a host name such as example.com, *.example.com or *"
    ) -> ConfigError {
        ConfigError(.invalidDomain, position, key: key, "domain \"\(domain)\" \(reason)", hint: hint)
    }

    static func redirectStatusNotAllowed(at position: SourcePosition, key: String, value: String) -> ConfigError {
        ConfigError(
            .redirectStatusNotAllowed, position, key: key, "redirect \"status\" \(value) is not allowed",
            hint: "use one of 301, 302, 303, 307, 308")
    }

    static func invalidStatus(at position: SourcePosition, key: String, value: String) -> ConfigError {
        ConfigError(
            .invalidStatus, position, key: key,
            Int(value).map { (100..<200).contains($0) }
                == true
                ? "respond \"status\" \(value) is informational and cannot answer a request"
                : "respond \"status\" \(value) is not an HTTP status",
            hint: "use a status between 200 and 599")
    }

    static func conflictingKeys(at position: SourcePosition, key: String, message: String, hint: String) -> ConfigError
    {
        ConfigError(.conflictingKeys, position, key: key, message, hint: hint)
    }

    static func missingAction(at position: SourcePosition, key: String, message: String, hint: String) -> ConfigError {
        ConfigError(.missingAction, position, key: key, message, hint: hint)
    }

    static func invalidPath(at position: SourcePosition, key: String, text: String) -> ConfigError {
        ConfigError(
            .invalidPath, position, key: key, "\"\(leaf(key))\" \"\(text)\" must start with \"/\"",
            hint: "write e.g. \"/\" or \"/api/\"")
    }

    static func invalidValue(at position: SourcePosition, key: String, message: String, hint: String) -> ConfigError {
        ConfigError(.invalidValue, position, key: key, message, hint: hint)
    }

    static func listenerHasNothingToDo(at position: SourcePosition, key: String, name: String) -> ConfigError {
        ConfigError(
            .listenerHasNothingToDo, position, key: key,
            "listener \"\(name)\" has no \"hosts\", no \"redirect_to_https\", no \"passthrough\" and no \"tcp\"",
            hint:
                "add hosts (HTTP routing), redirect_to_https: true, passthrough (TLS by server name) or tcp: { cluster: ... }"
        )
    }

    static func shadowedRoute(at position: SourcePosition, key: String, byLine line: Int, reason: String)
        -> ConfigError
    {
        ConfigError(
            .shadowedRoute, position, key: key,
            "route is never used: the route on line \(line) takes every request it would (\(reason))",
            hint: "Envoy uses the first route that matches; put the more specific route first, or remove one")
    }

    static func unknownCertificate(
        at position: SourcePosition, key: String, name: String,
        available: Set<String>
    ) -> ConfigError {
        let names = available.sorted()
        let hint: String
        if let guess = Suggest.closest(to: name, in: names) {
            hint = "did you mean \"\(guess)\"?"
        } else if names.isEmpty {
            hint = "no valid certificate was found in the certificate directory"
        } else {
            hint =
                "expected \(name)/tls.crt and tls.key in the certificate directory; available: \(names.joined(separator: ", "))"
        }
        return ConfigError(
            .unknownCertificate, position, key: key,
            "\"certificate\" \"\(name)\" is not in the certificate directory", hint: hint)
    }

    static func unknownClientCA(
        at position: SourcePosition, key: String, name: String,
        available: Set<String>
    ) -> ConfigError {
        let names = available.sorted()
        let hint: String
        if let guess = Suggest.closest(to: name, in: names), guess != name {
            hint = "did you mean \"\(guess)\"?"
        } else if names.isEmpty {
            hint =
                "no certificate folder holds a valid ca.crt; put the CA that signs client certificates in \(name)/ca.crt in the certificate directory"
        } else {
            hint =
                "put the CA that signs client certificates in \(name)/ca.crt; folders with one: \(names.joined(separator: ", "))"
        }
        return ConfigError(
            .unknownCertificate, position, key: key,
            "client certificates need \(name)/ca.crt in the certificate directory, which is missing or not valid",
            hint: hint)
    }

    static func unknownUpstreamCA(
        at position: SourcePosition, key: String, name: String,
        available: Set<String>
    ) -> ConfigError {
        let names = available.sorted()
        let hint: String
        if let guess = Suggest.closest(to: name, in: names), guess != name {
            hint = "did you mean \"\(guess)\"?"
        } else {
            hint = "put the CA that signs the upstream's certificate in \(name)/ca.crt"
        }
        return ConfigError(
            .unknownCertificate, position, key: key,
            "upstream TLS needs \(name)/ca.crt in the certificate directory, which is missing or not valid", hint: hint)
    }

    /// A problem in a raw Envoy resource file, found by the `RawResources` module or by the pipeline.
    public static func rawResource(at position: SourcePosition, key: String, message: String, hint: String? = nil)
        -> ConfigError
    {
        ConfigError(.rawResource, position, key: key, message, hint: hint)
    }

    /// The last component of a dotted key path: `listeners[0].port` → `port`.
    private static func leaf(_ key: String) -> String {
        let last = key.split(separator: ".").last.map(String.init) ?? key
        if let bracket = last.firstIndex(of: "[") { return String(last[..<bracket]) }
        return last
    }
}

/// Every problem found in one routes file, in file order.
public struct ConfigErrors: Error, Hashable, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    /// One error per line, ready for a terminal.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
    /// The codes in order; convenient for tests.
    public var codes: [ConfigError.Code] { errors.map(\.code) }
}
