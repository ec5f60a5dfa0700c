import NIOCore
import Protobuf
import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// One body per content, shared by every stream: what makes a push to thousands of proxies cost one encoding.
@Suite struct ResponseSharingTests {
    typealias F = SnapshotFactory
    static let site = SotWStreamTests.site
    let controlPlane = ResponseEncoder.controlPlane(identifier: "chancery-test")

    /// The message a proxy receives: head then body.
    func whole(head: [UInt8], body: ByteBuffer) -> [UInt8] {
        head + body.readableBytesView
    }

    /// The storage a buffer's readable bytes live in.
    func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) }
    }

    func firstSend(_ stream: inout SotWStream, _ type: ResourceType) throws -> SotWStream.Response {
        let actions = stream.receive(DiscoveryRequest(node: NodeInfo(id: "n"), typeURL: type.typeURL))
        for case .send(let response) in actions { return response }
        throw CancellationError()
    }

    @Test func streamsSentTheSameContentShareOneBodyAndDifferOnlyInTheHead() throws {
        let cache = ResponseCache()
        var encoded: [(head: [UInt8], body: ByteBuffer)] = []
        for _ in 0..<3 {
            var stream = SotWStream()
            stream.attach(Self.site)
            _ = stream.receive(DiscoveryRequest(node: NodeInfo(id: "x"), typeURL: ResourceType.listener.typeURL))
            let response = try firstSend(&stream, .cluster)
            encoded.append(SotWStream.encode(response, controlPlane: controlPlane, cache: cache))
        }
        #expect(cache.counts == (hits: 2, misses: 1))
        #expect(Set(encoded.map { address($0.body) }).count == 1)
        // Each stream numbers its own nonces; the same counter value gives the same head here, so compare bytes.
        #expect(encoded[0].head == ResponseEncoder.head(nonce: "2", field: 5))

        // Head + body is a DiscoveryResponse the codec reads like any other.
        let whole = whole(head: encoded[0].head, body: encoded[0].body)
        let decoded = try ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryResponse", from: whole)
        #expect(decoded["nonce"]?.stringValue == "2")
        #expect(decoded["type_url"]?.stringValue == ResourceType.cluster.typeURL)
        #expect(decoded["version_info"]?.stringValue == Self.site[.cluster].version)
        #expect(decoded["resources"]?.listValue?.count == 2)
        #expect(decoded["control_plane"]?.messageValue?["identifier"]?.stringValue == "chancery-test")
    }

    @Test func differentContentGetsItsOwnBody() throws {
        let cache = ResponseCache()
        var a = SotWStream()
        a.attach(Self.site)
        var b = SotWStream()
        b.attach(F.group([.cluster: ["www": "changed", "dav": ""]]))
        let first = SotWStream.encode(try firstSend(&a, .cluster), controlPlane: controlPlane, cache: cache)
        let second = SotWStream.encode(try firstSend(&b, .cluster), controlPlane: controlPlane, cache: cache)
        #expect(cache.counts == (hits: 0, misses: 2))
        #expect(first.body != second.body)
    }

    @Test func deltaBodiesAreSharedByWhatTheyCarry() throws {
        let cache = ResponseCache()
        let resources = [F.resource(.cluster, "www"), F.resource(.cluster, "dav")]
        func response(_ nonce: String, removed: [String] = []) -> DeltaStream.Response {
            DeltaStream.Response(
                type: .cluster, systemVersion: "s1", nonce: nonce, resources: resources, removed: removed)
        }
        let one = DeltaStream.encode(response("1"), controlPlane: controlPlane, cache: cache)
        let two = DeltaStream.encode(response("2"), controlPlane: controlPlane, cache: cache)
        let other = DeltaStream.encode(response("3", removed: ["old"]), controlPlane: controlPlane, cache: cache)
        #expect(address(one.body) == address(two.body))
        #expect(one.body != other.body)
        #expect(one.head != two.head)
        let decoded = try ProtoCodec.decode(
            "envoy.service.discovery.v3.DeltaDiscoveryResponse",
            from: whole(head: two.head, body: two.body))
        #expect(decoded["nonce"]?.stringValue == "2")
        #expect(
            decoded["resources"]?.listValue?.compactMap { $0.messageValue?["name"]?.stringValue } == ["www", "dav"])
        #expect(decoded["system_version_info"]?.stringValue == "s1")
        let removed = try ProtoCodec.decode(
            "envoy.service.discovery.v3.DeltaDiscoveryResponse",
            from: whole(head: other.head, body: other.body))
        #expect(removed["removed_resources"]?.listValue == [.string("old")])
    }

    @Test func theCacheStaysWithinItsBudget() {
        let cache = ResponseCache(byteBudget: 4096)
        for version in 0..<100 {
            let body = cache.body(.sotw(.cluster, version: "\(version)", part: 0)) {
                ByteBuffer(bytes: Array(repeating: 1, count: 500))
            }
            #expect(body.readableBytes == 500)
        }
        // Both generations together hold at most the budget: the oldest bodies were dropped and are built again.
        var rebuilt = false
        _ = cache.body(.sotw(.cluster, version: "0", part: 0)) {
            rebuilt = true
            return ByteBuffer(bytes: [1])
        }
        #expect(rebuilt)
        var kept = true
        _ = cache.body(.sotw(.cluster, version: "99", part: 0)) {
            kept = false
            return ByteBuffer(bytes: [1])
        }
        #expect(kept)
    }

    @Test func aPublishRetiresTheBodiesOfThePublishBeforeLast() {
        let cache = ResponseCache()
        func fetch(_ version: Int) -> Bool {
            var built = false
            _ = cache.body(.sotw(.cluster, version: "\(version)", part: 0)) {
                built = true
                return ByteBuffer(bytes: [1, 2, 3])
            }
            return built
        }
        #expect(fetch(1))
        cache.published()
        // A stream one publish behind still shares the body (and keeps it for the next publish).
        #expect(!fetch(1))
        cache.published()
        cache.published()
        // Nobody asked for it during two publishes: gone, and built again on demand.
        #expect(fetch(1))
        for version in 2..<1000 {
            _ = fetch(version)
            cache.published()
        }
        // Far below the 64 MiB budget, only what the last two publishes needed is kept.
        #expect(cache.storedCount <= 2)
    }

    @Test func theServerRotatesItsCacheOnEveryPublish() {
        let store = SnapshotStore()
        let server = XDSServer(store: store, logger: .init(label: "test"))
        _ = server.responses.body(.sotw(.cluster, version: "v", part: 0)) { ByteBuffer(bytes: [1]) }
        #expect(server.responses.storedCount == 1)
        for name in ["a", "b"] {
            let key = GroupKey(group: name, mode: .ads)
            #expect(store.publish(Snapshot(groups: [key: GroupSnapshot(group: name, mode: .ads, types: [:])])))
        }
        #expect(server.responses.storedCount == 0)
    }
}
