import GRPCServer
import NIOCore
import Snapshot
import Vocabulary

/// What a protocol state machine tells its stream: what to send, what the proxy said, and when to stop.
///
/// ACKs and NACKs are reported as they are recognised, so the handler never works out what happened by comparing
/// state before and after a request.
public enum XDSAction<Response: Hashable & Sendable>: Hashable, Sendable {
    case send(Response)
    /// The proxy accepted `version` of `type` (an ACK of the latest response, rules 5 and 22).
    case acked(ResourceType, version: String)
    /// The proxy rejected `version` of `type` (a NACK, rules 6 and 22), with Envoy's message.
    case nacked(ResourceType, version: String, message: String)
    /// End the stream with this status.
    case fail(GRPCStatus)
}

/// Which type a request is about: the per-type service's own type, or the `type_url` on ADS.
enum RequestType: Equatable {
    case type(ResourceType)
    /// A type Chancery does not serve: no answer, as for a resource that does not exist (rule 20).
    case unserved
    case invalid(String)

    init(typeURL: String, fixed: ResourceType?) {
        if let fixed {
            if !typeURL.isEmpty && typeURL != fixed.typeURL {
                self = .invalid("type_url \(typeURL.prefix(200)) on the \(fixed.rawValue) service")
            } else {
                self = .type(fixed)
            }
        } else if typeURL.isEmpty {
            self = .invalid("type_url is required on the aggregated stream")  // rule 2
        } else if let known = ResourceType(typeURL: typeURL) {
            self = .type(known)
        } else {
            self = .unserved
        }
    }
}

/// How many subscribed names the registry keeps per type: a proxy may subscribe to millions, and this summary is
/// rebuilt on every request, on an event loop other connections share.
let listedNames = 100

/// A few names, in order, for display.
func listed(_ names: Set<String>) -> [String] {
    names.count <= listedNames ? names.sorted() : Array(names.prefix(listedNames)).sorted()
}

/// The common shape of the state-of-the-world and delta state machines, so one handler drives either.
protocol StreamMachine: Sendable {
    associatedtype Request: Sendable
    associatedtype Response: Hashable & Sendable

    init(fixedType: ResourceType?)
    /// The per-type service's type; nil on ADS.
    var fixedType: ResourceType? { get }
    var snapshot: GroupSnapshot? { get }
    associatedtype TypeState: AdminVisibleTypeState
    var types: [ResourceType: TypeState] { get }
    mutating func attach(_ snapshot: GroupSnapshot)
    mutating func receive(_ request: Request) -> [XDSAction<Response>]
    mutating func update(_ snapshot: GroupSnapshot) -> [XDSAction<Response>]
    /// Estimated bytes of request state kept (see `StreamLimits.swift`), charged to the server-wide budget.
    var retainedBytes: Int { get }
    var largestSubscription: (type: ResourceType, count: Int)? { get }
    static func nameCount(of request: Request) -> Int

    static var requestName: String { get }
    /// `node: false` skips the node's bytes: only a stream's first request needs it. The machine's state lets a
    /// request that repeats what the stream already asked for skip work (SotW: names sent again in every ACK).
    func decode(_ bytes: [UInt8], node: Bool) throws -> Request
    static func node(of request: Request) -> NodeInfo?
    /// The type URL a request is about and the names it asks for (SotW: all of them; delta: new subscriptions).
    static func namesAsked(in request: Request) -> (typeURL: String, names: [String])
    static func type(of response: Response) -> ResourceType
    /// The response as a per-stream head (its nonce) and a body shared through `cache` with every stream that sends
    /// the same content.
    static func encode(_ response: Response, controlPlane: [UInt8], cache: ResponseCache) -> (
        head: [UInt8], body: ByteBuffer
    )
}

extension SotWStream: StreamMachine {
    static var requestName: String { "DiscoveryRequest" }
    func decode(_ bytes: [UInt8], node: Bool) throws -> DiscoveryRequest {
        try DiscoveryRequest(decoding: bytes, node: node) { typeURL, digest in
            // Secret names are decoded every time: the handler notes names the group does not hold.
            guard case .type(let type) = RequestType(typeURL: typeURL, fixed: fixedType), type != .secret else {
                return false
            }
            return types[type]?.namesDigest == digest
        }
    }
    static func node(of request: DiscoveryRequest) -> NodeInfo? { request.node }
    static func namesAsked(in request: DiscoveryRequest) -> (typeURL: String, names: [String]) {
        (request.typeURL, request.resourceNames)
    }
    static func type(of response: Response) -> ResourceType { response.type }
    static func encode(_ response: Response, controlPlane: [UInt8], cache: ResponseCache) -> (
        head: [UInt8], body: ByteBuffer
    ) {
        let key = ResponseCache.Key.sotw(response.type, version: response.version, part: response.part)
        let body = cache.body(key) { ResponseEncoder.sotwBody(response, controlPlane: controlPlane) }
        return (ResponseEncoder.head(nonce: response.nonce, field: 5), body)
    }
}

extension DeltaStream: StreamMachine {
    static var requestName: String { "DeltaDiscoveryRequest" }
    func decode(_ bytes: [UInt8], node: Bool) throws -> DeltaDiscoveryRequest {
        try DeltaDiscoveryRequest(decoding: bytes, node: node)
    }
    static func node(of request: DeltaDiscoveryRequest) -> NodeInfo? { request.node }
    static func namesAsked(in request: DeltaDiscoveryRequest) -> (typeURL: String, names: [String]) {
        (request.typeURL, request.subscribe)
    }
    static func type(of response: Response) -> ResourceType { response.type }
    static func encode(_ response: Response, controlPlane: [UInt8], cache: ResponseCache) -> (
        head: [UInt8], body: ByteBuffer
    ) {
        let key: ResponseCache.Key =
            if let shareKey = response.shareKey {
                .deltaShared(response.type, systemVersion: response.systemVersion, changes: shareKey)
            } else {
                .delta(
                    .init(
                        type: response.type, systemVersion: response.systemVersion, resources: response.resources,
                        removed: response.removed))
            }
        let body = cache.body(key) { ResponseEncoder.deltaBody(response, controlPlane: controlPlane) }
        return (ResponseEncoder.head(nonce: response.nonce, field: 5), body)
    }
}

/// The per-type fields both state machines keep: what the admin endpoint shows of a type, read straight from the
/// machine (`StreamInfo.TypeInfo.init(_:)`).
protocol AdminVisibleTypeState {
    var names: Set<String> { get }
    var wildcard: Bool { get }
    var lastVersion: String? { get }
    var lastNonce: String? { get }
    var acked: String? { get }
    /// The version the proxy currently rejects, cleared by its next ACK.
    var nacked: String? { get }
}

extension SotWStream.TypeState: AdminVisibleTypeState {}
extension DeltaStream.TypeState: AdminVisibleTypeState {}
