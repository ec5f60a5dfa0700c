import GRPCServer
import Snapshot
import Vocabulary

/// The incremental (delta) protocol for one stream, ADS or per-type, as a value.
///
/// Versions are per resource (content hashes), so a reconnecting proxy that lists what it holds in
/// `initial_resource_versions` is sent only what changed. Rule numbers refer to `docs/PROTOCOL.md` §3.
public struct DeltaStream: Sendable {
    public struct Response: Hashable, Sendable {
        public var type: ResourceType
        public var systemVersion: String
        public var nonce: String
        public var resources: [EncodedResource]
        public var removed: [String]
    }

    public typealias Action = XDSAction<Response>

    public struct TypeState: Hashable, Sendable {
        public var names: Set<String> = []
        public var wildcard = false
        /// What the proxy holds, as far as the server knows: name → version last sent (or reported on reconnect).
        public var known: [String: String] = [:]
        public var lastNonce: String?
        /// The snapshot's type version at the last response (debug only in delta, rule 29).
        public var lastVersion: String?
        public var acked: String?
        public var nacked: String?
        public var nackMessage: String?
        var inFlight: [String: String] = [:]  // nonce → system version, until answered
    }

    public let fixedType: ResourceType?
    public private(set) var node: NodeInfo?
    public private(set) var types: [ResourceType: TypeState] = [:]
    public private(set) var snapshot: GroupSnapshot?
    private var nonceCounter: UInt64 = 0

    public init(fixedType: ResourceType? = nil) {
        self.fixedType = fixedType
    }

    public mutating func attach(_ snapshot: GroupSnapshot) {
        self.snapshot = snapshot
    }

    public mutating func receive(_ request: DeltaDiscoveryRequest) -> [Action] {
        if let node = request.node { self.node = node }
        let type: ResourceType
        switch RequestType(typeURL: request.typeURL, fixed: fixedType) {
        case .type(let requested): type = requested
        case .unserved: return []
        case .invalid(let reason): return [.fail(.invalidArgument(reason))]
        }
        let first = types[type] == nil
        var state = types[type] ?? TypeState()

        // ACK or NACK of an earlier response: recorded, never a reason to re-send (rule 22, 7).
        var verdict: [Action] = []
        if !request.responseNonce.isEmpty, let version = state.inFlight.removeValue(forKey: request.responseNonce) {
            if let error = request.errorDetail {
                state.nacked = version
                state.nackMessage = error.message
                verdict = [.nacked(type, version: version, message: error.message)]
            } else {
                state.acked = version
                state.nacked = nil
                state.nackMessage = nil
                verdict = [.acked(type, version: version)]
            }
        }

        var mustSend = Set<String>()
        if first {
            // Rule 26: what the proxy already holds (reconnect). Rule 24: an empty first request is legacy wildcard.
            state.known = request.initialResourceVersions
            if request.subscribe.isEmpty && request.unsubscribe.isEmpty { state.wildcard = true }
        }
        // Subscription changes apply whatever the nonce (rule 23).
        for name in request.subscribe {
            if name == "*" {
                state.wildcard = true
            } else {
                state.names.insert(name)
                // Rule 25: a subscribed name is always answered, unless the proxy just told us it holds this version.
                if !(first && request.initialResourceVersions[name] != nil) { mustSend.insert(name) }
            }
        }
        for name in request.unsubscribe {
            if name == "*" {
                // Like any unsubscribe (rule 29): the proxy drops what it held only through the wildcard itself.
                state.wildcard = false
                state.known = state.known.filter { state.names.contains($0.key) }
            } else {
                state.names.remove(name)
                if state.wildcard {
                    mustSend.insert(name)  // rule 28: still wanted through the wildcard; answer either way
                } else {
                    state.known.removeValue(forKey: name)  // rule 29: the proxy dropped it; nothing to send
                }
            }
        }
        types[type] = state
        return verdict + respond(type, forcing: mustSend, includeRemovals: true)
    }

    /// A new snapshot: push what changed, clusters first; cluster removals only after everything else (rule 30).
    public mutating func update(_ snapshot: GroupSnapshot) -> [Action] {
        self.snapshot = snapshot
        var actions: [Action] = []
        let ads = fixedType == nil
        let removedLast: Set<ResourceType> = ads ? [.cluster, .endpoint] : []
        for type in ResourceType.allCases.sorted() where types[type] != nil {
            actions += respond(type, forcing: [], includeRemovals: !removedLast.contains(type))
        }
        for type in removedLast.sorted() where types[type] != nil {
            actions += respond(type, forcing: [], includeRemovals: true)
        }
        return actions
    }

    private func interest(_ type: ResourceType, _ state: TypeState) -> Set<String> {
        var names = state.names
        if state.wildcard, let typeSnapshot = snapshot?[type] { names.formUnion(typeSnapshot.resources.keys) }
        return names
    }

    private mutating func respond(_ type: ResourceType, forcing: Set<String>, includeRemovals: Bool) -> [Action] {
        guard let snapshot, var state = types[type] else { return [] }
        let resources = snapshot[type].resources
        let wanted = interest(type, state)
        var send: [EncodedResource] = []
        var removed: [String] = []
        for name in wanted.union(forcing).sorted() {
            if let resource = resources[name] {
                if forcing.contains(name) || state.known[name] != resource.version { send.append(resource) }
            } else if includeRemovals, forcing.contains(name) || state.known[name] != nil {
                removed.append(name)  // rule 27: does not exist (any more); the subscription stays
            }
        }
        if includeRemovals {
            // Held by the proxy but no longer wanted through the wildcard, e.g. deleted from the routes file.
            for name in state.known.keys.sorted() where !wanted.contains(name) && !forcing.contains(name) {
                removed.append(name)
            }
        }
        guard !send.isEmpty || !removed.isEmpty else { return [] }
        for resource in send { state.known[resource.name] = resource.version }
        for name in removed { state.known.removeValue(forKey: name) }
        nonceCounter += 1
        let nonce = String(nonceCounter)
        state.lastNonce = nonce
        state.lastVersion = snapshot[type].version
        state.inFlight[nonce] = snapshot[type].version
        if state.inFlight.count > 64, let oldest = state.inFlight.keys.min(by: { UInt64($0) ?? 0 < UInt64($1) ?? 0 }) {
            state.inFlight.removeValue(forKey: oldest)  // a proxy that never answers must not grow this forever
        }
        types[type] = state
        var actions: [Action] = [
            .send(
                Response(
                    type: type, systemVersion: snapshot[type].version, nonce: nonce,
                    resources: send, removed: removed.sorted()))
        ]
        if type == .cluster, fixedType == nil, types[.endpoint] != nil, !send.isEmpty {
            // Rule 31: updated clusters warm until their endpoints arrive, so re-send those even if unchanged.
            let endpoints = Set(send.map(\.name)).intersection(interest(.endpoint, types[.endpoint]!))
            actions += respond(
                .endpoint, forcing: endpoints.filter { snapshot[.endpoint].resources[$0] != nil },
                includeRemovals: false)
        }
        return actions
    }
}
