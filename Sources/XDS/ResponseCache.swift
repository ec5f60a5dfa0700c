import NIOCore
import Snapshot
import Synchronization
import Vocabulary

/// Response bodies encoded once and shared by every stream that sends the same response.
///
/// After a publish, every proxy of a group is sent the same resources: the body is built by the first stream that
/// needs it and the others queue the same storage (`GRPCServerStream.send(head:body:)`), so a push to 10,000 proxies
/// encodes once and copies nothing per proxy but a nonce.
///
/// Keys are content, not snapshots: a state-of-the-world body is named by its type, its version (a content hash of
/// exactly the resources it holds, `SotWStream.respond`) and its part; a delta body by its type, system version and
/// the names and versions of what it sends and removes. Entries live in two generations: on every publish, and
/// whenever the newer one grows past half the byte budget, it becomes the older and the oldest is dropped. Bodies
/// still in use survive by being looked up (moved back into the newer generation); the cache holds what the last
/// two publishes needed and never more than about `byteBudget`. (Rotating on the budget alone kept every body of a
/// slow trickle of small changes until 64 MiB had piled up: the soak saw it as RSS growing without end.)
final class ResponseCache: Sendable {
    enum Key: Hashable, Sendable {
        case sotw(ResourceType, version: String, part: Int)
        case delta(DeltaKey)
        /// A delta body every stream in the same state sends, named by the versions its changes lead from and to
        /// (`DeltaStream.Response.shareKey`): found without hashing the names it holds.
        case deltaShared(ResourceType, systemVersion: String, changes: String)
    }

    /// A delta response by the names and versions it carries (equality ignores the resources' bytes: a version is
    /// the hash of them).
    struct DeltaKey: Hashable, Sendable {
        var type: ResourceType
        var systemVersion: String
        var resources: [EncodedResource]
        var removed: [String]

        static func == (lhs: DeltaKey, rhs: DeltaKey) -> Bool {
            lhs.type == rhs.type && lhs.systemVersion == rhs.systemVersion && lhs.removed == rhs.removed
                && lhs.resources.count == rhs.resources.count
                && zip(lhs.resources, rhs.resources).allSatisfy { $0.name == $1.name && $0.version == $1.version }
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(type)
            hasher.combine(systemVersion)
            hasher.combine(removed)
            hasher.combine(resources.count)
            for resource in resources {
                hasher.combine(resource.name)
                hasher.combine(resource.version)
            }
        }
    }

    private struct Generations {
        var newer: [Key: ByteBuffer] = [:]
        var newerBytes = 0
        var older: [Key: ByteBuffer] = [:]
        var hits = 0
        var misses = 0
    }

    let byteBudget: Int
    private let state = Mutex(Generations())

    init(byteBudget: Int = 64 << 20) {
        self.byteBudget = byteBudget
    }

    /// The body for `key`, built with `make` on a miss. Two streams missing at once both build it (same bytes); one
    /// copy is kept.
    func body(_ key: Key, make: () -> ByteBuffer) -> ByteBuffer {
        if let found = lookup(key) { return found }
        let body = make()
        // A body larger than the budget is used once and not kept.
        guard body.readableBytes <= byteBudget / 2 else { return body }
        state.withLock { state in
            store(key, body, in: &state)
        }
        return body
    }

    /// A snapshot was published: what the one before last needed, and nobody asked for since, goes.
    func published() {
        state.withLock { state in
            state.older = state.newer
            state.newer = [:]
            state.newerBytes = 0
        }
    }

    /// Bodies kept now (tests).
    var storedCount: Int { state.withLock { $0.newer.count + $0.older.count } }

    /// Hits and misses so far (benchmarks and tests).
    var counts: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    private func lookup(_ key: Key) -> ByteBuffer? {
        state.withLock { state in
            if let body = state.newer[key] {
                state.hits += 1
                return body
            }
            if let body = state.older.removeValue(forKey: key) {
                state.hits += 1
                store(key, body, in: &state)
                return body
            }
            state.misses += 1
            return nil
        }
    }

    private func store(_ key: Key, _ body: ByteBuffer, in state: inout Generations) {
        guard state.newer[key] == nil else { return }
        if state.newerBytes + body.readableBytes > byteBudget / 2 {
            state.older = state.newer
            state.newer = [:]
            state.newerBytes = 0
        }
        state.newer[key] = body
        state.newerBytes += body.readableBytes
    }
}
