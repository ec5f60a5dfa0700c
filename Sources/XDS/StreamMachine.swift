import Snapshot
import Translate

/// What a protocol state machine asks its stream to do.
public enum XDSAction<Response: Hashable & Sendable>: Hashable, Sendable {
    case send(Response)
    /// End the stream with this gRPC status code and message.
    case fail(code: Int, message: String)
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

/// One type's protocol state, as the admin endpoint shows it.
struct TypeSummary: Hashable {
    /// The first names in order (at most `listedNames`), and how many there are.
    var subscribed: [String]
    var subscribedCount: Int
    var wildcard: Bool
    var sentVersion: String?
    var sentNonce: String?
    var acked: String?
    var nacked: String?
    var nackMessage: String?
}

/// The common shape of the state-of-the-world and delta state machines, so one handler drives either.
protocol StreamMachine: Sendable {
    associatedtype Request: Sendable
    associatedtype Response: Hashable & Sendable

    init(fixedType: ResourceType?)
    var snapshot: GroupSnapshot? { get }
    var summary: [ResourceType: TypeSummary] { get }
    mutating func attach(_ snapshot: GroupSnapshot)
    mutating func receive(_ request: Request) -> [XDSAction<Response>]
    mutating func update(_ snapshot: GroupSnapshot) -> [XDSAction<Response>]
    /// Estimated bytes of request state kept (see `StreamLimits.swift`), charged to the server-wide budget.
    var retainedBytes: Int { get }
    var largestSubscription: (type: ResourceType, count: Int)? { get }
    static func nameCount(of request: Request) -> Int

    static var requestName: String { get }
    static func decode(_ bytes: [UInt8]) throws -> Request
    static func node(of request: Request) -> NodeInfo?
    static func encode(_ response: Response, controlPlane: [UInt8]) -> [UInt8]
}

extension SotWStream: StreamMachine {
    static var requestName: String { "DiscoveryRequest" }
    static func decode(_ bytes: [UInt8]) throws -> DiscoveryRequest { try DiscoveryRequest(decoding: bytes) }
    static func node(of request: DiscoveryRequest) -> NodeInfo? { request.node }
    static func encode(_ response: Response, controlPlane: [UInt8]) -> [UInt8] {
        ResponseEncoder.sotw(response, controlPlane: controlPlane)
    }
}

extension DeltaStream: StreamMachine {
    static var requestName: String { "DeltaDiscoveryRequest" }
    static func decode(_ bytes: [UInt8]) throws -> DeltaDiscoveryRequest { try DeltaDiscoveryRequest(decoding: bytes) }
    static func node(of request: DeltaDiscoveryRequest) -> NodeInfo? { request.node }
    static func encode(_ response: Response, controlPlane: [UInt8]) -> [UInt8] {
        ResponseEncoder.delta(response, controlPlane: controlPlane)
    }
}

/// The per-type fields both state machines keep, so one summary serves both.
protocol SummarizedTypeState {
    var names: Set<String> { get }
    var wildcard: Bool { get }
    var lastVersion: String? { get }
    var lastNonce: String? { get }
    var acked: String? { get }
    var nacked: String? { get }
    var nackMessage: String? { get }
}

extension SotWStream.TypeState: SummarizedTypeState {}
extension DeltaStream.TypeState: SummarizedTypeState {}

extension StreamMachine {
    static func summarize(_ types: [ResourceType: some SummarizedTypeState]) -> [ResourceType: TypeSummary] {
        types.mapValues { state in
            TypeSummary(subscribed: listed(state.names), subscribedCount: state.names.count, wildcard: state.wildcard,
                        sentVersion: state.lastVersion, sentNonce: state.lastNonce, acked: state.acked,
                        nacked: state.nacked, nackMessage: state.nackMessage)
        }
    }
}

extension SotWStream {
    var summary: [ResourceType: TypeSummary] { Self.summarize(types) }
}

extension DeltaStream {
    var summary: [ResourceType: TypeSummary] { Self.summarize(types) }
}
