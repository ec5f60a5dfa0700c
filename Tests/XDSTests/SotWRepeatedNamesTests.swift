import Protobuf
import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// An ACK that repeats its stream's names is neither decoded nor subscribed again (`DiscoveryRequest.namesRepeated`).
/// On generated request sequences, as bytes on the wire, a stream that takes that path must answer and end up
/// exactly like one that decodes every request in full.
@Suite struct SotWRepeatedNamesTests {
    typealias F = SnapshotFactory
    typealias Generator = DeltaChangesTests.Generator

    static func snapshot(_ random: inout Generator) -> GroupSnapshot {
        random.snapshot([.listener, .cluster, .endpoint, .secret], keep: 4, contents: 2)
    }

    static func wire(_ type: ResourceType, names: [String], version: String, nonce: String, nack: Bool) throws
        -> [UInt8]
    {
        var fields: [String: ProtoValue] = [
            "type_url": .string(type.typeURL), "version_info": .string(version), "response_nonce": .string(nonce),
        ]
        if !names.isEmpty { fields["resource_names"] = .list(names.map { .string($0) }) }
        if nack {
            fields["error_detail"] = .message(ProtoMessage("google.rpc.Status", ["message": .string("no")]))
        }
        return try ProtoCodec.encode(ProtoMessage("envoy.service.discovery.v3.DiscoveryRequest", fields))
    }

    @Test func repeatedNamesAreSkippedWithTheSameOutcome() throws {
        var repeated = 0
        for seed in 0..<200 {
            var random = Generator(state: UInt64(seed) &+ 0xACC0_57ED)
            var fast = SotWStream()
            var full = SotWStream()
            let first = Self.snapshot(&random)
            fast.attach(first)
            full.attach(first)
            var last: [ResourceType: [String]] = [:]
            var nonces: [ResourceType: String] = [:]
            var versions: [ResourceType: String] = [:]
            for step in 0..<30 {
                if random.next(6) == 0 {
                    let next = Self.snapshot(&random)
                    #expect(fast.update(next) == full.update(next), "seed \(seed) step \(step)")
                    continue
                }
                let type = [ResourceType.listener, .cluster, .endpoint, .secret][random.next(4)]
                // Mostly the names sent last time (an ACK); otherwise any of them, in any order, repeated or not.
                var names = last[type] ?? []
                if random.next(3) == 0 {
                    names = (0..<random.next(5)).map { _ in ["a", "b", "c", "d", "*", "x"][random.next(6)] }
                }
                last[type] = names
                let nonce = random.next(5) == 0 ? "stale" : nonces[type] ?? ""
                let bytes = try Self.wire(
                    type, names: names, version: versions[type] ?? "", nonce: nonce, nack: random.next(6) == 0)
                let skipped = try fast.decode(bytes, node: false)
                let decoded = try DiscoveryRequest(decoding: bytes, node: false)
                #expect(!decoded.namesRepeated)
                #expect(skipped.namesDigest == decoded.namesDigest)
                if skipped.namesRepeated {
                    repeated += 1
                    #expect(skipped.resourceNames.isEmpty)
                    #expect(type != .secret)
                }
                let actions = fast.receive(skipped)
                #expect(actions == full.receive(decoded), "seed \(seed) step \(step)")
                #expect(fast.types == full.types, "seed \(seed) step \(step)")
                for action in actions {
                    if case .send(let response) = action {
                        nonces[response.type] = response.nonce
                        versions[response.type] = response.version
                    }
                }
            }
        }
        // Not vacuous: most steps are ACKs repeating their names.
        #expect(repeated > 1000)
    }

    @Test func theDigestFollowsTheNamesInOrder() throws {
        func digest(_ names: [String]) throws -> Int {
            try DiscoveryRequest(decoding: Self.wire(.cluster, names: names, version: "", nonce: "", nack: false))
                .namesDigest
        }
        #expect(try digest(["a", "b"]) == digest(["a", "b"]))
        #expect(try digest(["a", "b"]) != digest(["b", "a"]))
        #expect(try digest(["ab"]) != digest(["a", "b"]))
        #expect(try digest([]) != digest([""]))
    }
}
