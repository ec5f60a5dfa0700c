import GRPCServer
import Snapshot
import Testing
import Vocabulary

@testable import XDS

/// Identity patterns, the rule that ties a client certificate to a group, and the group decision at stream start.
@Suite struct EntitlementTests {
    func pattern(_ text: String) throws -> IdentityPattern { try IdentityPattern.parse(text).get() }

    @Test func dnsWildcardMatchesWithinOneLabelOnly() throws {
        let edge = try pattern("edge-*.example.org")
        #expect(edge.matches(uris: [], dnsNames: ["edge-1.example.org"]))
        #expect(edge.matches(uris: [], dnsNames: ["EDGE-eu.Example.ORG"]))
        #expect(edge.matches(uris: [], dnsNames: ["edge-.example.org"]))
        #expect(!edge.matches(uris: [], dnsNames: ["edge-1.eu.example.org"]))
        #expect(!edge.matches(uris: [], dnsNames: ["web-1.example.org"]))
        #expect(!edge.matches(uris: [], dnsNames: ["edge-1.example.org.evil.test"]))
        // A DNS pattern never matches a URI SAN.
        #expect(!edge.matches(uris: ["edge-1.example.org"], dnsNames: []))
        let exact = try pattern("proxy.example.org")
        #expect(exact.matches(uris: [], dnsNames: ["proxy.example.org"]))
        #expect(!exact.matches(uris: [], dnsNames: ["xproxy.example.org"]))
    }

    @Test func uriPatternsAreExactOrPrefix() throws {
        let exact = try pattern("spiffe://example.org/edge")
        #expect(exact.matches(uris: ["spiffe://example.org/edge"], dnsNames: []))
        #expect(!exact.matches(uris: ["spiffe://example.org/edge2"], dnsNames: []))
        #expect(!exact.matches(uris: [], dnsNames: ["spiffe://example.org/edge"]))
        let prefix = try pattern("spiffe://example.org/ns/edge/*")
        #expect(prefix.matches(uris: ["spiffe://example.org/ns/edge/sa/envoy"], dnsNames: []))
        #expect(!prefix.matches(uris: ["spiffe://example.org/ns/web/sa/envoy"], dnsNames: []))
    }

    @Test func badPatternsAreRefusedWithAReason() {
        for text in [
            "", "edge", "*.*.example.org", "a.*.example.org", "edge-**.example.org", "spiffe://x/*/y", "a..b",
            "has space.example.org", "edge_ü.example.org",
        ] {
            guard case .failure(let error) = IdentityPattern.parse(text) else {
                Issue.record("\"\(text)\" was accepted")
                continue
            }
            #expect(!error.description.isEmpty)
        }
    }

    @Test func certificatesNeedAMatchingIdentityPlaintextDoesNot() throws {
        let identities = ["edge": [try pattern("spiffe://example.org/edge")], "open": [try pattern("*")]]
        let edge = PeerIdentity(transport: .tls, uris: ["spiffe://example.org/edge"])
        let other = PeerIdentity(transport: .tls, uris: ["spiffe://example.org/other"], dnsNames: ["other.test"])
        #expect(Entitlement.allows(edge, group: "edge", identities: identities))
        #expect(!Entitlement.allows(other, group: "edge", identities: identities))
        // A group without identities is closed to certificate-authenticated proxies; "*" opens one to all of them.
        #expect(!Entitlement.allows(edge, group: "plain", identities: identities))
        #expect(Entitlement.allows(other, group: "open", identities: identities))
        // No certificate, no identity to check: cleartext and the Unix socket keep today's rule.
        #expect(Entitlement.allows(.cleartext, group: "edge", identities: identities))
        #expect(Entitlement.allows(PeerIdentity(transport: .unix), group: "edge", identities: identities))
    }

    @Test func theGroupDecisionRefusesAnUnentitledCertificate() throws {
        let groups = ["edge", "web"].flatMap { name in
            ConfigSourceMode.allCases.map { mode in
                (GroupKey(group: name, mode: mode), GroupSnapshot(group: name, mode: mode, types: [:]))
            }
        }
        let snapshot = Snapshot(
            groups: Dictionary(uniqueKeysWithValues: groups),
            identities: ["edge": [try pattern("edge-*.example.org")]])
        let store = SnapshotStore()
        store.publish(snapshot)
        let server = XDSServer(store: store, logger: .init(label: "test"))
        let edgeNode = NodeInfo(id: "e1", cluster: "edge")
        let webNode = NodeInfo(id: "w1", cluster: "web")
        let edgeCert = PeerIdentity(transport: .tls, dnsNames: ["edge-1.example.org"])
        let otherCert = PeerIdentity(transport: .tls, dnsNames: ["other.example.org"])

        #expect((try? server.snapshot(for: edgeNode, mode: .ads, peer: edgeCert).get())?.0.group == "edge")
        for (node, peer) in [(edgeNode, otherCert), (webNode, edgeCert)] {
            guard case .failure(let status) = server.snapshot(for: node, mode: .ads, peer: peer) else {
                Issue.record("\(peer) got group \(node.cluster)")
                continue
            }
            #expect(status.code == .permissionDenied)
            #expect(status.message.contains("\"\(node.cluster)\""))
        }
        // The same node over cleartext is served as before.
        #expect((try? server.snapshot(for: webNode, mode: .ads, peer: .cleartext).get())?.0.group == "web")
    }

    @Test func unknownSecretsAreNotedOncePerNameAndBounded() {
        let secrets = TypeSnapshot(type: .secret, resources: [:])
        var notes = SecretRequests()
        #expect(notes.unknown(["a", "b", "*"], secrets: secrets) == ["a", "b"])
        #expect(notes.unknown(["a", "b", "c"], secrets: secrets) == ["c"])
        let many = (0..<100).map { "n\($0)" }
        #expect(notes.unknown(many, secrets: secrets).count == SecretRequests.limit - 3)
        #expect(notes.unknown(["later"], secrets: secrets).isEmpty)
    }

    @Test func identitiesChangeTheSnapshotVersionOnlyWhenDeclared() throws {
        let plain = Snapshot(groups: [:])
        #expect(plain.version == Snapshot(groups: [:], identities: [:]).version)
        let with = plain.with(identities: ["edge": [try pattern("*")]])
        #expect(with.version != plain.version)
    }
}
