import GRPCServer
import Pipeline
import Protobuf
import Snapshot
import TestSupport
import Testing
import Vocabulary
import XDS

@testable import XDS

/// One test per bug family of `docs/PROTOCOL.md` §5, named after the upstream issue.
@Suite("Protocol: regressions of other control planes")
struct RegressionProtocolTests {
    @Test func gcp46_noRepushAfterNack() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster, node: .default))
            let reply = try await s.response()
            try await s.nack(reply, message: "first")
            try await s.nack(reply, message: "again")  // a repeated NACK is not a reason either
            h.publish(XDSSnap.base(with: [.secret: ["example.test": "2"]]))
            try await s.expectNoResponse()
        }
    }

    @Test func gcp582_nackEchoingTheNewVersionIsStillANack() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            try await s.send(.sotw(.listener, node: .envoy("g582")))
            let reply = try await s.response()
            try await s.send(.sotw(.listener, version: reply.version, nonce: reply.nonce, nack: "bad", nackCode: 3))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "g582")?.types[.listener]?.nackedVersion == reply.version })
            #expect(await xdsEventually { h.info(node: "g582")?.types[.listener]?.ackedVersion == nil })
        }
    }

    @Test func envoy10363_staleNonceKeepsNames() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            let first = try await s.subscribe(.endpoint, ["www"], node: .envoy("e10363"))
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "2", "dav": ""]]))
            _ = try await s.response()  // in flight; the client has not seen it yet
            try await s.send(.sotw(.endpoint, ["www", "dav"], version: first.version, nonce: first.nonce))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "e10363")?.types[.endpoint]?.subscribed == ["dav", "www"] })
            // Proof the names count: a change to dav alone is pushed.
            h.publish(XDSSnap.base(with: [.endpoint: ["www": "2", "dav": "3"]]))
            #expect(try await s.response().names == ["dav", "www"])
        }
    }

    @Test func gcp426_noSupersetGating() async throws {
        try await withXDSServer(XDSSnap.site) { h in
            let s = try await h.open()
            let node = XDSNode.grpc("g426")
            #expect(try await s.subscribe(.listener, ["https"], node: node).names == ["https"])
            #expect(try await s.subscribe(.route, ["https"]).names == ["https"])
            #expect(try await s.subscribe(.cluster, ["www"]).names == ["www"])
            #expect(try await s.subscribe(.endpoint, ["www"]).names == ["www"])
            // gcp#1318: an EDS change after the snapshot changes is still sent to the partial subscriber.
            let dir = FixturePaths.fixtures + "/example-site"
            let site = try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs").snapshot
            var groups = site.groups
            for (key, group) in groups {
                var types = group.types
                types[.endpoint] = TypeSnapshot(
                    type: .endpoint,
                    resources: [
                        "www": SnapshotFactory.resource(.endpoint, "www", content: "moved")
                    ])
                groups[key] = GroupSnapshot(group: group.group, mode: group.mode, types: types)
            }
            h.publish(Snapshot(groups: groups))
            let update = try await s.response()
            #expect(update.type == .endpoint && update.names == ["www"])
        }
    }

    @Test func gcp399_resubscribedNameIsSent() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            #expect(try await s.subscribe(.endpoint, ["www", "dav"], node: .default).names == ["dav", "www"])
            #expect(try await s.subscribe(.endpoint, ["www"]).names == ["www"])
            #expect(try await s.subscribe(.endpoint, ["www", "dav"]).names == ["dav", "www"])
            // gcp#431: a cluster first received through the wildcard is sent again when named (own stream, so no
            // endpoint re-sends (rule 31) interleave).
            let c = try await h.open()
            #expect(try await c.subscribe(.cluster, node: .default).names == ["dav", "www"])
            #expect(try await c.subscribe(.cluster, ["dav"]).names == ["dav"])
            #expect(try await c.subscribe(.cluster, ["dav", "www"]).names == ["dav", "www"])
        }
    }

    @Test func gcp583_edsResentAfterClusterUpdate() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            _ = try await s.subscribe(.cluster, node: .default)
            let endpoints = try await s.subscribe(.endpoint, ["www", "dav"])
            // The cluster goes away (its CLA stays), then comes back: its endpoints must follow it again.
            h.publish(XDSSnap.base(with: [.cluster: ["www": ""]]))
            // The first reply may be slow on a loaded machine; the rest of the push follows it at once.
            var replies: [SotWReply] = [try await s.response()]
            try await s.ack(replies[0])
            while let next = try? await s.response(timeout: .milliseconds(300)) {
                replies.append(next)
                try await s.ack(next)
            }
            #expect(replies.first?.type == .cluster)
            h.publish(XDSSnap.make(XDSSnap.base))
            let cluster = try await s.response()
            #expect(cluster.type == .cluster && cluster.names == ["dav", "www"])
            let resent = try await s.response()
            #expect(resent.type == .endpoint)
            #expect(resent.names == ["dav", "www"])
            #expect(resent.version == endpoints.version)
        }
    }

    @Test func envoy13072_reconnectSameVersionGetsReply() async throws {
        try await withXDSServer { h in
            let old = try await h.open()
            let listeners = try await old.subscribe(.listener, node: .default)
            let routes = try await old.subscribe(.route, ["https"])
            let endpoints = try await old.subscribe(.endpoint, ["www"])
            await old.client.close()
            // Envoy's onStreamEstablished: last version, empty nonce, on a new stream (envoy#22418: also EDS).
            let fresh = try await h.open()
            try await fresh.send(.sotw(.listener, version: listeners.version, node: .default))
            try await fresh.send(.sotw(.route, ["https"], version: routes.version))
            try await fresh.send(.sotw(.endpoint, ["www"], version: endpoints.version))
            let replies = try await fresh.responses(3)
            #expect(replies.map(\.version) == [listeners.version, routes.version, endpoints.version])
        }
    }

    @Test func gcp565_deltaMissingNameInRemoved() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            let reply = try await s.deltaSubscribe(.secret, ["example.test", "missing.test"], node: .default)
            #expect(reply.names == ["example.test"])
            #expect(reply.removed == ["missing.test"])
        }
    }

    @Test func gcp488_deltaAppearingResourcePushed() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaADS)
            _ = try await s.deltaSubscribe(.route, ["https"], node: .default)
            h.publish(XDSSnap.base(with: [.route: [:]]))
            let gone = try await s.deltaResponse()
            #expect(gone.removed == ["https"])
            try await s.ack(gone)
            h.publish(XDSSnap.make(XDSSnap.base))
            #expect(try await s.deltaResponse().names == ["https"])
        }
    }

    @Test func istio41494_deltaReconnectRemovals() async throws {
        try await withXDSServer { h in
            let old = try await h.open(XDSPath.deltaADS)
            let held = try await old.deltaSubscribe(.listener, node: .default).versions
            await old.client.close()
            h.publish(XDSSnap.base(with: [.listener: ["https-v2": ""]]))  // https deleted while disconnected
            let fresh = try await h.open(XDSPath.deltaADS)
            try await fresh.send(.delta(.listener, initial: held, node: .default))
            let reply = try await fresh.deltaResponse()
            #expect(reply.names == ["https-v2"])
            #expect(reply.removed == ["https"])
        }
    }

    @Test func gcp875_manyTypesNoDeadlock() async throws {
        let unknown = (0..<12).map { "type.googleapis.com/example.Unknown\($0)" }
        try await withXDSServer { h in
            // One ADS stream: every type and a dozen unknown ones, sent back to back before reading.
            let ads = try await h.open()
            try await ads.send(.sotw(.cluster, node: .default))
            for url in unknown { try await ads.send(.sotw(typeURL: url, ["x"])) }
            try await ads.send(.sotw(.endpoint, ["www"]))
            try await ads.send(.sotw(.secret, ["example.test"]))
            try await ads.send(.sotw(.listener))
            try await ads.send(.sotw(.route, ["https"]))
            let types = try await ads.responses(5).compactMap(\.type)
            #expect(Set(types) == Set(ResourceType.allCases))
            try await ads.expectNoResponse()
            // Same over delta ADS.
            let delta = try await h.open(XDSPath.deltaADS)
            try await delta.send(.delta(.cluster, node: .default))
            for url in unknown { try await delta.send(.delta(typeURL: url, subscribe: ["x"])) }
            for (type, names) in [
                (ResourceType.endpoint, ["www"]), (.secret, ["example.test"]), (.listener, []),
                (.route, ["https"]),
            ] {
                try await delta.send(.delta(type, subscribe: names))
            }
            var deltaTypes: Set<ResourceType> = []
            for _ in 0..<5 { deltaTypes.insert(try #require(try await delta.deltaResponse().type)) }
            #expect(deltaTypes == Set(ResourceType.allCases))
            // Separate streams, opened concurrently on one connection.
            let client = try await h.connect()
            let paths = [XDSPath.clusters, XDSPath.endpoints, XDSPath.listeners, XDSPath.routes, XDSPath.secrets]
            let requests: [XDSRequest] = [
                .sotw(.cluster, node: .default), .sotw(.endpoint, ["www"], node: .default),
                .sotw(.listener, node: .default), .sotw(.route, ["https"], node: .default),
                .sotw(.secret, ["example.test"], node: .default),
            ]
            try await withThrowingTaskGroup(of: ResourceType?.self) { group in
                for (path, request) in zip(paths, requests) {
                    group.addTask {
                        let s = try await XDSStream.open(on: client, path: path)
                        try await s.send(request)
                        return try await s.response().type
                    }
                }
                for url in unknown.prefix(5) {
                    group.addTask {
                        let s = try await XDSStream.open(on: client, path: XDSPath.ads)
                        try await s.send(.sotw(typeURL: url, node: .default))
                        try await s.send(.sotw(.listener))
                        return try await s.response().type
                    }
                }
                var got: [ResourceType] = []
                for try await type in group { if let type { got.append(type) } }
                #expect(got.count == 10)
                #expect(Set(got) == Set(ResourceType.allCases))
            }
        }
    }

    @Test func gcp1323_grpcEmptyListNotWildcard() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            #expect(try await s.subscribe(.cluster, ["www"], node: .grpc("g1323")).names == ["www"])
            #expect(try await s.subscribe(.cluster, []).names.isEmpty)
            h.publish(XDSSnap.base(with: [.cluster: ["www": "2", "dav": "", "dl": ""]]))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "g1323")?.types[.cluster]?.wildcard == false })
        }
    }

    @Test func gcp855_starAmongNamesIsStillWildcard() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            #expect(try await s.subscribe(.cluster, ["www", "*"], node: .default).names == ["dav", "www"])
            h.publish(XDSSnap.base(with: [.cluster: ["www": "", "dav": "", "dl": ""]]))
            #expect(try await s.response().names == ["dav", "dl", "www"])
        }
    }

    @Test func gcp1498_rapidPublishesEndAtTheLatestSnapshot() async throws {
        try await withXDSServer { h in
            let s = try await h.open()
            _ = try await s.subscribe(.listener, node: .default)
            for round in 1...20 { h.publish(XDSSnap.base(with: [.listener: ["https": "r\(round)"]])) }
            let latest = try #require(XDSSnap.base(with: [.listener: ["https": "r20"]]).group("default", mode: .ads))
            // Superseded pushes may or may not be sent, but the stream must end at the latest one and stay there.
            var last = try await s.response(timeout: .seconds(10))
            while last.version != latest[.listener].version { last = try await s.response(timeout: .seconds(10)) }
            try await s.ack(last)
            try await s.expectNoResponse()
        }
    }

    @Test func envoy36169_largeRequestAccepted() async throws {
        // A DiscoveryRequest of more than 4 MiB of names (gRPC's default limit) under the default 64 MiB limit.
        var names = (0..<90_000).map { "cluster-with-a-rather-long-generated-name-\($0)" }
        names.append("www")
        var bytes: [UInt8] = []
        ProtoWire.appendLengthDelimited(field: 2, try ProtoCodec.encode(XDSNode.default.message), to: &bytes)
        for name in names { ProtoWire.appendString(field: 3, name, to: &bytes) }
        ProtoWire.appendString(field: 4, ResourceType.endpoint.typeURL, to: &bytes)
        #expect(bytes.count > 4 << 20)
        var limits = XDSLimits()
        limits.maxNamesPerType = 100_000  // this test is about the message size, not the name limit
        try await withXDSServer(limits: limits) { h in
            let s = try await h.open()
            try await s.raw.send(bytes)
            let reply = try await s.response(timeout: .seconds(20))
            #expect(reply.names == ["www"])
            #expect(await xdsEventually { h.xds.registry.all.first?.types[.endpoint]?.subscribedCount == names.count })
        }
    }

    @Test func grpc5790_namedResponsesStayUnderFourMiB() async throws {
        // Four secrets of 1.5 MiB each: 6 MiB in all, more than a gRPC client accepts in one message.
        let big = String(repeating: "k", count: 3 << 19)
        let secrets = Dictionary(uniqueKeysWithValues: (1...4).map { ("s\($0)", big) })
        try await withXDSServer(XDSSnap.make(XDSSnap.base.merging([.secret: secrets]) { $1 })) { h in
            let s = try await h.open()
            try await s.send(.sotw(.secret, ["s1", "s2", "s3", "s4"], node: .grpc("big-1")))
            var names: [String] = []
            var versions = Set<String>()
            while names.count < 4 {
                let bytes = try await s.nextMessage()
                #expect(bytes.count < 4 << 20, "a response of \(bytes.count) bytes")
                let reply = try SotWReply(decoding: bytes)
                names += reply.names
                versions.insert(reply.version)
            }
            #expect(names.sorted() == ["s1", "s2", "s3", "s4"])
            #expect(versions.count == 1)
        }
    }
}
