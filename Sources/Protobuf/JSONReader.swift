extension ProtoJSON {
    /// Reads the proto3 JSON form of a message of type `typeName` (a full proto name), the form Envoy's own YAML and
    /// JSON files use: field names in lowerCamelCase or as in the `.proto`, enums by name or number, 64-bit integers
    /// as numbers or text, bytes in base64, `Duration` as `"1.5s"`, wrappers bare, `Struct`/`Value` as plain JSON, and
    /// `Any` as an object with `"@type"`. Anything else, including a field or type this build's `proto/` lacks, is an
    /// error at the line and column of the value.
    public static func parse(_ input: ProtoInput, as typeName: String) throws(ProtoInputError) -> ProtoMessage {
        let reader = JSONReader()
        guard let schema = reader.registry.messages[typeName] else {
            throw ProtoInputError(
                line: input.line, column: input.column, path: "",
                message: "type \(typeName) is not known to this build")
        }
        return try reader.message(input, schema, path: "", depth: 0)
    }

    /// Whether this build can encode messages of `typeName`.
    public static func knows(_ typeName: String) -> Bool { Registry.shared.messages[typeName] != nil }

    /// Every message type this build knows, for suggestions.
    public static var knownTypes: [String] { Registry.shared.messages.keys.sorted() }
}

/// Proto3 JSON → `ProtoMessage`, driven by the protobuf-c descriptors like the encoder. Each step knows where it is
/// in the input, so every error names a line, a column and a path.
struct JSONReader {
    let registry = Registry.shared
    /// Deeper input is refused rather than recursed into: a hostile file cannot exhaust the stack.
    static let maximumDepth = 64

    func fail(_ input: ProtoInput, _ path: String, _ message: String) -> ProtoInputError {
        ProtoInputError(line: input.line, column: input.column, path: path, message: message)
    }

    /// A value for a message-typed field: `.any` for `google.protobuf.Any`, `.message` otherwise.
    func messageValue(_ input: ProtoInput, type: String, path: String, depth: Int) throws(ProtoInputError)
        -> ProtoValue
    {
        guard depth < Self.maximumDepth else { throw fail(input, path, "nested more than \(Self.maximumDepth) deep") }
        guard let schema = registry.messages[type] else {
            throw fail(input, path, "type \(type) is not known to this build")
        }
        if type == "google.protobuf.Any" { return try any(input, path: path, depth: depth) }
        return .message(try message(input, schema, path: path, depth: depth))
    }

    func message(_ input: ProtoInput, _ schema: MessageSchema, path: String, depth: Int) throws(ProtoInputError)
        -> ProtoMessage
    {
        if let special = try WellKnown.read(input, schema, path: path, reader: self, depth: depth) {
            return special
        }
        guard case .object(let members) = input.value else {
            throw fail(input, path, "\(label(path)) must be a mapping (\(schema.name)), found \(input.shape(at: path))")
        }
        return try fields(members, schema, path: path, depth: depth, skipping: [])
    }

    /// The members of an object as the fields of `schema`; `skipping` holds keys handled by the caller (`@type`).
    func fields(
        _ members: [ProtoInput.Member], _ schema: MessageSchema, path: String, depth: Int, skipping: Set<String>
    ) throws(ProtoInputError) -> ProtoMessage {
        var out = ProtoMessage(schema.name)
        var seen: [Int: String] = [:]
        var oneofs: [Int: String] = [:]
        for member in members where !skipping.contains(member.key) {
            let place = ProtoInput(.null, line: member.line, column: member.column)
            let memberPath = path.isEmpty ? member.key : "\(path).\(member.key)"
            guard let field = schema.fields.first(where: { $0.jsonName == member.key || $0.name == member.key })
            else {
                var error = fail(place, memberPath, "\(schema.name) has no field \"\(member.key)\" in this build")
                error.unknownName = member.key
                // Suggest in the style the file uses: `lb_policy` or `lbPolicy`.
                error.candidates = schema.fields.map { member.key.contains("_") ? $0.name : $0.jsonName }
                throw error
            }
            if let earlier = seen[field.number] {
                throw fail(place, memberPath, "\"\(member.key)\" sets field \"\(earlier)\" a second time")
            }
            seen[field.number] = member.key
            if case .null = member.value.value, field.messageType != "google.protobuf.Value" || field.repeated {
                continue  // proto3 JSON: null means the field is not set
            }
            if field.inOneof {
                if let other = oneofs[field.quantifierOffset] {
                    throw fail(
                        place, memberPath,
                        "\"\(member.key)\" and \"\(other)\" are alternatives (one oneof); set only one")
                }
                oneofs[field.quantifierOffset] = member.key
            }
            out.fields[field.name] = try value(member.value, field, path: memberPath, depth: depth + 1)
        }
        return out
    }

    private func value(_ input: ProtoInput, _ field: FieldSchema, path: String, depth: Int) throws(ProtoInputError)
        -> ProtoValue
    {
        guard field.repeated else { return try single(input, field, path: path, depth: depth) }
        if field.isMap {
            guard case .object(let members) = input.value else {
                throw fail(input, path, "\(label(path)) must be a mapping, found \(input.shape(at: path))")
            }
            guard let entry = field.messageType.flatMap({ registry.messages[$0] }),
                let keyField = entry.field("key"), let valueField = entry.field("value"), keyField.kind == .string
            else {
                throw fail(input, path, "\(label(path)) is a map with non-text keys, which this build cannot read")
            }
            var out: [String: ProtoValue] = [:]
            for member in members {
                out[member.key] = try single(member.value, valueField, path: "\(path).\(member.key)", depth: depth)
            }
            return .map(out)
        }
        guard case .list(let items) = input.value else {
            throw fail(input, path, "\(label(path)) must be a list, found \(input.shape(at: path))")
        }
        var out: [ProtoValue] = []
        out.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            if case .null = item.value { throw fail(item, itemPath, "a list item cannot be null") }
            out.append(try single(item, field, path: itemPath, depth: depth))
        }
        return .list(out)
    }

    /// One value of `field`'s type (an element, for a repeated field).
    func single(_ input: ProtoInput, _ field: FieldSchema, path: String, depth: Int) throws(ProtoInputError)
        -> ProtoValue
    {
        switch field.kind {
        case .message:
            return try messageValue(input, type: field.messageType ?? "", path: path, depth: depth)
        case .enumeration:
            return try enumeration(input, field.enumType ?? "", path: path)
        default:
            return try Scalars.read(input, field.kind, path: path, reader: self)
        }
    }

    private func enumeration(_ input: ProtoInput, _ type: String, path: String) throws(ProtoInputError) -> ProtoValue {
        let schema = registry.enums[type]
        switch input.value {
        case .string(let name):
            // proto3 JSON readers also take an enum's number written as text.
            if schema?.numberByName[name] == nil, let number = Int32(name) {
                return try enumNumber(number, schema, type, input, path)
            }
            guard let schema, schema.numberByName[name] != nil else {
                var error = fail(input, path, "\"\(name)\" is not a value of \(type)")
                error.unknownName = name
                error.candidates = schema.map { $0.numberByName.keys.sorted() } ?? []
                throw error
            }
            return .enumValue(name)
        case .number(let text):
            guard let number = Int32(text) ?? Double(text).flatMap({ $0 == $0.rounded() ? Int32(exactly: $0) : nil })
            else {
                throw fail(input, path, "\(label(path)) must be a name of \(type) or a 32-bit number, found \(text)")
            }
            return try enumNumber(number, schema, type, input, path)
        default:
            throw fail(input, path, "\(label(path)) must be a name of \(type), found \(input.shape(at: path))")
        }
    }

    /// An enum given by number becomes its name, so later checks (a cluster's `type: 3` is EDS) see one spelling; a
    /// number the enum does not define is refused, as Envoy's own checks refuse it.
    private func enumNumber(
        _ number: Int32, _ schema: EnumSchema?, _ type: String, _ input: ProtoInput, _ path: String
    ) throws(ProtoInputError) -> ProtoValue {
        guard let name = schema?.nameByNumber[number] else {
            throw fail(input, path, "\(number) is not a value of \(type)")
        }
        return .enumValue(name)
    }

    /// `google.protobuf.Any`: `"@type"` names the packed type; a type with its own JSON form goes under `"value"`.
    private func any(_ input: ProtoInput, path: String, depth: Int) throws(ProtoInputError) -> ProtoValue {
        guard depth < Self.maximumDepth else { throw fail(input, path, "nested more than \(Self.maximumDepth) deep") }
        guard case .object(let members) = input.value else {
            throw fail(input, path, "\(label(path)) must be a mapping with \"@type\", found \(input.shape(at: path))")
        }
        guard let typeMember = members.first(where: { $0.key == "@type" }) else {
            throw fail(input, path, "\(label(path)) needs \"@type\" (e.g. type.googleapis.com/envoy...)")
        }
        guard case .string(let url) = typeMember.value.value else {
            throw fail(
                typeMember.value, path + ".@type", "\"@type\" must be text, found \(typeMember.value.shape(at: path))")
        }
        let typeName = url.split(separator: "/").last.map(String.init) ?? url
        guard url.contains("/"), let schema = registry.messages[typeName] else {
            var error = fail(
                typeMember.value, path + ".@type",
                url.contains("/")
                    ? "type \(typeName) is not known to this build"
                    : "\"@type\" must be a type URL such as type.googleapis.com/\(typeName)")
            error.unknownName = typeName
            error.candidates = registry.messages.keys.sorted()
            throw error
        }
        if WellKnown.hasOwnForm(typeName) {
            guard let inner = members.first(where: { $0.key == "value" }) else {
                throw fail(input, path, "an Any of \(typeName) holds its value under \"value\"")
            }
            if let extra = members.first(where: { $0.key != "@type" && $0.key != "value" }) {
                throw fail(
                    extra.value, "\(path).\(extra.key)", "an Any of \(typeName) has only \"@type\" and \"value\"")
            }
            if typeName == "google.protobuf.Any" {
                // An Any holding an Any: the inner one is packed like any other message.
                guard case .any(let packed) = try any(inner.value, path: path + ".value", depth: depth + 1) else {
                    throw fail(inner.value, path + ".value", "an Any of google.protobuf.Any holds an Any")
                }
                do {
                    return .any(
                        ProtoMessage(
                            typeName,
                            [
                                "type_url": .string(typeURLPrefix + packed.typeName),
                                "value": .bytes(try Encoder.encode(packed)),
                            ]))
                } catch {
                    throw fail(inner.value, path + ".value", "the inner Any cannot be encoded: \(error)")
                }
            }
            return .any(try message(inner.value, schema, path: path + ".value", depth: depth + 1))
        }
        return .any(try fields(members, schema, path: path, depth: depth + 1, skipping: ["@type"]))
    }

    func label(_ path: String) -> String {
        path.isEmpty ? "the resource" : "\"\(path.split(separator: ".").last.map(String.init) ?? path)\""
    }
}
