import GRPCServer
import Snapshot
import Vocabulary

/// The state-of-the-world protocol for one stream (ADS, or a per-type service), as a value.
///
/// It takes requests and snapshots and returns what to send; it does no I/O and reads no clock, so every rule of the
/// protocol is tested with plain values. Rule numbers refer to `docs/PROTOCOL.md` §3.
public struct SotWStream: Sendable {
    public struct Response: Hashable, Sendable {
        public var type: ResourceType
        public var version: String
        public var nonce: String
        public var resources: [EncodedResource]
        /// Which part of a response split to stay under the message size limit (0 when whole).
        public var part = 0
    }

    public typealias Action = XDSAction<Response>

    /// Per type: what the proxy asked for, what it was sent and what it said about it.
    public struct TypeState: Hashable, Sendable {
        public var names: Set<String> = []
        public var wildcard = false
        /// Any request so far named resources: an empty list then means "none", not legacy wildcard (rule 11, 12).
        public var everNamed = false
        public var lastNonce: String?
        public var lastVersion: String?
        public var acked: String?
        public var nacked: String?
        public var nackMessage: String?
        /// Endpoints are re-sent after every Cluster push so updated clusters finish warming (rule 31).
        var resendPending = false
        /// What the last response held. When it was the whole type this is the snapshot's own array (shared storage,
        /// not a copy per stream); its version names its content, so nothing else about it is kept.
        var sentResources: [EncodedResource] = []
        /// The `namesVersion` of the type for which the subscription was found to name every resource (nil: not
        /// known, or it does not).
        var coversAllNames: String?
        /// The proxy unsubscribed a name it was sent, so it no longer holds the last response (rule 13).
        var forgotSent = false
        /// The `namesVersion` of the type when the last response held all of it (nil when it held a subset).
        var sentAllOfNames: String?
        /// What `names` is charged against the server's budget (`retainedBytes`), kept as the names change.
        var retained = 0
        /// `DiscoveryRequest.namesDigest` of the request that last set `names`: an ACK with the same digest
        /// repeats them and is not decoded or subscribed again.
        var namesDigest: Int?
    }

    /// nil on ADS; the single type of a per-type service otherwise.
    public let fixedType: ResourceType?
    public private(set) var node: NodeInfo?
    public private(set) var types: [ResourceType: TypeState] = [:]
    public private(set) var snapshot: GroupSnapshot?
    private var nonceCounter: UInt64 = 0

    /// The largest response for a named type before it is sent in parts (gRPC clients refuse more than 4 MiB).
    public let maxResponseBytes: Int

    public init(fixedType: ResourceType? = nil) {
        self.init(fixedType: fixedType, maxResponseBytes: (4 << 20) - (64 << 10))
    }

    public init(fixedType: ResourceType?, maxResponseBytes: Int) {
        self.fixedType = fixedType
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sets the first snapshot without pushing anything: the stream has not asked for anything yet.
    public mutating func attach(_ snapshot: GroupSnapshot) {
        self.snapshot = snapshot
    }

    public mutating func receive(_ request: DiscoveryRequest) -> [Action] {
        if let node = request.node { self.node = node }  // rule 1: only the first request must carry it
        let type: ResourceType
        switch RequestType(typeURL: request.typeURL, fixed: fixedType) {
        case .type(let requested): type = requested
        case .unserved: return []
        case .invalid(let reason): return [.fail(.invalidArgument(reason))]
        }
        var state = types[type] ?? TypeState()
        if !request.namesRepeated {
            subscribe(&state, type: type, names: request.resourceNames)
            state.namesDigest = request.namesDigest
        }

        if request.responseNonce.isEmpty {
            // A new subscription, or a reconnect that still knows an old version: always answer (rule 10).
            types[type] = state
            return respond(type, force: true)
        }
        guard request.responseNonce == state.lastNonce else {
            // Stale nonce (rule 8): a newer response is in flight; the names are recorded, the answer waits for it.
            types[type] = state
            return []
        }
        let verdict: Action
        if let error = request.errorDetail {  // rule 6: a NACK is known by error_detail alone
            state.nacked = state.lastVersion
            state.nackMessage = error.message
            verdict = .nacked(type, version: state.lastVersion ?? "", message: error.message)
        } else {
            state.acked = request.versionInfo
            state.nacked = nil
            state.nackMessage = nil
            verdict = .acked(type, version: request.versionInfo)
        }
        types[type] = state
        return [verdict] + respond(type, force: false)
    }

    /// A new snapshot: push every subscribed type whose content changed, clusters first (rule 30).
    public mutating func update(_ snapshot: GroupSnapshot) -> [Action] {
        self.snapshot = snapshot
        var actions: [Action] = []
        var finishClusterRemoval = false
        for type in ResourceType.allCases.sorted() where types[type] != nil {
            if type == .cluster, fixedType == nil, let keep = clustersBeingRemoved() {
                // Make before break: send the new clusters alongside the old ones, remove the old ones last.
                actions += respond(.cluster, force: false, keeping: keep)
                finishClusterRemoval = true
            } else {
                actions += respond(type, force: false)
            }
        }
        if finishClusterRemoval { actions += respond(.cluster, force: false) }
        return actions
    }

    // MARK: - Subscriptions

    private mutating func subscribe(_ state: inout TypeState, type: ResourceType, names: [String]) {
        let previous = state.names, wasWildcard = state.wildcard
        if names.isEmpty {
            // Legacy wildcard lasts only while every request for the type was empty (rule 11).
            state.wildcard = type.requiresFullStateInSotW && !state.everNamed
            state.names = []
        } else {
            state.everNamed = true
            state.wildcard = names.contains("*")
            state.names = Set(names.filter { $0 != "*" })
        }
        // The proxy forgets what it unsubscribed: a name asked for again later must be sent again (rule 13), even
        // when the selection then equals the last one sent (as after unsubscribing everything, which is not
        // answered). Only a changed subscription can drop a sent name, so an ACK repeating its names costs a compare.
        if state.names.count != previous.count || state.names != previous || state.wildcard != wasWildcard {
            state.retained = retainedCost(of: state.names)
            state.coversAllNames = nil
            if !state.wildcard && state.sentResources.contains(where: { !state.names.contains($0.name) }) {
                state.forgotSent = true
            }
        } else {
            // The same names: keep the set the stream had, so later comparisons with it are immediate.
            state.names = previous
        }
    }

    private func selected(_ type: ResourceType, _ state: TypeState) -> [EncodedResource] {
        guard let typeSnapshot = snapshot?[type] else { return [] }
        if state.wildcard || state.coversAllNames == typeSnapshot.namesVersion { return typeSnapshot.sorted }
        // Only names that exist and were asked for, each once (rule 15).
        return state.names.sorted().compactMap { typeSnapshot.resources[$0] }
    }

    /// Whether the subscription names every resource of the type, remembered per set of names (a proxy that asks
    /// for all its clusters' endpoints is then sent the snapshot's own array, with no per-push work per name).
    private func noteCoverage(_ state: inout TypeState, _ type: ResourceType) {
        guard !state.wildcard, let typeSnapshot = snapshot?[type],
            state.coversAllNames != typeSnapshot.namesVersion, state.names.count >= typeSnapshot.resources.count
        else { return }
        if typeSnapshot.resources.keys.allSatisfy(state.names.contains) {
            state.coversAllNames = typeSnapshot.namesVersion
        }
    }

    /// Names of clusters last sent that the new snapshot drops, while other types still have to follow.
    private func clustersBeingRemoved() -> [EncodedResource]? {
        guard let state = types[.cluster] else { return nil }
        // The last response held every cluster and the snapshot still has the same names: none is leaving (the
        // common case, checked without a pass over the names on every push).
        if let sentAll = state.sentAllOfNames, sentAll == snapshot?[.cluster].namesVersion { return nil }
        let now = Set(selected(.cluster, state).map(\.name))
        let leaving = state.sentResources.filter { !now.contains($0.name) }
        let othersFollow = [ResourceType.listener, .route].contains { types[$0] != nil }
        return leaving.isEmpty || !othersFollow ? nil : leaving
    }

    // MARK: - Responses

    private mutating func respond(_ type: ResourceType, force: Bool, keeping extra: [EncodedResource] = []) -> [Action]
    {
        guard snapshot != nil, var state = types[type] else { return [] }
        noteCoverage(&state, type)
        var resources = selected(type, state)
        if !extra.isEmpty {
            resources = (resources + extra).sorted { $0.name < $1.name }
        }
        if resources.isEmpty && !type.requiresFullStateInSotW {
            return []  // rule 19, 20: nothing to say about names that do not exist; the subscription is remembered
        }
        // The type's version is by construction the hash of all its resources: reuse it whenever the response holds
        // exactly those (a wildcard, or every name subscribed), and hash only real subsets.
        let all = snapshot![type]
        let version =
            extra.isEmpty && (state.wildcard || resources.count == all.resources.count)
            ? all.version
            : ContentHash.of(versions: resources.map { ($0.name, $0.version) })
        if !force && !state.resendPending {
            if version == state.lastVersion && !state.forgotSent { return [] }  // rule 9: only changes
            if version == state.nacked { return [] }  // rule 7: never re-push what the proxy rejected
        }
        // Named types may be sent in parts (rule 19), so a large set is split to stay under gRPC's 4 MiB default
        // receive limit (grpc-go#5790); each part carries the same version, and the proxy's ACK of the last one
        // acknowledges them all. LDS and CDS must arrive whole (rule 18).
        let fits = resources.count == all.sorted.count && extra.isEmpty && all.sortedBytes <= maxResponseBytes
        let parts =
            type.requiresFullStateInSotW || fits ? [resources] : Self.split(resources, under: maxResponseBytes)
        var actions: [Action] = []
        for (index, part) in parts.enumerated() {
            nonceCounter += 1
            let nonce = String(nonceCounter)  // rule 4: unique within the stream
            state.lastNonce = nonce
            actions.append(
                .send(Response(type: type, version: version, nonce: nonce, resources: part, part: index)))
        }
        state.lastVersion = version
        state.sentResources = resources
        state.forgotSent = false
        state.sentAllOfNames = extra.isEmpty && resources.count == all.resources.count ? all.namesVersion : nil
        state.resendPending = false
        types[type] = state
        if type == .cluster, types[.endpoint] != nil {
            types[.endpoint]!.resendPending = true
        }
        if type == .cluster, fixedType == nil, types[.endpoint] != nil {
            // On ADS the endpoints follow their clusters at once, even unchanged, so updated clusters finish warming.
            actions += respond(.endpoint, force: false)
        }
        return actions
    }

    /// Groups resources, in order, into parts whose encoded size stays under `limit` (a resource larger than
    /// `limit` travels alone).
    static func split(_ resources: [EncodedResource], under limit: Int) -> [[EncodedResource]] {
        // Most responses fit whole: measured first, they are sent as the array they are, without a copy of each.
        if resources.reduce(0, { $0 + $1.anyBytes.count + 8 }) <= limit { return [resources] }
        var parts: [[EncodedResource]] = []
        var current: [EncodedResource] = []
        var size = 0
        for resource in resources {
            let cost = resource.anyBytes.count + 8
            if !current.isEmpty && size + cost > limit {
                parts.append(current)
                current = []
                size = 0
            }
            current.append(resource)
            size += cost
        }
        if !current.isEmpty || parts.isEmpty { parts.append(current) }
        return parts
    }
}
