import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// Delta streams served the changes they share (`TypeSnapshot.share`, set on publish) against streams that work
/// everything out themselves, on generated sequences of snapshots, subscription changes, ACKs and NACKs.
///
/// The shared path may send in one response what the other sends in two (a cluster update's warming endpoints
/// together with the endpoints' own changes), so each step compares, per type, every version sent and every name
/// removed, then what each stream holds and is charged for.
@Suite struct DeltaSharedChangesTests {
    typealias F = SnapshotFactory
    typealias Generator = DeltaChangesTests.Generator

    static func snapshot(_ random: inout Generator) -> GroupSnapshot {
        // Mostly the same names with new contents, now and then one more or one fewer.
        random.snapshot([.listener, .cluster, .endpoint], keep: 6, contents: 3)
    }

    /// Per type: every (name, version) sent and every name removed by `actions`.
    static func effects(_ actions: [DeltaStream.Action]) -> [ResourceType: (
        sent: [String: String], removed: Set<String>
    )] {
        var out: [ResourceType: (sent: [String: String], removed: Set<String>)] = [:]
        for action in actions {
            guard case .send(let response) = action else { continue }
            for resource in response.resources {
                out[response.type, default: ([:], [])].sent[resource.name] = resource.version
            }
            out[response.type, default: ([:], [])].removed.formUnion(response.removed)
        }
        return out
    }

    /// Some of `names` subscribed and some unsubscribed.
    static func subscriptionChange(_ type: ResourceType, _ names: [String], _ random: inout Generator)
        -> DeltaDiscoveryRequest
    {
        DeltaDiscoveryRequest(
            node: NodeInfo(id: "n"), typeURL: type.typeURL, subscribe: names.filter { _ in random.next(3) == 0 },
            unsubscribe: names.filter { _ in random.next(5) == 0 })
    }

    /// An ACK, or now and then a NACK, of `nonce`.
    static func verdict(_ type: ResourceType, nonce: String?, _ random: inout Generator) -> DeltaDiscoveryRequest {
        DeltaDiscoveryRequest(
            typeURL: type.typeURL, responseNonce: nonce ?? "",
            errorDetail: random.next(5) == 0 ? ErrorDetail(code: 13, message: "no") : nil)
    }

    /// The stream fed published (linked) snapshots against the one fed plain ones, after the same step: the same
    /// versions sent and names removed per type, the same holdings and budget charge, and a basis that names exactly
    /// what the stream holds (what the shared path relies on).
    static func expectSameOutcome(
        _ shared: DeltaStream, _ sharedActions: [DeltaStream.Action], _ plain: DeltaStream,
        _ plainActions: [DeltaStream.Action], _ label: String
    ) {
        let a = effects(sharedActions)
        let b = effects(plainActions)
        #expect(Set(a.keys) == Set(b.keys), "\(label)")
        for (kind, effect) in a {
            #expect(effect.sent == b[kind]?.sent, "\(label) \(kind)")
            #expect(effect.removed == b[kind]?.removed, "\(label) \(kind)")
        }
        for (kind, state) in shared.types {
            #expect(state.known == plain.types[kind]?.known, "\(label) \(kind)")
            if let basis = state.basis, basis == shared.snapshot![kind].version {
                #expect(state.known == shared.snapshot![kind].share?.versions, "\(label) \(kind)")
            }
        }
        #expect(shared.retainedBytes == plain.retainedBytes, "\(label)")
    }

    @Test func sharedChangesSendWhatEachStreamWouldWorkOutItself() {
        var sharedResponses = 0
        var warmingResponses = 0
        // What each share key was first seen to carry: one key must always name the same body.
        var bodies: [String: [String]] = [:]
        for seed in 0..<300 {
            var random = Generator(state: UInt64(seed) &+ 0x5A4E_D00D)
            let fixed: ResourceType? = seed % 4 == 0 ? [.cluster, .endpoint, .listener][random.next(3)] : nil
            var shared = DeltaStream(fixedType: fixed)
            var plain = DeltaStream(fixedType: fixed)
            var built = Self.snapshot(&random)
            var published = built.linked(after: nil)
            shared.attach(published)
            plain.attach(built)
            let names = ["a", "b", "c", "d", "*", "x"]
            var nonces: [ResourceType: String] = [:]
            for step in 0..<40 {
                let type = fixed ?? [ResourceType.listener, .cluster, .endpoint][random.next(3)]
                let label = "seed \(seed) step \(step)"
                var sharedActions: [DeltaStream.Action]
                var plainActions: [DeltaStream.Action]
                switch random.next(4) {
                case 0:
                    built = Self.snapshot(&random)
                    published = built.linked(after: published)
                    sharedActions = shared.update(published)
                    plainActions = plain.update(built)
                case 1:
                    let request = Self.subscriptionChange(type, names, &random)
                    (sharedActions, plainActions) = (shared.receive(request), plain.receive(request))
                default:
                    let request = Self.verdict(type, nonce: nonces[type], &random)
                    (sharedActions, plainActions) = (shared.receive(request), plain.receive(request))
                }
                for action in sharedActions {
                    guard case .send(let response) = action else { continue }
                    nonces[response.type] = response.nonce
                    guard let key = response.shareKey else { continue }
                    sharedResponses += 1
                    if key.hasPrefix("warm") { warmingResponses += 1 }
                    let carried =
                        response.resources.map { "\($0.name)@\($0.version)" } + response.removed.map { "-\($0)" }
                    let named = "\(response.type) \(response.systemVersion) \(key)"
                    #expect(bodies[named, default: carried] == carried, "\(label): \(named)")
                    bodies[named] = carried
                }
                Self.expectSameOutcome(shared, sharedActions, plain, plainActions, label)
            }
        }
        // Not vacuous: the shared path was taken, warming lists included.
        #expect(sharedResponses > 500)
        #expect(warmingResponses > 20)
    }

    @Test func linkedChangesListWhatChangedInNameOrder() {
        let before = F.group([.cluster: ["a": "1", "b": "1", "c": "1"], .endpoint: ["a": "1", "b": "1"]])
        let after = F.group([.cluster: ["b": "2", "c": "1", "d": "1"], .endpoint: ["a": "22", "b": "1", "d": "1"]])
        let linked = after.linked(after: before.linked(after: nil))
        let clusters = linked[.cluster].share?.changes
        #expect(clusters?.from == before[.cluster].version)
        #expect(clusters?.changed.map(\.name) == ["b", "d"])
        #expect(clusters?.added == ["d"])
        #expect(clusters?.removed == ["a"])
        // The changed clusters' endpoints, as they are now.
        #expect(clusters?.warming.map(\.name) == ["b", "d"])
        let endpoints = linked[.endpoint].share?.changes
        #expect(endpoints?.changed.map(\.name) == ["a", "d"])
        #expect(endpoints?.changedWithWarming.map(\.name) == ["a", "b", "d"])
        #expect(
            linked[.endpoint].share?.versions == [
                "a": after[.endpoint].resources["a"]!.version,
                "b": after[.endpoint].resources["b"]!.version, "d": after[.endpoint].resources["d"]!.version,
            ])
        // A type that did not change keeps the versions it had, and lists no changes.
        let again = after.linked(after: linked)
        #expect(again[.cluster].share?.changes == nil)
        #expect(again[.cluster].share?.versions == linked[.cluster].share?.versions)
        #expect(again == linked)
    }
}
