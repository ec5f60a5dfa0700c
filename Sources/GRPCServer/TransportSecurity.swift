import Logging
import NIOCore
import Synchronization

/// How a peer reached the server and, over mutual TLS, what its verified client certificate names.
///
/// The service sees this per stream (`GRPCServerStream.peer`) and decides with it which node group a proxy may take.
public struct PeerIdentity: Hashable, Sendable, CustomStringConvertible {
    public enum Transport: String, Hashable, Sendable {
        /// Plain TCP: anyone who reaches the port.
        case cleartext
        /// TLS with a client certificate the configured CA verified.
        case tls
        /// A Unix domain socket: whoever the socket file's mode lets in.
        case unix
    }

    public var transport: Transport
    /// URI subject alternative names of the client leaf certificate (SPIFFE IDs and the like).
    public var uris: [String]
    /// DNS subject alternative names of the client leaf certificate.
    public var dnsNames: [String]

    public init(transport: Transport, uris: [String] = [], dnsNames: [String] = []) {
        self.transport = transport
        self.uris = uris
        self.dnsNames = dnsNames
    }

    public static let cleartext = PeerIdentity(transport: .cleartext)

    /// For logs: the transport and the names (never anything secret).
    public var description: String {
        guard transport == .tls else { return transport.rawValue }
        let names = uris + dnsNames
        return "tls(\(names.isEmpty ? "no SAN" : names.joined(separator: ",")))"
    }
}

/// One connection's peer identity, filled in when its TLS handshake completes (before any HTTP/2 byte is read).
public final class ConnectionPeer: Sendable {
    private let value: Mutex<PeerIdentity>
    public init(_ identity: PeerIdentity) { value = Mutex(identity) }
    public var identity: PeerIdentity {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// What secures a TCP connection before the gRPC handler sees a byte.
///
/// Mutual TLS lives in the `GRPCTLS` module, which brings an SSL library; this module only knows that something may
/// put handlers in front of the connection handler and fill in the peer's identity. The shipped binary links both;
/// the fuzz targets, which drive this module's connection handler, do not build a second copy of BoringSSL.
public protocol ConnectionSecurity: Sendable {
    /// Adds the handlers that run in front of the gRPC connection handler of a newly accepted channel; a completed
    /// handshake records the verified identity in `peer`.
    func secure(_ pipeline: ChannelPipeline.SynchronousOperations, peer: ConnectionPeer, logger: Logger) throws
}
