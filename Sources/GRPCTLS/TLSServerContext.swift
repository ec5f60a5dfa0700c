import GRPCServer
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization
import X509

extension PeerIdentity {
    /// The URI and DNS SANs of a DER-encoded certificate.
    public static func fromCertificate(der: [UInt8]) throws -> PeerIdentity {
        let certificate = try Certificate(derEncoded: der)
        var identity = PeerIdentity(transport: .tls)
        guard let names = try certificate.extensions.subjectAlternativeNames else { return identity }
        for name in names {
            switch name {
            case .uniformResourceIdentifier(let uri): identity.uris.append(uri)
            case .dnsName(let dns): identity.dnsNames.append(dns)
            default: break
            }
        }
        return identity
    }
}

/// Why the TLS material for the xDS port cannot be used. Never carries key bytes: only which part failed and the
/// library's error code.
public struct TLSSetupError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The server side of mutual TLS for the xDS port: the current `NIOSSLContext`, replaced when the certificate, key
/// or client CA change on disk. New connections take the context current when they are accepted; a connection
/// keeps the one it started with, so a rotation never disturbs an open stream.
public final class TLSServerContext: ConnectionSecurity {
    private let current: Mutex<NIOSSLContext>
    /// Refused handshakes, logged at most once per interval however many a scan or a flood brings.
    private let handshakeLog = RateLimitedLog()

    /// PEM text of the server certificate chain (leaf first), its private key, and the CA certificates that sign
    /// client certificates.
    public init(certificateChain: [UInt8], privateKey: [UInt8], clientCA: [UInt8]) throws(TLSSetupError) {
        current = Mutex(
            try Self.makeContext(certificateChain: certificateChain, privateKey: privateKey, clientCA: clientCA))
    }

    /// Swaps in new material for connections accepted from now on; on error the current context stays.
    public func replace(certificateChain: [UInt8], privateKey: [UInt8], clientCA: [UInt8]) throws(TLSSetupError) {
        let context = try Self.makeContext(
            certificateChain: certificateChain, privateKey: privateKey, clientCA: clientCA)
        current.withLock { $0 = context }
    }

    var context: NIOSSLContext { current.withLock { $0 } }

    public func secure(_ pipeline: ChannelPipeline.SynchronousOperations, peer: ConnectionPeer, logger: Logger) throws {
        // The context current now: a later rotation affects only connections accepted after it.
        try pipeline.addHandler(NIOSSLServerHandler(context: context))
        try pipeline.addHandler(TLSPeerHandler(peer: peer, logger: logger, log: handshakeLog))
    }

    /// TLS 1.2 or 1.3, a client certificate verified against `clientCA` required, ALPN `h2` only.
    static func makeContext(certificateChain: [UInt8], privateKey: [UInt8], clientCA: [UInt8])
        throws(TLSSetupError) -> NIOSSLContext
    {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateChain)
        } catch {
            throw TLSSetupError("server certificate: not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw TLSSetupError("server certificate: the file holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: privateKey, format: .pem)
        } catch {
            // The library's error names the failure only; the key itself is never part of a message.
            throw TLSSetupError("server key: not a readable PEM private key (unencrypted PKCS#8, RSA or EC)")
        }
        let authorities: [NIOSSLCertificate]
        do {
            authorities = try NIOSSLCertificate.fromPEMBytes(clientCA)
        } catch {
            throw TLSSetupError("client CA: not a PEM certificate list (\(error))")
        }
        guard !authorities.isEmpty else { throw TLSSetupError("client CA: the file holds no certificate") }
        var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key),
            trustRoots: .certificates(authorities))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        do {
            // BoringSSL refuses a key that does not belong to the leaf certificate here.
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("cannot build the TLS context (does the key belong to the certificate?): \(error)")
        }
    }
}

/// Sits behind the TLS handler: refuses a peer that did not negotiate ALPN `h2` (nghttp2 expects the HTTP/2
/// preface, and a client that speaks anything else would only see a protocol error), records the verified
/// certificate's names for the connection's streams, and logs refused handshakes (rate-limited, with the peer
/// address only).
final class TLSPeerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let peer: ConnectionPeer
    private let logger: Logger
    private let log: RateLimitedLog
    private var peerAddress = "?"
    /// HTTP/2 bytes pass only once the peer's names are recorded, and never after a refusal (NIOSSL may already
    /// have decrypted the client's first bytes while the connection closes).
    private var verified = false

    init(peer: ConnectionPeer, logger: Logger, log: RateLimitedLog) {
        self.peer = peer
        self.logger = logger
        self.log = log
    }

    func handlerAdded(context: ChannelHandlerContext) {
        peerAddress = describePeer(context.channel.remoteAddress)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard verified else { return }
        context.fireChannelRead(data)
    }

    private func refuse(_ context: ChannelHandlerContext) {
        verified = false
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = tlsEvent {
            guard negotiated == "h2" else {
                log.log(
                    logger, level: .notice, "refusing an xDS connection that did not negotiate ALPN h2",
                    metadata: ["peer": "\(peerAddress)", "alpn": "\(negotiated ?? "none")"])
                refuse(context)
                return
            }
            do {
                guard let certificate = try context.pipeline.syncOperations.nioSSL_peerCertificate() else {
                    throw TLSSetupError("no client certificate")
                }
                peer.identity = try PeerIdentity.fromCertificate(der: certificate.toDERBytes())
            } catch {
                log.log(
                    logger, level: .notice, "refusing an xDS connection whose client certificate cannot be read",
                    metadata: ["peer": "\(peerAddress)", "error": "\(error)"])
                refuse(context)
                return
            }
            verified = true
            logger.debug(
                "TLS handshake completed", metadata: ["peer": "\(peerAddress)", "identity": "\(peer.identity)"])
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            log.log(
                logger, level: .notice, "TLS handshake refused",
                metadata: ["peer": "\(peerAddress)", "error": "\(error)"])
        }
        context.fireErrorCaught(error)
    }
}
