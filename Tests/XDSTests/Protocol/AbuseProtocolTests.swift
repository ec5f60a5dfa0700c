import GRPCServer
import NIOCore
import Protobuf
import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// Runs one abuse against a fresh server, then checks it still serves a well-behaved ADS client and leaks nothing.
func abuse(
    configuration: GRPCServerConfiguration = .init(), limits: XDSLimits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (XDSHarness) async throws -> Void
) async throws {
    try await withXDSServer(configuration: configuration, limits: limits) { h in
        try await body(h)
        try await h.expectServesFreshClient(sourceLocation: sourceLocation)
        await h.expectNoLeaks(sourceLocation: sourceLocation)
    }
}

/// Wire-level abuse of the running server, each with its defined outcome (docs/PROTOCOL.md §4).
@Suite("Protocol: wire-level abuse")
struct AbuseProtocolTests {
    static let clusterRequest = XDSRequest.sotw(.cluster, node: .default)

    @Test func truncatedMessageThenEndStreamIsInternal() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.raw.sendRaw(Array(H2.grpcMessage(Self.clusterRequest.bytes).prefix(9)), endStream: true)
            let end = try await s.end()
            #expect(end.code == .internalError)
            #expect(end.message.contains("truncated"))
        }
    }

    @Test func lengthPrefixLargerThanTheDataWaitsThenFailsAtEndStream() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.raw.sendRaw([0, 0, 0, 1, 0] + Array(repeating: 0x0A, count: 10))  // says 256, sends 10
            try await s.expectNoResponse()
            try await s.finish()
            #expect(try await s.end().code == .internalError)
        }
    }

    @Test func compressedFlagIsUnimplementedWithAcceptEncoding() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.raw.send(Self.clusterRequest.bytes, compressed: true)
            let end = try await s.end()
            #expect(end.code == .unimplemented)
            #expect(end.field("grpc-accept-encoding") == "identity")
        }
    }

    @Test func reservedFlagBitsAreInternal() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.raw.sendRaw([0x80, 0, 0, 0, 0])
            #expect(try await s.end().code == .internalError)
        }
    }

    @Test func grpcEncodingHeaderIsUnimplemented() async throws {
        try await abuse { h in
            let s = try await h.open(extraHeaders: [("grpc-encoding", "gzip")])
            let end = try await s.end()
            #expect(end.code == .unimplemented)
            #expect(end.field("grpc-accept-encoding") == "identity")
        }
    }

    @Test func garbageProtobufIsInvalidArgument() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.raw.send([0x0A, 0x7F, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
            let end = try await s.end()
            #expect(end.code == .invalidArgument)
            #expect(end.message.contains("malformed DiscoveryRequest"))
        }
    }

    @Test func validProtobufOfTheWrongMessageTypeIsInvalidArgument() async throws {
        try await abuse { h in
            let s = try await h.open()
            // A delta request on the SotW ADS method: its node lands in version_info, its type_url in node.
            try await s.send(.delta(.cluster, subscribe: ["www"], node: .default))
            #expect(try await s.end().code == .invalidArgument)
        }
    }

    @Test func invalidUTF8InAResourceNameIsInvalidArgument() async throws {
        try await abuse { h in
            let s = try await h.open()
            var bytes: [UInt8] = []
            ProtoWire.appendLengthDelimited(field: 2, try ProtoCodec.encode(XDSNode.default.message), to: &bytes)
            ProtoWire.appendLengthDelimited(field: 3, [0xC3, 0x28, 0xFF], to: &bytes)
            ProtoWire.appendString(field: 4, ResourceType.endpoint.typeURL, to: &bytes)
            try await s.raw.send(bytes)
            #expect(try await s.end().code == .invalidArgument)
        }
    }

    @Test func unknownTypeURLOnADSGetsNoResponseAndTheStreamStaysUsable() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.send(
                .sotw(
                    typeURL: "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", ["x"],
                    node: .default))
            try await s.send(.sotw(typeURL: "not even a url"))
            try await s.expectNoResponse()
            #expect(try await s.subscribe(.cluster).names == ["dav", "www"])
        }
    }

    @Test func unknownMethodIsUnimplementedTrailersOnly() async throws {
        try await abuse { h in
            let s = try await h.open("/envoy.service.discovery.v3.AggregatedDiscoveryService/NoSuchMethod")
            let first = try await s.raw.next(timeout: .seconds(5))
            guard case .trailers(let status, let fields)? = first else {
                Issue.record("expected Trailers-Only, got \(String(describing: first))")
                return
            }
            #expect(status.code == .unimplemented)
            #expect(status.message.contains("NoSuchMethod"))
            #expect(fields.contains { $0.0 == ":status" && $0.1 == "200" })
        }
    }

    @Test func wrongContentTypeIs415InvalidArgument() async throws {
        try await abuse { h in
            let s = try await h.open(contentType: "application/json")
            let end = try await s.end()
            #expect(end.code == .invalidArgument)
            #expect(end.field(":status") == "415")
        }
    }

    @Test func malformedGrpcTimeoutIsInvalidArgument() async throws {
        try await abuse { h in
            let s = try await h.open(extraHeaders: [("grpc-timeout", "forever")])
            #expect(try await s.end().code == .invalidArgument)
        }
    }

    @Test func randomNonceIsIgnoredAndNotRecorded() async throws {
        try await abuse { h in
            let s = try await h.open()
            let reply = try await s.subscribe(.cluster, node: .envoy("rand"))
            try await s.send(.sotw(.cluster, version: "v-made-up", nonce: "\(UInt64.random(in: 1...UInt64.max))x"))
            try await s.expectNoResponse()
            // The real ACK (sent by subscribe) is recorded; the made-up version never is.
            #expect(await xdsEventually { h.info(node: "rand")?.types[.cluster]?.ackedVersion == reply.version })
        }
    }

    @Test func nackWithAnUnknownNonceIsNotRecorded() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.send(.sotw(.cluster, node: .envoy("nn")))
            _ = try await s.response()
            try await s.send(.sotw(.cluster, nonce: "no-such-nonce", nack: "???"))
            try await s.expectNoResponse()
            #expect(await xdsEventually { h.info(node: "nn")?.types[.cluster]?.nackedVersion == nil })
        }
    }

    @Test func emptyMessageFirstIsInvalidArgumentNoNode() async throws {
        try await abuse { h in
            let first = try await h.open()
            try await first.raw.send([])
            #expect(try await first.end().code == .invalidArgument)
            let later = try await h.open()
            _ = try await later.subscribe(.cluster, node: .default)
            try await later.raw.send([])  // no type_url on ADS
            #expect(try await later.end().code == .invalidArgument)
        }
    }

    @Test func messageOverTheReceiveLimitIsResourceExhausted() async throws {
        var configuration = GRPCServerConfiguration()
        configuration.maxReceiveMessageBytes = 1024
        try await abuse(configuration: configuration) { h in
            let s = try await h.open()
            try await s.send(.sotw(.endpoint, (0..<200).map { "endpoint-\($0)" }, node: .default))
            let end = try await s.end()
            #expect(end.code == .resourceExhausted)
            #expect(end.message.contains("larger than max"))
        }
    }

    @Test func thousandStreamsOnOneConnection() async throws {
        // Above the default of 100 streams per connection (LimitsProtocolTests covers that limit).
        var configuration = GRPCServerConfiguration()
        configuration.maxConcurrentStreams = 1000
        try await abuse(configuration: configuration) { h in
            let client = try await h.connect()
            var streams: [XDSStream] = []
            for _ in 0..<1000 {
                let s = try await XDSStream.open(on: client)
                try await s.send(Self.clusterRequest)
                streams.append(s)
            }
            var answered = 0
            for s in streams {
                if try await s.response(timeout: .seconds(10)).names == ["dav", "www"] { answered += 1 }
            }
            #expect(answered == 1000)
            #expect(h.xds.registry.count == 1000)
            await client.close()
        }
    }

    @Test func abruptDisconnectMidStreamAndMidMessage() async throws {
        try await abuse { h in
            let whole = try await h.open()
            _ = try await whole.subscribe(.cluster, node: .default)
            let partial = try await h.open()
            try await partial.raw.sendRaw(Array(H2.grpcMessage(Self.clusterRequest.bytes).prefix(12)))
            #expect(await xdsEventually { h.server.activeStreamCount == 2 })
            await whole.client.close()
            await partial.client.close()
            #expect(await xdsEventually { h.server.activeStreamCount == 0 && h.xds.registry.count == 0 })
        }
    }

    @Test func rstStreamFromTheClientFreesTheStreamAndKeepsTheConnection() async throws {
        try await abuse { h in
            let client = try await h.connect()
            let s = try await XDSStream.open(on: client)
            _ = try await s.subscribe(.cluster, node: .default)
            #expect(h.xds.registry.count == 1)
            await s.raw.reset()
            #expect(await xdsEventually { h.xds.registry.count == 0 && h.server.activeStreamCount == 0 })
            let again = try await XDSStream.open(on: client)
            #expect(try await again.subscribe(.cluster, node: .default).names == ["dav", "www"])
        }
    }

    @Test func halfCloseImmediatelyEndsOK() async throws {
        try await abuse { h in
            let s = try await h.open()
            try await s.finish()
            let end = try await s.end()
            #expect(end.code == .ok)
            #expect(h.xds.registry.count == 0)
        }
    }

    @Test func requestsAfterTheServerSentTrailersAreHarmless() async throws {
        try await abuse { h in
            let client = try await h.connect()
            let s = try await XDSStream.open(on: client)
            try await s.send(.sotw(.cluster))  // no node
            #expect(try await s.end().code == .invalidArgument)
            for _ in 0..<20 { try? await s.raw.send(Self.clusterRequest.bytes) }
            try? await s.finish()
            // The same connection still serves a new stream.
            let next = try await XDSStream.open(on: client)
            #expect(try await next.subscribe(.cluster, node: .default).names == ["dav", "www"])
        }
    }

    @Test func requestSentOneByteAtATimeIsServed() async throws {
        try await abuse { h in
            let s = try await h.open()
            for byte in H2.grpcMessage(Self.clusterRequest.bytes) { try await s.raw.sendRaw([byte]) }
            #expect(try await s.response().names == ["dav", "www"])
        }
    }
}
