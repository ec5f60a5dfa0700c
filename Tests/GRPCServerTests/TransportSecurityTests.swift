import Crypto
import Foundation
import GRPCClient
import Logging
import NIOSSL
import Testing
import X509

@testable import GRPCServer
@testable import GRPCTLS

/// Mutual TLS on the server: who gets a stream, what the stream learns of its peer, and how rotation behaves.
@Suite struct TransportSecurityTests {
    /// A CA, and PEM certificates plus keys it signs.
    struct Authority {
        let key = P256.Signing.PrivateKey()
        let name: DistinguishedName
        let pem: String

        init(_ commonName: String) throws {
            name = try DistinguishedName { CommonName(commonName) }
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: Date() - 3600, notValidAfter: Date() + 86400, issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    KeyUsage(keyCertSign: true)
                }, issuerPrivateKey: .init(key))
            pem = try certificate.serializeAsPEM().pemString
        }

        /// A leaf for these names; returns (certificate PEM, key PEM).
        func issue(_ names: [GeneralName], serial: Int = 7) throws -> (String, String) {
            let leafKey = P256.Signing.PrivateKey()
            let subject = try DistinguishedName { CommonName("leaf") }
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(bytes: [UInt8(serial)]), publicKey: .init(leafKey.publicKey),
                notValidBefore: Date() - 3600, notValidAfter: Date() + 86400, issuer: name, subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions { SubjectAlternativeNames(names) },
                issuerPrivateKey: .init(key))
            return (try certificate.serializeAsPEM().pemString, leafKey.pemRepresentation)
        }
    }

    static let edgeID = "spiffe://example.org/edge"

    /// A server with mutual TLS over `TestService`; `body` gets the port, the service and the server's material.
    func withTLSServer(
        _ body: (Int, TestService, Authority, TLSServerContext) async throws -> Void
    ) async throws {
        let ca = try Authority("test CA")
        let (serverCertificate, serverKey) = try ca.issue([.dnsName("xds.test")])
        let context = try TLSServerContext(
            certificateChain: Array(serverCertificate.utf8), privateKey: Array(serverKey.utf8),
            clientCA: Array(ca.pem.utf8))
        let service = TestService()
        var logger = Logger(label: "tls-test")
        logger.logLevel = .critical
        let server = GRPCServer(service: service, group: testGroup, logger: logger, tls: context)
        let port = try await server.start(host: "127.0.0.1", port: 0)
        do {
            try await body(port, service, ca, context)
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    func clientContext(
        trusting ca: Authority, certificate: (String, String)?, alpn: [String] = ["h2"]
    ) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.pem.utf8)))
        configuration.applicationProtocols = alpn
        if let (certificate, key) = certificate {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map {
                .certificate($0)
            }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Opens an echo stream and returns its events (bounded); a refused connection gives no message.
    func echo(port: Int, context: NIOSSLContext) async -> [GRPCClientEvent] {
        do {
            let client = try await GRPCClient.connect(
                host: "127.0.0.1", port: port, tls: context, serverHostname: "xds.test", group: testGroup)
            defer { Task { await client.close() } }
            let stream = try await client.openStream(path: TestPath.echo)
            try await stream.send([1, 2, 3])
            try await stream.finishSending()
            return try await drain(stream, timeout: .seconds(10))
        } catch {
            return []
        }
    }

    @Test func theStreamKnowsTheVerifiedCertificateNames() async throws {
        try await withTLSServer { port, service, ca, _ in
            let edge = try ca.issue([.uniformResourceIdentifier(Self.edgeID), .dnsName("edge-1.example.org")])
            let events = await echo(port: port, context: try clientContext(trusting: ca, certificate: edge))
            #expect(events.messages == [[1, 2, 3]])
            let peer = try #require(service.log.lastStream.withLock { $0 }?.peer)
            #expect(peer == PeerIdentity(transport: .tls, uris: [Self.edgeID], dnsNames: ["edge-1.example.org"]))
        }
    }

    @Test func noCertificateAStrangersCertificateOrNoH2GetNoStream() async throws {
        try await withTLSServer { port, service, ca, _ in
            let stranger = try Authority("stranger CA")
            let edge = try ca.issue([.uniformResourceIdentifier(Self.edgeID)])
            for context in [
                try clientContext(trusting: ca, certificate: nil),
                try clientContext(
                    trusting: ca, certificate: try stranger.issue([.uniformResourceIdentifier(Self.edgeID)])),
                try clientContext(trusting: ca, certificate: edge, alpn: ["http/1.1"]),
            ] {
                #expect(await echo(port: port, context: context).messages.isEmpty)
            }
            #expect(service.log.opens == 0)
            // The same client with h2 and the right certificate is served: the refusals above were about TLS.
            #expect(
                await echo(port: port, context: try clientContext(trusting: ca, certificate: edge)).messages.count == 1)
        }
    }

    @Test func rotationServesNewConnectionsAndBrokenMaterialKeepsTheOld() async throws {
        try await withTLSServer { port, _, ca, context in
            let edge = try clientContext(
                trusting: ca, certificate: try ca.issue([.uniformResourceIdentifier(Self.edgeID)]))
            let before = context.context
            // A key that belongs to another certificate, and text that is no key at all: refused, context kept.
            let (certificate, _) = try ca.issue([.dnsName("xds.test")], serial: 8)
            let (_, otherKey) = try ca.issue([.dnsName("xds.test")], serial: 9)
            for key in [otherKey, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"] {
                #expect(throws: TLSSetupError.self) {
                    try context.replace(
                        certificateChain: Array(certificate.utf8), privateKey: Array(key.utf8),
                        clientCA: Array(ca.pem.utf8))
                }
                do {
                    try context.replace(
                        certificateChain: Array(certificate.utf8), privateKey: Array(key.utf8),
                        clientCA: Array(ca.pem.utf8))
                } catch {
                    #expect(!"\(error)".contains("c2VjcmV0"))
                    #expect(!"\(error)".contains(String(otherKey.dropFirst(30).prefix(20))))
                }
                #expect(context.context === before)
            }
            #expect(await echo(port: port, context: edge).messages.count == 1)
            let (newCertificate, newKey) = try ca.issue([.dnsName("xds.test")], serial: 10)
            try context.replace(
                certificateChain: Array(newCertificate.utf8), privateKey: Array(newKey.utf8),
                clientCA: Array(ca.pem.utf8))
            #expect(context.context !== before)
            #expect(await echo(port: port, context: edge).messages.count == 1)
        }
    }
}
