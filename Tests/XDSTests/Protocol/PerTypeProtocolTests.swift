import GRPCServer
import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// The per-type services (`StreamClusters`, `DeltaClusters`, …): the type is implicit, another type is an error.
@Suite("Protocol: per-type services")
struct PerTypeProtocolTests {
    @Test func streamClustersServesClustersWithoutTypeURL() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.clusters)
            try await s.send(.sotw(typeURL: "", node: .envoy("cds-1")))
            let reply = try await s.response()
            #expect(reply.typeURL == ResourceType.cluster.typeURL)
            #expect(reply.names == ["dav", "www"])
            #expect(await xdsEventually { h.info(node: "cds-1")?.kind == "clusters" })
        }
    }

    @Test func streamClustersWithTheRightTypeURLAcksAndUpdates() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.clusters)
            let first = try await s.subscribe(.cluster, node: .default)
            try await s.expectNoResponse()
            h.publish(XDSSnap.base(with: [.cluster: ["www": "2", "dav": ""]]))
            let second = try await s.response()
            #expect(second.version != first.version)
            #expect(second.names == ["dav", "www"])
        }
    }

    @Test func perTypeClusterUpdateAlsoUsesThePerTypeSnapshot() async throws {
        // Each mode has its own snapshot: a per-type stream must read `.perTypeSotW`, never `.ads`.
        var groups = XDSSnap.make(XDSSnap.base).groups
        let onlyPerType = SnapshotFactory.group([.cluster: ["per-type": ""]])
        groups[GroupKey(group: "default", mode: .perTypeSotW)] =
            GroupSnapshot(group: "default", mode: .perTypeSotW, types: onlyPerType.types)
        try await withXDSServer(Snapshot(groups: groups)) { h in
            let perType = try await h.open(XDSPath.clusters)
            #expect(try await perType.subscribe(.cluster, node: .default).names == ["per-type"])
            let ads = try await h.open(XDSPath.ads)
            #expect(try await ads.subscribe(.cluster, node: .default).names == ["dav", "www"])
        }
    }

    @Test(arguments: [
        (XDSPath.clusters, ResourceType.listener), (XDSPath.listeners, .cluster), (XDSPath.endpoints, .route),
        (XDSPath.routes, .secret), (XDSPath.secrets, .endpoint),
    ])
    func sotwTypeURLMismatchIsInvalidArgument(path: String, other: ResourceType) async throws {
        try await withXDSServer { h in
            let s = try await h.open(path)
            try await s.send(.sotw(other, ["x"], node: .default))
            let end = try await s.end()
            #expect(end.code == .invalidArgument)
            #expect(end.message.contains(other.typeURL))
            await h.expectNoLeaks()
        }
    }

    @Test func typeURLMismatchLaterOnAWorkingStreamIsInvalidArgument() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.clusters)
            _ = try await s.subscribe(.cluster, node: .default)
            try await s.send(.sotw(.endpoint, ["www"]))
            #expect(try await s.end().code == .invalidArgument)
        }
    }

    @Test func namedPerTypeServicesAnswerByName() async throws {
        try await withXDSServer(XDSSnap.site) { h in
            let endpoints = try await h.open(XDSPath.endpoints)
            #expect(try await endpoints.subscribe(.endpoint, ["www", "dl"], node: .default).names == ["dl", "www"])
            let routes = try await h.open(XDSPath.routes)
            #expect(try await routes.subscribe(.route, ["https"], node: .default).names == ["https"])
            let secrets = try await h.open(XDSPath.secrets)
            #expect(try await secrets.subscribe(.secret, ["example.test"], node: .default).names == ["example.test"])
            let listeners = try await h.open(XDSPath.listeners)
            #expect(try await listeners.subscribe(.listener, node: .default).names == ["http", "https", "ssh"])
        }
    }

    @Test func perTypeEndpointsAreResentAfterClusterUpdateOnlyOnADS() async throws {
        // On a per-type EDS stream there is no cluster on the same stream: a cluster change sends nothing there.
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.endpoints)
            _ = try await s.subscribe(.endpoint, ["www"], node: .default)
            h.publish(XDSSnap.base(with: [.cluster: ["www": "changed", "dav": ""]]))
            try await s.expectNoResponse()
        }
    }

    @Test func deltaClustersIsWildcardByDefault() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.deltaClusters)
            try await s.send(.delta(typeURL: "", node: .envoy("dcds")))
            let reply = try await s.deltaResponse()
            #expect(reply.typeURL == ResourceType.cluster.typeURL)
            #expect(reply.names == ["dav", "www"])
            #expect(await xdsEventually { h.info(node: "dcds")?.kind == "clusters-delta" })
            try await s.ack(reply)
            h.publish(XDSSnap.base(with: [.cluster: ["www": ""]]))
            let removal = try await s.deltaResponse()
            #expect(removal.removed == ["dav"])
        }
    }

    @Test func deltaTypeURLMismatchIsInvalidArgument() async throws {
        try await withXDSServer { h in
            let clusters = try await h.open(XDSPath.deltaClusters)
            try await clusters.send(.delta(.listener, node: .default))
            #expect(try await clusters.end().code == .invalidArgument)
            let secrets = try await h.open(XDSPath.deltaSecrets)
            try await secrets.send(.delta(.secret, subscribe: ["example.test"], node: .default))
            #expect(try await secrets.deltaResponse().names == ["example.test"])
            try await secrets.send(.delta(.cluster, subscribe: ["www"]))
            #expect(try await secrets.end().code == .invalidArgument)
            await h.expectNoLeaks()
        }
    }

    @Test func clientHalfCloseEndsTheStreamOK() async throws {
        try await withXDSServer { h in
            let s = try await h.open(XDSPath.clusters)
            _ = try await s.subscribe(.cluster, node: .default)
            try await s.finish()
            #expect(try await s.end().code == .ok)
            await h.expectNoLeaks()
        }
    }
}
