import Config
import Protobuf
import Vocabulary
import Yams

/// One Envoy resource written by hand beside the routes file, in Envoy's own proto3 JSON form.
public struct RawResource: Hashable, Sendable {
    public var type: ResourceType
    public var name: String
    public var message: ProtoMessage
    /// The node groups it is served to; nil means every group.
    public var groups: [String]?
    /// Where its mapping starts (and where `groups:` is, for a group that does not exist).
    public var position: SourcePosition
    public var groupsPosition: SourcePosition?

    /// `cluster "legacy"`, as messages name it.
    public var label: String { "\(Self.kind(type)) \"\(name)\"" }

    public static func kind(_ type: ResourceType) -> String {
        switch type {
        case .listener: return "listener"
        case .route: return "route configuration"
        case .cluster: return "cluster"
        case .endpoint: return "load assignment"
        case .secret: return "secret"
        }
    }
}

/// A raw resource file: an optional `groups:` list and a `resources:` list of Envoy resources, each with `"@type"`.
///
///     groups: [edge]
///     resources:
///       - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
///         name: legacy
///         connect_timeout: 2s
///
/// Parsing is pure: text in, resources or every problem (one per resource at most) with file:line:col out.
public enum RawResourceFile {
    /// The types a raw file may hold. Secrets are not among them: certificates come from the certificate directory,
    /// so that no private key is ever written into a configuration file.
    public static let servedTypes: [ResourceType] = [.listener, .route, .cluster, .endpoint]

    /// Errors reported per file before the rest of it is left unchecked.
    static let maximumErrors = 50

    /// The file's bytes: refused at the first byte that is not UTF-8, rather than read with a replacement character.
    public static func parse(bytes: [UInt8], file: String) throws(ConfigErrors) -> [RawResource] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            var (line, column) = (1, 1)
            var decoder = UTF8()
            var iterator = bytes.makeIterator()
            loop: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar):
                    if scalar == "\n" {
                        (line, column) = (line + 1, 1)
                    } else {
                        column += 1
                    }
                case .emptyInput, .error: break loop
                }
            }
            throw ConfigErrors([
                .rawResource(
                    at: SourcePosition(file: file, line: line, column: column), key: "",
                    message: "the file is not valid UTF-8 here", hint: "save it as UTF-8")
            ])
        }
        return try parse(text, file: file)
    }

    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> [RawResource] {
        // Only JSON files: in YAML's plain and single-quoted scalars a backslash is just a character.
        let composing = file.hasSuffix(".json") ? SurrogateEscapes.joined(text) : nil
        guard let root = try RoutesFile.compose(text, file: file, composing: composing) else { return [] }
        var yaml = YAMLInput(file: file)
        let input: ProtoInput
        do {
            input = try yaml.convert(root)
        } catch {
            throw ConfigErrors([error])
        }
        func at(_ line: Int, _ column: Int) -> SourcePosition { SourcePosition(file: file, line: line, column: column) }
        guard case .object(let members) = input.value else {
            throw ConfigErrors([
                .rawResource(
                    at: at(input.line, input.column), key: "",
                    message: "a raw resource file must be a mapping with \"resources:\", found \(input.shape)",
                    hint: "start with \"resources:\" and list Envoy resources, each with \"@type\"")
            ])
        }
        var errors: [ConfigError] = []
        var groups: [String]?
        var groupsPosition: SourcePosition?
        var resourceList: [ProtoInput] = []
        for member in members {
            switch member.key {
            case "groups":
                groupsPosition = at(member.line, member.column)
                guard case .list(let items) = member.value.value else {
                    errors.append(
                        .rawResource(
                            at: at(member.value.line, member.value.column), key: "groups",
                            message: "\"groups\" must be a list of node group names, found \(member.value.shape)"))
                    continue
                }
                var names: [String] = []
                for item in items {
                    guard case .string(let name) = item.value, !name.isEmpty else {
                        errors.append(
                            .rawResource(
                                at: at(item.line, item.column), key: "groups",
                                message: "a group name must be text, found \(item.shape)"))
                        continue
                    }
                    names.append(name)
                }
                if items.isEmpty {
                    errors.append(
                        .rawResource(
                            at: at(member.value.line, member.value.column), key: "groups",
                            message: "\"groups\" is empty, so these resources would be served to no proxy",
                            hint: "name at least one node group, or remove \"groups\" to serve every group"))
                }
                groups = names
            case "resources":
                guard case .list(let items) = member.value.value else {
                    errors.append(
                        .rawResource(
                            at: at(member.value.line, member.value.column), key: "resources",
                            message: "\"resources\" must be a list of Envoy resources, found \(member.value.shape)"))
                    continue
                }
                resourceList = items
            default:
                let hint = Suggest.closest(to: member.key, in: ["groups", "resources"]).map {
                    "did you mean \"\($0)\"?"
                }
                errors.append(
                    .rawResource(
                        at: at(member.line, member.column), key: member.key,
                        message: "unknown key \"\(member.key)\" in a raw resource file",
                        hint: hint ?? "allowed keys: groups, resources"))
            }
        }
        var resources: [RawResource] = []
        var seen: [String: Int] = [:]
        for (index, item) in resourceList.enumerated() {
            // A file of thousands of broken resources costs a bounded amount and prints a readable report.
            if errors.count >= maximumErrors {
                errors.append(
                    .rawResource(
                        at: at(item.line, item.column), key: "resources[\(index)]",
                        message:
                            "too many errors; the \(resourceList.count - index) resources from here on were not checked",
                        hint: "fix the errors above first"))
                break
            }
            do throws(ConfigError) {
                var resource = try self.resource(item, index: index, file: file)
                resource.groups = groups
                resource.groupsPosition = groupsPosition
                let key = "\(resource.type.rawValue)/\(resource.name)"
                if let line = seen[key] {
                    throw ConfigError.rawResource(
                        at: resource.position, key: "resources[\(index)]",
                        message: "\(resource.label) is defined twice in this file (first on line \(line))",
                        hint: "names must be unique per type")
                }
                seen[key] = resource.position.line
                resources.append(resource)
            } catch {
                errors.append(error)
            }
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return resources
    }

    private static func resource(_ input: ProtoInput, index: Int, file: String) throws(ConfigError) -> RawResource {
        let key = "resources[\(index)]"
        let position = SourcePosition(file: file, line: input.line, column: input.column)
        guard case .object(let members) = input.value else {
            throw .rawResource(
                at: position, key: key, message: "a resource must be a mapping with \"@type\", found \(input.shape)")
        }
        guard let typeMember = members.first(where: { $0.key == "@type" }),
            case .string(let url) = typeMember.value.value
        else {
            throw .rawResource(
                at: position, key: key, message: "the resource has no \"@type\"",
                hint: "e.g. \"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster")
        }
        let typePosition = SourcePosition(file: file, line: typeMember.value.line, column: typeMember.value.column)
        // Any type URL prefix names the type by what follows its last "/", as proto3 JSON readers do.
        let named = url.split(separator: "/").last.map(String.init) ?? url
        let type = url.contains("/") ? ResourceType.allCases.first { $0.protoName == named } : nil
        guard let type, servedTypes.contains(type) else {
            let urls = servedTypes.map(\.typeURL)
            let hint: String
            if type == .secret {
                hint =
                    "certificates come from the certificate directory (--certs); a listener refers to one by name through SDS"
            } else if let guess = Suggest.closest(to: url, in: urls) {
                hint = "did you mean \"\(guess)\"?"
            } else {
                hint = "one of: \(urls.joined(separator: ", "))"
            }
            throw .rawResource(
                at: typePosition, key: key + ".@type",
                message: "\"\(url)\" is not a type a raw resource file can hold", hint: hint)
        }
        let body = ProtoInput(.object(members.filter { $0.key != "@type" }), line: input.line, column: input.column)
        let message: ProtoMessage
        do {
            message = try ProtoJSON.parse(body, as: type.protoName)
        } catch {
            throw .rawResource(
                at: SourcePosition(file: file, line: error.line, column: error.column),
                key: error.path.isEmpty ? key : "\(key).\(error.path)", message: error.message,
                hint: error.unknownName.flatMap { Suggest.closest(to: $0, in: error.candidates) }
                    .map { "did you mean \"\($0)\"?" })
        }
        guard let name = message[type.nameField]?.stringValue, !name.isEmpty else {
            throw .rawResource(
                at: position, key: key, message: "the \(RawResource.kind(type)) has no \"\(type.nameField)\"",
                hint: "every resource needs a name, which is how proxies ask for it")
        }
        if type == .cluster, name == ConfigSourceMode.controlPlaneCluster {
            throw .rawResource(
                at: position, key: key,
                message: "cluster name \"\(name)\" is taken: the bootstrap's cluster for Chancery itself has it",
                hint: "choose another name")
        }
        if let secret = secretField(in: message) {
            throw .rawResource(
                at: position, key: key,
                message: "\(RawResource.kind(type)) \"\(name)\" sets \(secret), which holds a secret",
                hint:
                    "keep secrets out of configuration files: put certificates in the certificate directory and refer to them through SDS by name"
            )
        }
        return RawResource(type: type, name: name, message: message, groups: nil, position: position)
    }

    /// The first field that holds a secret (a private key, password hashes), as `Type.field`, anywhere inside.
    static func secretField(in message: ProtoMessage) -> String? {
        if message.typeName == "google.protobuf.Any", let url = message["type_url"]?.stringValue,
            let bytes = message["value"]?.bytesValue
        {
            // An Any holding an Any is packed to bytes already: open it to look inside.
            guard let inner = try? ProtoCodec.decode(String(url.split(separator: "/").last ?? ""), from: bytes) else {
                return nil
            }
            return secretField(in: inner)
        }
        for (field, value) in message.fields {
            let path = "\(message.typeName).\(field)"
            if Redaction.fields.contains(path) { return path }
            if let found = secretField(in: value) { return found }
        }
        return nil
    }

    private static func secretField(in value: ProtoValue) -> String? {
        switch value {
        case .message(let m), .any(let m): return secretField(in: m)
        case .list(let items): return items.lazy.compactMap { secretField(in: $0) }.first
        case .map(let entries): return entries.values.lazy.compactMap { secretField(in: $0) }.first
        default: return nil
        }
    }
}

extension RawResourceFile {
    /// What the routes file decides about raw resources: each named group exists, and no two raw resources of one
    /// type and name reach the same group.
    public static func check(_ resources: [RawResource], groups: [String]) -> [ConfigError] {
        var errors: [ConfigError] = []
        var first: [String: RawResource] = [:]
        for resource in resources {
            for group in resource.groups ?? [] where !groups.contains(group) {
                let hint = Suggest.closest(to: group, in: groups).map { "did you mean \"\($0)\"?" }
                errors.append(
                    .rawResource(
                        at: resource.groupsPosition ?? resource.position, key: "groups",
                        message: "node group \"\(group)\" is not declared in the routes file's \"groups\"",
                        hint: hint ?? "declared: \(groups.joined(separator: ", "))"))
            }
            for group in resource.groups ?? groups {
                let key = "\(group)/\(resource.type.rawValue)/\(resource.name)"
                if let earlier = first[key] {
                    if earlier.position.file != resource.position.file {
                        errors.append(
                            .rawResource(
                                at: resource.position, key: "resources",
                                message:
                                    "\(resource.label) is also defined in \(earlier.position) for group \"\(group)\"",
                                hint: "names must be unique per type within a group"))
                    }
                    break
                }
                first[key] = resource
            }
        }
        var seen = Set<String>()
        return errors.filter { seen.insert($0.description).inserted }
    }
}
