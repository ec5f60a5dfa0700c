import Foundation
import GRPCClient
import GRPCServer
import Protobuf
import Synchronization
import Testing
import Vocabulary

/// A proxy's `core.v3.Node`.
struct XDSNode: Sendable {
    var id: String
    var cluster: String
    var userAgent = "envoy"
    var clientFeatures: [String] = []
    /// String values of `node.metadata`.
    var metadata: [String: String] = [:]

    static let `default` = XDSNode(id: "envoy-1", cluster: "default")
    static func envoy(_ id: String, cluster: String = "default") -> XDSNode { XDSNode(id: id, cluster: cluster) }
    /// What gRPC-Go sends (docs/PROTOCOL.md §2).
    static func grpc(_ id: String) -> XDSNode {
        XDSNode(
            id: id, cluster: "default", userAgent: "gRPC Go",
            clientFeatures: ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"])
    }

    var message: ProtoMessage {
        var fields: [String: ProtoValue] = ["id": .string(id), "user_agent_name": .string(userAgent)]
        if !cluster.isEmpty { fields["cluster"] = .string(cluster) }
        if !clientFeatures.isEmpty { fields["client_features"] = .list(clientFeatures.map { .string($0) }) }
        if !metadata.isEmpty {
            fields["metadata"] = .message(
                ProtoMessage(
                    "google.protobuf.Struct",
                    [
                        "fields": .map(
                            metadata.mapValues {
                                .message(ProtoMessage("google.protobuf.Value", ["string_value": .string($0)]))
                            })
                    ]))
        }
        return ProtoMessage("envoy.config.core.v3.Node", fields)
    }
}

/// An encoded request, with what the client subscribed to (SotW requests replace the subscription, so ACKs repeat it).
struct XDSRequest: Sendable {
    var bytes: [UInt8]
    var typeURL: String
    var names: [String]

    static func sotw(
        _ type: ResourceType, _ names: [String] = [], version: String = "", nonce: String = "",
        node: XDSNode? = nil, nack: String? = nil, nackCode: Int64 = 13
    ) -> XDSRequest {
        sotw(typeURL: type.typeURL, names, version: version, nonce: nonce, node: node, nack: nack, nackCode: nackCode)
    }

    static func sotw(
        typeURL: String, _ names: [String] = [], version: String = "", nonce: String = "",
        node: XDSNode? = nil, nack: String? = nil, nackCode: Int64 = 13
    ) -> XDSRequest {
        var fields: [String: ProtoValue] = [:]
        if !version.isEmpty { fields["version_info"] = .string(version) }
        if let node { fields["node"] = .message(node.message) }
        if !names.isEmpty { fields["resource_names"] = .list(names.map { .string($0) }) }
        if !typeURL.isEmpty { fields["type_url"] = .string(typeURL) }
        if !nonce.isEmpty { fields["response_nonce"] = .string(nonce) }
        if let nack { fields["error_detail"] = .message(status(code: nackCode, message: nack)) }
        let bytes = try! ProtoCodec.encode(ProtoMessage("envoy.service.discovery.v3.DiscoveryRequest", fields))
        return XDSRequest(bytes: bytes, typeURL: typeURL, names: names)
    }

    static func delta(
        _ type: ResourceType, subscribe: [String] = [], unsubscribe: [String] = [],
        initial: [String: String] = [:], nonce: String = "", node: XDSNode? = nil,
        nack: String? = nil
    ) -> XDSRequest {
        delta(
            typeURL: type.typeURL, subscribe: subscribe, unsubscribe: unsubscribe, initial: initial, nonce: nonce,
            node: node, nack: nack)
    }

    static func delta(
        typeURL: String, subscribe: [String] = [], unsubscribe: [String] = [],
        initial: [String: String] = [:], nonce: String = "", node: XDSNode? = nil,
        nack: String? = nil
    ) -> XDSRequest {
        var fields: [String: ProtoValue] = [:]
        if let node { fields["node"] = .message(node.message) }
        if !typeURL.isEmpty { fields["type_url"] = .string(typeURL) }
        if !subscribe.isEmpty { fields["resource_names_subscribe"] = .list(subscribe.map { .string($0) }) }
        if !unsubscribe.isEmpty { fields["resource_names_unsubscribe"] = .list(unsubscribe.map { .string($0) }) }
        if !initial.isEmpty { fields["initial_resource_versions"] = .map(initial.mapValues { .string($0) }) }
        if !nonce.isEmpty { fields["response_nonce"] = .string(nonce) }
        if let nack { fields["error_detail"] = .message(status(code: 13, message: nack)) }
        let bytes = try! ProtoCodec.encode(ProtoMessage("envoy.service.discovery.v3.DeltaDiscoveryRequest", fields))
        return XDSRequest(bytes: bytes, typeURL: typeURL, names: subscribe)
    }

    static func status(code: Int64, message: String) -> ProtoMessage {
        var fields: [String: ProtoValue] = [:]
        if code != 0 { fields["code"] = .int(code) }
        if !message.isEmpty { fields["message"] = .string(message) }
        return ProtoMessage("google.rpc.Status", fields)
    }
}

/// A decoded `DiscoveryResponse`.
struct SotWReply: Sendable, CustomStringConvertible {
    var version: String
    var nonce: String
    var typeURL: String
    /// Each resource's name (`name`, or `cluster_name` for endpoints), in order.
    var names: [String]
    /// Each resource's `Any.type_url`.
    var anyTypeURLs: [String]
    var controlPlane: String

    var type: ResourceType? { ResourceType(typeURL: typeURL) }
    var description: String { "\(type?.rawValue ?? typeURL) v=\(version) n=\(nonce) \(names)" }

    init(decoding bytes: [UInt8]) throws {
        let message = try ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryResponse", from: bytes)
        version = message["version_info"]?.stringValue ?? ""
        nonce = message["nonce"]?.stringValue ?? ""
        typeURL = message["type_url"]?.stringValue ?? ""
        controlPlane = message["control_plane"]?.messageValue?["identifier"]?.stringValue ?? ""
        let resources = message["resources"]?.listValue ?? []
        names = resources.map { resourceName($0) }
        anyTypeURLs = resources.map { anyTypeURL($0) }
    }
}

/// A decoded `DeltaDiscoveryResponse`.
struct DeltaReply: Sendable, CustomStringConvertible {
    var systemVersion: String
    var nonce: String
    var typeURL: String
    var names: [String]
    /// name → `Resource.version`.
    var versions: [String: String]
    var removed: [String]
    var anyTypeURLs: [String]

    var type: ResourceType? { ResourceType(typeURL: typeURL) }
    var description: String { "\(type?.rawValue ?? typeURL) n=\(nonce) +\(names) -\(removed)" }

    init(decoding bytes: [UInt8]) throws {
        let message = try ProtoCodec.decode("envoy.service.discovery.v3.DeltaDiscoveryResponse", from: bytes)
        systemVersion = message["system_version_info"]?.stringValue ?? ""
        nonce = message["nonce"]?.stringValue ?? ""
        typeURL = message["type_url"]?.stringValue ?? ""
        removed = message["removed_resources"]?.listValue?.compactMap(\.stringValue) ?? []
        var names: [String] = []
        var versions: [String: String] = [:]
        var anyTypeURLs: [String] = []
        for item in message["resources"]?.listValue ?? [] {
            let wrapper = item.messageValue
            let name = wrapper?["name"]?.stringValue ?? ""
            names.append(name)
            versions[name] = wrapper?["version"]?.stringValue ?? ""
            anyTypeURLs.append(wrapper?["resource"].map { anyTypeURL($0) } ?? "")
        }
        self.names = names
        self.versions = versions
        self.anyTypeURLs = anyTypeURLs
    }
}

private func resourceName(_ value: ProtoValue) -> String {
    guard let inner = value.anyValue else { return "?" }
    return inner["name"]?.stringValue ?? inner["cluster_name"]?.stringValue ?? ""
}

private func anyTypeURL(_ value: ProtoValue) -> String {
    if let inner = value.anyValue { return ProtoCodec.typeURL(for: inner.typeName) }
    return value.messageValue?["type_url"]?.stringValue ?? ""
}

/// How a stream ended, as the client saw it.
enum XDSEnd: Sendable, CustomStringConvertible {
    case status(GRPCStatus, [(String, String)])
    case reset(UInt32)
    /// Closed with no trailers and no reset (e.g. the connection went away).
    case ended

    var code: GRPCStatus.Code? {
        if case .status(let status, _) = self { return status.code }
        return nil
    }

    var message: String {
        if case .status(let status, _) = self { return status.message }
        return ""
    }

    func field(_ name: String) -> String? {
        if case .status(_, let fields) = self { return fields.first { $0.0 == name }?.1 }
        return nil
    }

    var description: String {
        switch self {
        case .status(let status, _): return "status \(status)"
        case .reset(let code): return "reset \(code)"
        case .ended: return "ended"
        }
    }
}

struct XDSTestError: Error, CustomStringConvertible {
    var description: String
}

/// One xDS stream seen from the client side.
final class XDSStream: Sendable {
    let raw: GRPCClientStream
    let client: GRPCClient
    private let subscribed = Mutex<[String: [String]]>([:])

    init(raw: GRPCClientStream, client: GRPCClient) {
        self.raw = raw
        self.client = client
    }

    static func open(
        on client: GRPCClient, path: String = XDSPath.ads, contentType: String = "application/grpc",
        extraHeaders: [(String, String)] = []
    ) async throws -> XDSStream {
        let raw = try await client.openStream(path: path, extraHeaders: extraHeaders, contentType: contentType)
        return XDSStream(raw: raw, client: client)
    }

    func send(_ request: XDSRequest) async throws {
        subscribed.withLock { $0[request.typeURL] = request.names }
        try await raw.send(request.bytes)
    }

    /// The next message or end of stream; response headers are skipped.
    func nextEvent(timeout: Duration = .seconds(20)) async throws -> GRPCClientEvent? {
        while true {
            let event = try await raw.next(timeout: timeout)
            if case .headers? = event { continue }
            return event
        }
    }

    func nextMessage(timeout: Duration = .seconds(20)) async throws -> [UInt8] {
        let event = try await nextEvent(timeout: timeout)
        guard case .message(let bytes)? = event else {
            throw XDSTestError(description: "expected a response, got \(String(describing: event))")
        }
        return bytes
    }

    func response(timeout: Duration = .seconds(20)) async throws -> SotWReply {
        try SotWReply(decoding: try await nextMessage(timeout: timeout))
    }

    func responses(_ count: Int, timeout: Duration = .seconds(20)) async throws -> [SotWReply] {
        var out: [SotWReply] = []
        for _ in 0..<count { out.append(try await response(timeout: timeout)) }
        return out
    }

    func deltaResponse(timeout: Duration = .seconds(20)) async throws -> DeltaReply {
        try DeltaReply(decoding: try await nextMessage(timeout: timeout))
    }

    /// ACKs `reply` repeating the names last requested for its type.
    func ack(_ reply: SotWReply) async throws {
        let names = subscribed.withLock { $0[reply.typeURL] } ?? []
        try await send(.sotw(typeURL: reply.typeURL, names, version: reply.version, nonce: reply.nonce))
    }

    func nack(_ reply: SotWReply, acceptedVersion: String = "", message: String = "rejected", code: Int64 = 13)
        async throws
    {
        let names = subscribed.withLock { $0[reply.typeURL] } ?? []
        try await send(
            .sotw(
                typeURL: reply.typeURL, names, version: acceptedVersion, nonce: reply.nonce,
                nack: message, nackCode: code))
    }

    func ack(_ reply: DeltaReply) async throws {
        try await raw.send(XDSRequest.delta(typeURL: reply.typeURL, nonce: reply.nonce).bytes)
    }

    /// Records an issue if a message or the end of the stream arrives within `window`; returns true when quiet.
    @discardableResult
    func expectNoResponse(
        within window: Duration = .milliseconds(300),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + window
        while true {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return true }
            let event: GRPCClientEvent?
            do {
                event = try await raw.next(timeout: remaining)
            } catch GRPCClientError.timeout {
                return true
            }
            switch event {
            case .headers?:
                continue
            case .message(let bytes)?:
                let text =
                    (try? SotWReply(decoding: bytes).description) ?? (try? DeltaReply(decoding: bytes).description)
                Issue.record("unexpected response: \(text ?? "\(bytes.count) bytes")", sourceLocation: sourceLocation)
            default:
                Issue.record(
                    "stream ended instead of staying quiet: \(String(describing: event))",
                    sourceLocation: sourceLocation)
            }
            return false
        }
    }

    /// Reads until the stream ends, skipping messages.
    func end(timeout: Duration = .seconds(20)) async throws -> XDSEnd {
        while true {
            switch try await raw.next(timeout: timeout) {
            case .headers?, .message?: continue
            case .trailers(let status, let fields)?: return .status(status, fields)
            case .reset(let code)?: return .reset(code)
            case nil: return .ended
            }
        }
    }

    func finish() async throws { try await raw.finishSending() }
}
