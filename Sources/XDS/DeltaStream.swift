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
        /// Names the body when it is one every stream in the same state sends (a type's changes from one
        /// published version to the next), so the shared body is found without hashing every name it holds.
        public var shareKey: String?
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
        /// What `names` and `known` are charged against the server's budget (`retainedBytes`), kept as they change.
        var retained = 0
        /// The type version of which `known` holds exactly every resource, at its version, when the subscription
        /// wants all of them: such a stream is served the changes every stream in that state shares
        /// (`TypeSnapshot.share`). Nil when unknown; cleared whenever the subscription or `known` changes otherwise.
        var basis: String?
    }

    public let fixedType: ResourceType?
    public private(set) var node: NodeInfo?
    public private(set) var types: [ResourceType: TypeState] = [:]
    public private(set) var snapshot: GroupSnapshot?
    private var nonceCounter: UInt64 = 0
    /// Per type, the type version a push last brought the subscription fully up to date with (nothing forced,
    /// removals included). A later push of the same version has nothing to add, so it skips the walk over resources.
    /// Cleared whenever the subscription changes. Kept apart from `types` so that checking it copies no type state.
    private var settled: [ResourceType: String] = [:]

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
        if first || !request.subscribe.isEmpty || !request.unsubscribe.isEmpty {
            settled[type] = nil
            state.basis = nil
        }
        if first {
            // Rule 26: what the proxy already holds (reconnect). Rule 24: an empty first request is legacy wildcard.
            state.known = request.initialResourceVersions
            if request.subscribe.isEmpty && request.unsubscribe.isEmpty { state.wildcard = true }
        }
        // Subscription changes apply whatever the nonce (rule 23).
        if request.subscribe.count > 1 {
            state.names.reserveCapacity(state.names.count + request.subscribe.count)
            mustSend.reserveCapacity(request.subscribe.count)
        }
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
        // What the request leaves wanted decides: a name it subscribes and unsubscribes, or unsubscribes while
        // the wildcard it also drops still wanted it, is not sent (the proxy holds it no more, rule 29).
        if !request.unsubscribe.isEmpty && !state.wildcard {
            mustSend = mustSend.filter { state.names.contains($0) }
        }
        // Counted again only when the request changed what is kept: an ACK leaves names and holdings as they were.
        if first || !request.subscribe.isEmpty || !request.unsubscribe.isEmpty {
            state.retained = retainedCost(of: state.names) + retainedCost(of: state.known)
        }
        types[type] = state
        return verdict + respond(type, forcing: mustSend, includeRemovals: true, forcingOnlyWanted: true)
    }

    /// A new snapshot: push what changed, clusters first; cluster removals only after everything else (rule 30).
    public mutating func update(_ snapshot: GroupSnapshot) -> [Action] {
        self.snapshot = snapshot
        var actions: [Action] = []
        let ads = fixedType == nil
        let removedLast: Set<ResourceType> = ads ? [.cluster, .endpoint] : []
        // `index(forKey:)`: asking `types[type] != nil` would copy the type's whole state to test it.
        for type in ResourceType.allCases.sorted() where types.index(forKey: type) != nil {
            actions += respond(type, forcing: [], includeRemovals: !removedLast.contains(type))
        }
        for type in removedLast.sorted() where types.index(forKey: type) != nil {
            actions += respond(type, forcing: [], includeRemovals: true)
        }
        return actions
    }

    /// What a push must carry when nothing is forced: wanted resources whose version the proxy does not hold (in
    /// name order) and, with `includeRemovals`, held names that are gone or no longer wanted (rule 27).
    ///
    /// The same answer as the general path in `respond`, without building and sorting the set of every wanted name
    /// on every push: a wildcard or dense subscription walks the snapshot's presorted resources, and only a sparse
    /// one sorts its own few names. With 10,000 routes per proxy that sort was most of a push's cost.
    static func changes(_ typeSnapshot: TypeSnapshot, _ state: TypeState, includeRemovals: Bool) -> (
        send: [EncodedResource], removed: [String]
    ) {
        var send: [EncodedResource] = []
        if state.wildcard || state.names.count * 4 >= typeSnapshot.sorted.count {
            for resource in typeSnapshot.sorted
            where (state.wildcard || state.names.contains(resource.name))
                && state.known[resource.name] != resource.version
            {
                send.append(resource)
            }
        } else {
            for name in state.names.sorted() {
                if let resource = typeSnapshot.resources[name], state.known[name] != resource.version {
                    send.append(resource)
                }
            }
        }
        guard includeRemovals else { return (send, []) }
        var removed: [String] = []
        for name in state.known.keys
        where typeSnapshot.resources[name] == nil || !(state.wildcard || state.names.contains(name)) {
            removed.append(name)
        }
        return (send, removed)
    }

    /// The general form: `forcing` names are sent (or reported removed) whatever the proxy holds.
    ///
    /// Resources go out in name order and removals are reported in name order, as in the plain statement of the
    /// rule: look at every name wanted or forced, in order. A subscription that wants a good part of the type
    /// (wildcard, or a proxy subscribing to the endpoints of 1,000 new clusters at once) walks the snapshot's
    /// presorted resources and sorts only the few names the snapshot does not hold; a sparse one sorts its names.
    static func changes(
        _ typeSnapshot: TypeSnapshot, _ state: TypeState, forcing: Set<String>, includeRemovals: Bool
    ) -> (send: [EncodedResource], removed: [String]) {
        let resources = typeSnapshot.resources
        func wanted(_ name: String) -> Bool {
            state.names.contains(name) || (state.wildcard && resources[name] != nil)
        }
        var send: [EncodedResource] = []
        var removed: [String] = []
        if state.wildcard || (state.names.count + forcing.count) * 4 >= typeSnapshot.sorted.count {
            for resource in typeSnapshot.sorted {
                let forced = forcing.contains(resource.name)
                guard forced || state.wildcard || state.names.contains(resource.name) else { continue }
                if forced || state.known[resource.name] != resource.version { send.append(resource) }
            }
            if includeRemovals {
                // Rule 27: wanted or forced, but not (any more) in the snapshot; the subscription stays.
                var missing: [String] = []
                for name in state.names where resources[name] == nil {
                    if forcing.contains(name) || state.known[name] != nil { missing.append(name) }
                }
                for name in forcing where resources[name] == nil && !state.names.contains(name) { missing.append(name) }
                removed = missing.sorted()
            }
        } else {
            for name in state.names.union(forcing).sorted() {
                if let resource = resources[name] {
                    if forcing.contains(name) || state.known[name] != resource.version { send.append(resource) }
                } else if includeRemovals, forcing.contains(name) || state.known[name] != nil {
                    removed.append(name)  // rule 27, as above
                }
            }
        }
        if includeRemovals {
            // Held by the proxy but no longer wanted through the wildcard, e.g. deleted from the routes file.
            removed += state.known.keys.filter { !wanted($0) && !forcing.contains($0) }.sorted()
        }
        return (send, removed)
    }

    private func interest(_ type: ResourceType, _ state: TypeState) -> Set<String> {
        var names = state.names
        if state.wildcard, let typeSnapshot = snapshot?[type] { names.formUnion(typeSnapshot.resources.keys) }
        return names
    }

    /// The changes every stream that holds all of `state.basis` shares, when this stream is one of them: it holds
    /// exactly the older version's resources, wants every resource of the new one (wildcard, or each added name
    /// subscribed), and, without removals, nothing was removed (it would go on holding those names).
    static func sharedChanges(_ typeSnapshot: TypeSnapshot, _ state: TypeState, includeRemovals: Bool) -> (
        TypeShare, TypeChanges
    )? {
        guard let share = typeSnapshot.share, let changes = share.changes, let basis = state.basis,
            basis == changes.from, includeRemovals || changes.removed.isEmpty,
            state.wildcard || changes.added.allSatisfy(state.names.contains)
        else { return nil }
        return (share, changes)
    }

    /// `forcingOnlyWanted`: every forced name is wanted, or not in the snapshot (the names a request subscribes to,
    /// or unsubscribes from while the wildcard still wants them). Such a response with removals leaves the stream as
    /// up to date as an unforced one does, so the proxy's ACK of it finds the type settled instead of walking it.
    private mutating func respond(
        _ type: ResourceType, forcing: Set<String>, includeRemovals: Bool, forcingOnlyWanted: Bool = false
    ) -> [Action] {
        guard let snapshot else { return [] }
        let typeSnapshot = snapshot[type]
        // Most pushes change one type or two: the others are still what this subscription was last settled with.
        if forcing.isEmpty, let version = settled[type], version == typeSnapshot.version { return [] }
        guard var state = types[type] else { return [] }
        if forcing.isEmpty, state.basis == typeSnapshot.version {
            // Holds every resource as it is now, and wants nothing else.
            if includeRemovals { settled[type] = typeSnapshot.version }
            return []
        }
        if forcing.isEmpty,
            let (share, changes) = Self.sharedChanges(typeSnapshot, state, includeRemovals: includeRemovals)
        {
            hold(share, replacing: changes, in: &state, version: typeSnapshot.version)
            if includeRemovals { settled[type] = typeSnapshot.version }
            let removed = includeRemovals ? changes.removed : []
            guard !changes.changed.isEmpty || !removed.isEmpty else {
                types[type] = state
                return []
            }
            let key = "\(changes.from)>\(typeSnapshot.version)\(includeRemovals ? "" : " kept")"
            var actions = [emit(type, &state, send: changes.changed, removed: removed, shareKey: key)]
            if type == .cluster, fixedType == nil, types[.endpoint] != nil, !changes.changed.isEmpty {
                actions += warmEndpoints(of: changes.changed, shared: changes)
            }
            return actions
        }
        var send: [EncodedResource] = []
        var removed: [String] = []
        if forcing.isEmpty {
            (send, removed) = Self.changes(typeSnapshot, state, includeRemovals: includeRemovals)
        } else {
            (send, removed) = Self.changes(typeSnapshot, state, forcing: forcing, includeRemovals: includeRemovals)
        }
        var changedKnown = false
        for resource in send {
            // Re-sending a version the proxy holds changes nothing (and must not copy a shared `known`).
            guard state.known[resource.name] != resource.version else { continue }
            // Room for all of them at once: a subscription to 1,000 new names grew the table ten times.
            if !changedKnown { state.known.reserveCapacity(state.known.count + send.count) }
            let old = state.known.updateValue(resource.version, forKey: resource.name)
            state.retained +=
                retainedCost(resource.name, resource.version) - (old.map { retainedCost(resource.name, $0) } ?? 0)
            changedKnown = true
        }
        for name in removed {
            if let old = state.known.removeValue(forKey: name) {
                state.retained -= retainedCost(name, old)
                changedKnown = true
            }
        }
        if changedKnown { state.basis = nil }
        if (forcing.isEmpty || forcingOnlyWanted) && includeRemovals {
            settled[type] = typeSnapshot.version
            // Up to date and holding every resource: from now on this stream can be served the shared changes, and
            // keep the one shared copy of what it holds.
            if state.known.count == typeSnapshot.resources.count {
                state.basis = typeSnapshot.version
                if let share = typeSnapshot.share { state.known = share.versions }
            }
        }
        guard !send.isEmpty || !removed.isEmpty else {
            types[type] = state
            return []
        }
        // Every resource of the type and nothing removed (a proxy's first request, or one subscribing to all of a
        // new version's names) is one body for every stream: named by the version, not by hashing each name.
        let everything = removed.isEmpty && send.count == typeSnapshot.sorted.count
        var actions = [
            emit(
                type, &state, send: send, removed: removed.sorted(),
                shareKey: everything ? "all \(typeSnapshot.version)" : nil)
        ]
        if type == .cluster, fixedType == nil, types[.endpoint] != nil, !send.isEmpty {
            actions += warmEndpoints(of: send, shared: nil)
        }
        return actions
    }

    /// `state` now holds every resource of `share`, which it held the older version of (`changes.from`).
    private func hold(_ share: TypeShare, replacing changes: TypeChanges, in state: inout TypeState, version: String) {
        state.known = share.versions
        state.retained +=
            (share.versionBytes + retainedBytesPerName * share.versions.count)
            - (changes.fromBytes + retainedBytesPerName * changes.fromCount)
        state.basis = version
    }

    /// Records a response of `type` as sent on this stream and returns it.
    private mutating func emit(
        _ type: ResourceType, _ state: inout TypeState, send: [EncodedResource], removed: [String], shareKey: String?
    ) -> Action {
        let version = snapshot![type].version
        nonceCounter += 1
        let nonce = String(nonceCounter)
        state.lastNonce = nonce
        state.lastVersion = version
        state.inFlight[nonce] = version
        if state.inFlight.count > 64, let oldest = state.inFlight.keys.min(by: { UInt64($0) ?? 0 < UInt64($1) ?? 0 }) {
            state.inFlight.removeValue(forKey: oldest)  // a proxy that never answers must not grow this forever
        }
        types[type] = state
        return .send(
            Response(
                type: type, systemVersion: version, nonce: nonce, resources: send, removed: removed,
                shareKey: shareKey))
    }

    /// Rule 31: updated clusters warm until their endpoints arrive, so those are re-sent even if unchanged.
    ///
    /// `shared`: the clusters sent are exactly the changes every stream shares. Then a stream that holds every
    /// endpoint as it is now re-sends the shared warming list, and one that holds every endpoint of the version
    /// before sends it together with the endpoints' own changes (which it would be sent next anyway).
    private mutating func warmEndpoints(of clusters: [EncodedResource], shared: TypeChanges?) -> [Action] {
        guard let snapshot, var state = types[.endpoint] else { return [] }
        let endpoints = snapshot[.endpoint]
        if let shared {
            let clusterKey = "\(shared.from)>\(snapshot[.cluster].version)"
            if state.basis == endpoints.version {
                guard !shared.warming.isEmpty else { return [] }
                return [emit(.endpoint, &state, send: shared.warming, removed: [], shareKey: "warm \(clusterKey)")]
            }
            if let (share, changes) = Self.sharedChanges(endpoints, state, includeRemovals: false) {
                hold(share, replacing: changes, in: &state, version: endpoints.version)
                guard !changes.changedWithWarming.isEmpty else {
                    types[.endpoint] = state
                    return []
                }
                let key = "warm \(clusterKey) \(changes.from)>\(endpoints.version)"
                return [emit(.endpoint, &state, send: changes.changedWithWarming, removed: [], shareKey: key)]
            }
        }
        let names = Set(clusters.map(\.name)).intersection(interest(.endpoint, state))
        return respond(.endpoint, forcing: names.filter { endpoints.resources[$0] != nil }, includeRemovals: false)
    }
}
