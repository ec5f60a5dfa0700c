import GRPCServer
import Vocabulary

/// Whether a peer may take a node group: the rule that ties client certificates to groups (docs/ROUTES.md).
///
/// Over mutual TLS a proxy gets a group only when its certificate matches one of the group's `identities:`
/// patterns; a group without `identities` is closed to certificate-authenticated proxies (secrets are private keys,
/// so nothing is handed out by default; `identities: ["*"]` opens a group to every certificate the client CA
/// signed). Over cleartext TCP and the Unix socket there is no identity to check: reaching the port or the socket
/// file is the authorization, as before.
public enum Entitlement {
    public static func allows(
        _ peer: PeerIdentity, group: String, identities: [String: [IdentityPattern]]
    ) -> Bool {
        guard peer.transport == .tls else { return true }
        guard let patterns = identities[group] else { return false }
        return patterns.contains { $0.matches(uris: peer.uris, dnsNames: peer.dnsNames) }
    }

    /// The groups `peer` may take, for the refusal message (names only, never content).
    static func entitledGroups(_ peer: PeerIdentity, known: [String], identities: [String: [IdentityPattern]])
        -> [String]
    {
        known.filter { allows(peer, group: $0, identities: identities) }
    }
}
