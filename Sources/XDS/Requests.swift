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

    init?(_ value: ProtoValue?) {
        guard let status = value?.messageValue else { return nil }
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

    public init(decoding bytes: [UInt8]) throws {
        let message = try ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: bytes)
        versionInfo = message["version_info"]?.stringValue ?? ""
        node = message["node"]?.messageValue.map(NodeInfo.init)
        resourceNames = message["resource_names"]?.listValue?.compactMap(\.stringValue) ?? []
        typeURL = message["type_url"]?.stringValue ?? ""
        responseNonce = message["response_nonce"]?.stringValue ?? ""
        errorDetail = ErrorDetail(message["error_detail"])
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

    public init(decoding bytes: [UInt8]) throws {
        let message = try ProtoCodec.decode("envoy.service.discovery.v3.DeltaDiscoveryRequest", from: bytes)
        node = message["node"]?.messageValue.map(NodeInfo.init)
        typeURL = message["type_url"]?.stringValue ?? ""
        subscribe = message["resource_names_subscribe"]?.listValue?.compactMap(\.stringValue) ?? []
        unsubscribe = message["resource_names_unsubscribe"]?.listValue?.compactMap(\.stringValue) ?? []
        var initial: [String: String] = [:]
        if case .map(let entries)? = message["initial_resource_versions"] {
            for (key, value) in entries { initial[key] = value.stringValue ?? "" }
        }
        initialResourceVersions = initial
        responseNonce = message["response_nonce"]?.stringValue ?? ""
        errorDetail = ErrorDetail(message["error_detail"])
    }
}
