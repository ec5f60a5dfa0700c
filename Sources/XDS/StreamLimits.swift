import GRPCServer
import Vocabulary

/// Bounds on the request state one xDS stream keeps, so a proxy's requests cannot grow the server without limit.
public struct XDSLimits: Sendable {
    /// Resource names one stream may subscribe to per type (and, in delta, report holding); past it the stream ends
    /// with RESOURCE_EXHAUSTED. Envoy subscribes by name only to routes, endpoints and secrets its listeners and
    /// clusters refer to, which is far below this for any routes file Chancery serves.
    public var maxNamesPerType = 10_000

    public init() {}
}

/// What one retained name is estimated to cost beyond its UTF-8 bytes: the string header, its hash-table slot and
/// allocator rounding. An estimate is enough: the budget is there to bound the total, not to account it exactly.
let retainedBytesPerName = 64

/// The charge for a set of names.
func retainedCost(of names: Set<String>) -> Int {
    names.reduce(0) { $0 + $1.utf8.count + retainedBytesPerName }
}

/// The charge for one name held at a version (delta).
func retainedCost(_ name: String, _ version: String) -> Int {
    name.utf8.count + version.utf8.count + retainedBytesPerName
}

/// The charge for what a delta proxy holds.
func retainedCost(of known: [String: String]) -> Int {
    known.reduce(0) { $0 + retainedCost($1.key, $1.value) }
}

extension SotWStream {
    /// Bytes of request state kept for this stream: the subscribed names of every type. Each type keeps its own
    /// count as its names change, so checking the budget after every request costs no walk over the names.
    var retainedBytes: Int {
        types.values.reduce(0) { $0 + $1.retained }
    }

    /// The type with the most names subscribed, and how many.
    var largestSubscription: (type: ResourceType, count: Int)? {
        types.map { (type: $0.key, count: $0.value.names.count) }.max { $0.count < $1.count }
    }

    static func nameCount(of request: DiscoveryRequest) -> Int { request.resourceNames.count }
}

extension DeltaStream {
    /// Bytes of request state kept for this stream: subscribed names and the name → version map the proxy holds.
    var retainedBytes: Int {
        types.values.reduce(0) { $0 + $1.retained }
    }

    /// The type with the most names subscribed or reported as held, and how many.
    var largestSubscription: (type: ResourceType, count: Int)? {
        types.map { (type: $0.key, count: max($0.value.names.count, $0.value.known.count)) }.max { $0.count < $1.count }
    }

    static func nameCount(of request: DeltaDiscoveryRequest) -> Int {
        max(request.subscribe.count, request.initialResourceVersions.count)
    }
}

extension StreamHandler {
    /// Why this request (or the subscription state it left) is over a limit, or nil. `names` is the request's own
    /// count, checked before the state machine builds sets from it.
    func limitExceeded(requestNames names: Int?) -> String? {
        let limit = server.limits.maxNamesPerType
        if let names, names > limit {
            return "request names \(names) resources, more than the limit of \(limit) per type and stream "
                + "(--max-names-per-type)"
        }
        if names == nil, let largest = machine.largestSubscription, largest.count > limit {
            return "stream subscribes to \(largest.count) \(largest.type.rawValue) names, more than the limit of "
                + "\(limit) per type and stream (--max-names-per-type)"
        }
        return nil
    }

    /// Charges the change in retained subscription state to the server-wide budget; the reason when it is used up.
    func chargeRetainedState() -> String? {
        let cost = machine.retainedBytes
        let budget = stream.memoryBudget
        guard budget.tryCharge(cost - chargedBytes) else {
            return "server-wide budget of \(budget.limit) bytes for buffered messages and subscriptions is used up "
                + "(--max-buffered-bytes)"
        }
        chargedBytes = cost
        return nil
    }

    /// Gives back everything this stream charged (it closed).
    func releaseRetainedState() {
        stream.memoryBudget.release(chargedBytes)
        chargedBytes = 0
    }
}
