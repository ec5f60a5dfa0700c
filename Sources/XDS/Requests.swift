import Protobuf

/// What Chancery reads of a proxy's `core.v3.Node`.
public struct NodeInfo: Hashable, Sendable {
    public var id: String
    public var cluster: String
    public var userAgent: String
    public var userAgentVersion: String
    public var clientFeatures: [String]
    /// Top-level string values of `metadata`, for selecting a node group by metadata key.
    public var metadata: [String: String]

    public init(
        id: String, cluster: String = "", userAgent: String = "", userAgentVersion: String = "",
        clientFeatures: [String] = [], metadata: [String: String] = [:]
    ) {
        self.id = id
        self.cluster = cluster
        self.userAgent = userAgent
        self.userAgentVersion = userAgentVersion
        self.clientFeatures = clientFeatures
        self.metadata = metadata
    }

    /// Decodes the node's bytes (all its parts in a request, merged) through the codec: it is read once per stream.
    init(decoding bytes: [UInt8]) throws {
        self.init(try ProtoCodec.decode("envoy.config.core.v3.Node", from: bytes))
    }

    init(_ message: ProtoMessage) {
        id = message["id"]?.stringValue ?? ""
        cluster = message["cluster"]?.stringValue ?? ""
        userAgent = message["user_agent_name"]?.stringValue ?? ""
        if let version = message["user_agent_version"]?.stringValue {
            userAgentVersion = version
        } else if let build = message["user_agent_build_version"]?.messageValue?["version"]?.messageValue {
            let part = { (key: String) in build[key]?.intValue ?? 0 }
            userAgentVersion = "\(part("major_number")).\(part("minor_number")).\(part("patch"))"
        } else {
            userAgentVersion = ""
        }
        clientFeatures = message["client_features"]?.listValue?.compactMap(\.stringValue) ?? []
        var metadata: [String: String] = [:]
        if case .map(let fields)? = message["metadata"]?.messageValue?["fields"] {
            for (key, value) in fields {
                if let text = value.messageValue?["string_value"]?.stringValue { metadata[key] = text }
            }
        }
        self.metadata = metadata
    }
}

/// A NACK's reason, from `error_detail` (a `google.rpc.Status`).
public struct ErrorDetail: Hashable, Sendable {
    public var code: Int
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// Decodes a `google.rpc.Status` through the codec, with its checks (nesting depth of `details` included): a
    /// NACK is rare, and its detail is the one part of an ACK-path request worth validating whole.
    init(decoding bytes: [UInt8]) throws {
        let status = try ProtoCodec.decode("google.rpc.Status", from: bytes)
        code = Int(status["code"]?.intValue ?? 0)
        message = status["message"]?.stringValue ?? ""
    }
}

/// A state-of-the-world `DiscoveryRequest`, as plain values.
public struct DiscoveryRequest: Hashable, Sendable {
    public var versionInfo: String
    public var node: NodeInfo?
    public var resourceNames: [String]
    public var typeURL: String
    public var responseNonce: String
    /// Present exactly when the request is a NACK.
    public var errorDetail: ErrorDetail?
    /// A digest of `resource_names` as sent (each name's bytes and length, in order), keyed per process, so a
    /// client cannot aim at a collision. Zero for a request built in code.
    public var namesDigest = 0
    /// The names repeat the stream's last request of this type exactly, so they were not decoded again and
    /// `resourceNames` is empty (`init(decoding:node:repeats:)`).
    public var namesRepeated = false

    public init(
        versionInfo: String = "", node: NodeInfo? = nil, resourceNames: [String] = [], typeURL: String = "",
        responseNonce: String = "", errorDetail: ErrorDetail? = nil
    ) {
        self.versionInfo = versionInfo
        self.node = node
        self.resourceNames = resourceNames
        self.typeURL = typeURL
        self.responseNonce = responseNonce
        self.errorDetail = errorDetail
    }

    /// Decodes a request; `node: false` skips the node's bytes (every ACK repeats it, and only the first is used).
    ///
    /// Fields are read straight off the wire (`ProtoWireReader`), which is what makes an ACK cheap; the node, when
    /// wanted, goes through the codec. Field numbers: version_info 1, node 2, resource_names 3, type_url 4,
    /// response_nonce 5, error_detail 6.
    ///
    /// `repeats(typeURL, digest)` tells whether the stream's last request of that type had names with this digest.
    /// Envoy repeats every name it wants in every ACK (1,000 endpoint names for 1,000 clusters); when they repeat,
    /// they are neither decoded nor validated again (the first time they were), and `namesRepeated` is set.
    public init(
        decoding bytes: [UInt8], node decodeNode: Bool = true,
        repeats: (_ typeURL: String, _ digest: Int) -> Bool = { _, _ in false }
    ) throws {
        self.init()
        // A message field sent more than once is one message, merged (protobuf's rule): its parts are concatenated.
        var nodeBytes: [UInt8]?
        var detailBytes: [UInt8]?
        // A singular field sent more than once keeps its last value; only that one is read as text.
        var versionRange: Range<Int>?, typeRange: Range<Int>?, nonceRange: Range<Int>?
        var nameRanges: [Range<Int>] = []
        var reader = ProtoWireReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: versionRange = try text(value, field)
            case 2: if decodeNode { nodeBytes = (nodeBytes ?? []) + bytes[try text(value, field)] }
            case 3: nameRanges.append(try text(value, field))
            case 4: typeRange = try text(value, field)
            case 5: nonceRange = try text(value, field)
            case 6: detailBytes = (detailBytes ?? []) + bytes[try text(value, field)]
            default: break
            }
        }
        versionInfo = try versionRange.map(reader.string) ?? ""
        typeURL = try typeRange.map(reader.string) ?? ""
        responseNonce = try nonceRange.map(reader.string) ?? ""
        var hasher = Hasher()
        hasher.combine(nameRanges.count)
        for range in nameRanges {
            hasher.combine(range.count)
            bytes[range].withUnsafeBytes { hasher.combine(bytes: $0) }
        }
        namesDigest = hasher.finalize()
        if repeats(typeURL, namesDigest) {
            namesRepeated = true
        } else {
            resourceNames = try nameRanges.map(reader.string)
        }
        node = try nodeBytes.map(NodeInfo.init(decoding:))
        errorDetail = try detailBytes.map(ErrorDetail.init(decoding:))
    }
}

/// A `DeltaDiscoveryRequest`, as plain values.
public struct DeltaDiscoveryRequest: Hashable, Sendable {
    public var node: NodeInfo?
    public var typeURL: String
    public var subscribe: [String]
    public var unsubscribe: [String]
    public var initialResourceVersions: [String: String]
    public var responseNonce: String
    public var errorDetail: ErrorDetail?

    public init(
        node: NodeInfo? = nil, typeURL: String = "", subscribe: [String] = [], unsubscribe: [String] = [],
        initialResourceVersions: [String: String] = [:], responseNonce: String = "",
        errorDetail: ErrorDetail? = nil
    ) {
        self.node = node
        self.typeURL = typeURL
        self.subscribe = subscribe
        self.unsubscribe = unsubscribe
        self.initialResourceVersions = initialResourceVersions
        self.responseNonce = responseNonce
        self.errorDetail = errorDetail
    }

    /// Decodes a request, reading fields straight off the wire like `DiscoveryRequest`. Field numbers: node 1,
    /// type_url 2, resource_names_subscribe 3, resource_names_unsubscribe 4, initial_resource_versions 5 (map
    /// entries: key 1, value 2), response_nonce 6, error_detail 7.
    public init(decoding bytes: [UInt8], node decodeNode: Bool = true) throws {
        self.init()
        var nodeBytes: [UInt8]?
        var detailBytes: [UInt8]?
        var typeRange: Range<Int>?, nonceRange: Range<Int>?
        var reader = ProtoWireReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: if decodeNode { nodeBytes = (nodeBytes ?? []) + bytes[try text(value, field)] }
            case 2: typeRange = try text(value, field)
            case 3: subscribe.append(try reader.string(try text(value, field)))
            case 4: unsubscribe.append(try reader.string(try text(value, field)))
            case 5:
                var entry = ProtoWireReader(bytes, range: try text(value, field))
                var key = "", version = ""
                while let (field, value) = try entry.next() {
                    if field == 1 { key = try entry.string(try text(value, field)) }
                    if field == 2 { version = try entry.string(try text(value, field)) }
                }
                initialResourceVersions[key] = version
            case 6: nonceRange = try text(value, field)
            case 7: detailBytes = (detailBytes ?? []) + bytes[try text(value, field)]
            default: break
            }
        }
        typeURL = try typeRange.map(reader.string) ?? ""
        responseNonce = try nonceRange.map(reader.string) ?? ""
        node = try nodeBytes.map(NodeInfo.init(decoding:))
        errorDetail = try detailBytes.map(ErrorDetail.init(decoding:))
    }
}

/// The payload range of a field that must be length-delimited (a string or an embedded message).
private func text(_ value: ProtoWireReader.Value, _ field: Int) throws -> Range<Int> {
    guard let range = value.range else { throw wireMismatch(field) }
    return range
}

private func wireMismatch(_ field: Int) -> RequestDecodingError {
    RequestDecodingError(reason: "field \(field) has the wrong wire type")
}

/// A request whose bytes do not fit its message type.
struct RequestDecodingError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}
