import Testing

@testable import Protobuf

@Suite struct CodecTests {
    @Test(arguments: Fixtures.all.map(\.0))
    func realEnvoyMessagesRoundTrip(_ name: String) throws {
        let message = Fixtures.all.first { $0.0 == name }!.1
        let bytes = try ProtoCodec.encode(message)
        #expect(!bytes.isEmpty)
        let decoded = try ProtoCodec.decode(message.typeName, from: bytes)
        #expect(decoded == message)
        #expect(try ProtoCodec.encode(decoded) == bytes, "encoding is deterministic")
    }

    @Test func anyFieldsDecodeToTheirPackedType() throws {
        let decoded = try ProtoCodec.decode(Fixtures.listener.typeName, from: ProtoCodec.encode(Fixtures.listener))
        let chain = try #require(decoded["filter_chains"]?.listValue?.first?.messageValue)
        let filter = try #require(chain["filters"]?.listValue?.first?.messageValue)
        let hcm = try #require(filter["typed_config"]?.anyValue)
        #expect(hcm.typeName == Fixtures.hcm)
        #expect(hcm["codec_type"] == .enumValue("HTTP2"))
        #expect(hcm["xff_num_trusted_hops"] == .int(1))
    }

    @Test func mapOfAnyRoundTrips() throws {
        let decoded = try ProtoCodec.decode(Fixtures.cluster.typeName, from: ProtoCodec.encode(Fixtures.cluster))
        let options = try #require(decoded["typed_extension_protocol_options"]?.mapValue)
        #expect(options.keys.sorted() == ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"])
        #expect(options.values.first?.anyValue?.typeName == "envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
    }

    @Test func mapEntryWithEmptyValueKeepsItsKey() throws {
        let decoded = try ProtoCodec.decode(
            Fixtures.deltaRequest.typeName, from: ProtoCodec.encode(Fixtures.deltaRequest))
        #expect(decoded["initial_resource_versions"]?.mapValue?["empty"] == .string(""))
    }

    @Test func zeroScalarsAreOmittedButOneofMembersStay() throws {
        let message = ProtoMessage(
            "envoy.config.core.v3.SocketAddress",
            [
                "address": .string(""), "port_value": .int(0), "ipv4_compat": .bool(false),
                "protocol": .enumValue("TCP"),
            ])
        let decoded = try ProtoCodec.decode(message.typeName, from: ProtoCodec.encode(message))
        #expect(decoded.fields == ["port_value": .int(0)])
    }

    @Test func oneofConflictThrows() {
        let message = ProtoMessage("envoy.config.route.v3.RouteMatch", ["prefix": .string("/"), "path": .string("/x")])
        #expect { try ProtoCodec.encode(message) } throws: { error in
            let e = error as? ProtoError
            return e?.code == .typeMismatch && e?.reason.contains("oneof") == true
        }
    }

    @Test func enumsByNameOrNumber() throws {
        let byName = ProtoMessage("envoy.config.cluster.v3.Cluster", ["lb_policy": .enumValue("RING_HASH")])
        let byNumber = ProtoMessage("envoy.config.cluster.v3.Cluster", ["lb_policy": .int(2)])
        #expect(try ProtoCodec.encode(byName) == ProtoCodec.encode(byNumber))
        #expect(
            try ProtoCodec.decode(byName.typeName, from: ProtoCodec.encode(byNumber))["lb_policy"]
                == .enumValue("RING_HASH"))
        // An enum number this build does not know survives as a number.
        let unknown = ProtoMessage("envoy.config.cluster.v3.Cluster", ["lb_policy": .int(99)])
        #expect(try ProtoCodec.decode(unknown.typeName, from: ProtoCodec.encode(unknown))["lb_policy"] == .int(99))
    }

    @Test func repeatedScalarsAndMessagesKeepOrder() throws {
        let names: [ProtoValue] = ["c", "a", "b"].map { .string($0) }
        let message = ProtoMessage("envoy.service.discovery.v3.DiscoveryRequest", ["resource_names": .list(names)])
        #expect(
            try ProtoCodec.decode(message.typeName, from: ProtoCodec.encode(message))["resource_names"] == .list(names))
    }

    @Test func sixtyFourBitValuesSurvive() throws {
        let big = ProtoMessage("google.protobuf.UInt64Value", ["value": .int(Int64(bitPattern: UInt64.max))])
        #expect(try ProtoCodec.decode(big.typeName, from: ProtoCodec.encode(big)) == big)
        let negative = ProtoMessage("google.protobuf.Duration", ["seconds": .int(-5), "nanos": .int(-1)])
        #expect(try ProtoCodec.decode(negative.typeName, from: ProtoCodec.encode(negative)) == negative)
    }

    @Test func unknownAnyTypeStaysRaw() throws {
        let raw = ProtoMessage(
            "google.protobuf.Any",
            [
                "type_url": .string("type.googleapis.com/some.other.Thing"), "value": .bytes([8, 1]),
            ])
        let status = ProtoMessage("google.rpc.Status", ["details": .list([.message(raw)])])
        let decoded = try ProtoCodec.decode(status.typeName, from: ProtoCodec.encode(status))
        #expect(decoded["details"] == .list([.message(raw)]))
    }

    @Test func unknownFieldsOnTheWireAreSkipped() throws {
        var bytes = try ProtoCodec.encode(ProtoMessage("envoy.config.core.v3.Locality", ["zone": .string("z")]))
        ProtoWire.appendString(field: 99, "future", to: &bytes)
        ProtoWire.appendVarintField(field: 100, 7, to: &bytes)
        #expect(try ProtoCodec.decode("envoy.config.core.v3.Locality", from: bytes).fields == ["zone": .string("z")])
    }

    @Test func encodeRejectsUnknownFieldsAndWrongKinds() {
        func code(_ message: ProtoMessage) -> (ProtoError.Code, String)? {
            do { _ = try ProtoCodec.encode(message); return nil } catch let e as ProtoError {
                return (e.code, e.path)
            } catch { return nil }
        }
        let listener = "envoy.config.listener.v3.Listener"
        #expect(code(ProtoMessage(listener, ["nmae": .string("x")]))! == (.unknownField, "\(listener).nmae"))
        #expect(code(ProtoMessage(listener, ["name": .int(1)]))! == (.typeMismatch, "\(listener).name"))
        #expect(code(ProtoMessage(listener, ["filter_chains": .string("x")]))?.0 == .typeMismatch)
        #expect(
            code(ProtoMessage(listener, ["address": .message(ProtoMessage("envoy.config.core.v3.Pipe"))]))?.0
                == .typeMismatch)
        #expect(
            code(ProtoMessage("envoy.config.cluster.v3.Cluster", ["lb_policy": .enumValue("NOPE")]))?.0 == .typeMismatch
        )
        #expect(code(ProtoMessage("envoy.config.core.v3.Pipe", ["mode": .int(-1)]))?.0 == .typeMismatch)
        #expect(code(ProtoMessage("no.such.Type"))?.0 == .unknownType)
        // Errors deep inside an Any still name the inner type and field.
        let nested = ProtoMessage(
            "envoy.config.listener.v3.Filter",
            [
                "typed_config": .any(ProtoMessage(Fixtures.hcm, ["stat_prefix": .bool(true)]))
            ])
        #expect(code(nested)! == (.typeMismatch, "\(Fixtures.hcm).stat_prefix"))
    }

    @Test func garbageAndTruncatedBytesThrow() throws {
        let bytes = try ProtoCodec.encode(Fixtures.discoveryRequest)
        var failures = 0
        for cut in stride(from: 1, to: bytes.count, by: 3) {
            do {
                _ = try ProtoCodec.decode(Fixtures.discoveryRequest.typeName, from: Array(bytes.prefix(cut)))
            } catch let e as ProtoError {
                #expect(e.code == .malformed)
                failures += 1
            }
        }
        #expect(failures > 0)
        let garbage: [[UInt8]] = [
            [0xFF], [0x0A, 0x05, 0x41], [0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x0F], Array(repeating: 0xFF, count: 64),
        ]
        for g in garbage {
            #expect(throws: ProtoError.self) {
                try ProtoCodec.decode("envoy.service.discovery.v3.DiscoveryRequest", from: g)
            }
        }
        // Pseudo-random bytes never crash, whether they decode or throw.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<500 {
            let junk = (0..<Int(state % 40)).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 33)
            }
            _ = try? ProtoCodec.decode("envoy.config.listener.v3.Listener", from: junk)
        }
    }

    @Test func invalidUTF8InAStringIsMalformed() {
        let bytes: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]  // Locality.region = invalid UTF-8
        #expect { try ProtoCodec.decode("envoy.config.core.v3.Locality", from: bytes) } throws: {
            ($0 as? ProtoError)?.code == .malformed
        }
    }

    @Test func emptyInputIsTheEmptyMessage() throws {
        #expect(
            try ProtoCodec.decode("envoy.config.listener.v3.Listener", from: [])
                == ProtoMessage("envoy.config.listener.v3.Listener"))
        #expect(try ProtoCodec.encode(ProtoMessage("google.protobuf.Empty")) == [])
    }

    @Test func knownTypes() {
        #expect(ProtoCodec.isKnown("envoy.config.cluster.v3.Cluster"))
        #expect(ProtoCodec.isKnown("envoy.config.cluster.v3.Cluster.EdsClusterConfig"))
        #expect(ProtoCodec.isKnown("google.rpc.Status"))
        #expect(!ProtoCodec.isKnown("envoy.config.cluster.v3.Nope"))
    }

    @Test func conveniencesMatchDecodedForms() throws {
        let opts = ProtoMessage(
            "envoy.config.core.v3.HttpProtocolOptions",
            [
                "idle_timeout": .duration(.milliseconds(1500)), "max_headers_count": .uint32Value(0),
            ])
        let decoded = try ProtoCodec.decode(opts.typeName, from: ProtoCodec.encode(opts))
        #expect(decoded == opts)
        #expect(decoded["idle_timeout"]?.messageValue?.fields == ["seconds": .int(1), "nanos": .int(500_000_000)])
    }
}
