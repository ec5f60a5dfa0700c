import Config
import Protobuf
import RawResources
import Testing
import Vocabulary

private let cluster = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
private let listener = "type.googleapis.com/envoy.config.listener.v3.Listener"

private func parse(_ text: String) throws(ConfigErrors) -> [RawResource] {
    try RawResourceFile.parse(text, file: "raw.yaml")
}

/// The one error a file gives, as printed.
/// A raw file of one TLS listener whose certificate sets `private_key` to `privateKey` (YAML flow text).
private func tlsListener(privateKey: String) -> String {
    """
    resources:
      - "@type": \(listener)
        name: l
        filter_chains:
          - transport_socket:
              name: tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                common_tls_context:
                  tls_certificates:
                    - private_key: \(privateKey)
    """
}

private func error(_ text: String) -> String {
    do {
        _ = try parse(text)
        return "no error"
    } catch {
        return error.description
    }
}

@Suite struct RawResourceFileTests {
    @Test func snakeCaseAndCamelCaseGiveTheSameBytes() throws {
        let snake = try parse(
            """
            resources:
              - "@type": \(cluster)
                name: legacy
                connect_timeout: 2.5s
                lb_policy: LEAST_REQUEST
                per_connection_buffer_limit_bytes: 32768
            """)
        let camel = try parse(
            """
            {"resources": [{"@type": "\(cluster)", "name": "legacy", "connectTimeout": "2.500s",
              "lbPolicy": "LEAST_REQUEST", "perConnectionBufferLimitBytes": 32768}]}
            """)
        #expect(try ProtoCodec.encode(snake[0].message) == ProtoCodec.encode(camel[0].message))
        #expect(snake[0].type == .cluster && snake[0].name == "legacy" && snake[0].groups == nil)
        let timeout = try #require(snake[0].message["connect_timeout"]?.messageValue)
        #expect(timeout["seconds"] == .int(2) && timeout["nanos"] == .int(500_000_000))
    }

    @Test func groupsApplyToEveryResourceOfTheFile() throws {
        let resources = try parse(
            """
            groups: [edge, lab]
            resources:
              - {"@type": \(cluster), name: a}
              - {"@type": \(cluster), name: b}
            """)
        #expect(resources.map(\.groups) == [["edge", "lab"], ["edge", "lab"]])
        #expect(resources.map(\.position.line) == [3, 4])
    }

    @Test func anyHoldsRegularAndWellKnownTypes() throws {
        let resources = try parse(
            """
            resources:
              - "@type": \(listener)
                name: l
                metadata:
                  filter_metadata:
                    site: { owner: ops, replicas: 3, tags: [a, b], on: true, none: null }
                  typed_filter_metadata:
                    wrapped: { "@type": type.googleapis.com/google.protobuf.UInt32Value, value: 7 }
            """)
        let metadata = try #require(resources[0].message["metadata"]?.messageValue)
        let site = try #require(metadata["filter_metadata"]?.mapValue?["site"]?.messageValue)
        let fields = try #require(site["fields"]?.mapValue)
        #expect(fields["owner"]?.messageValue?["string_value"] == .string("ops"))
        #expect(fields["replicas"]?.messageValue?["number_value"] == .double(3))
        #expect(fields["on"]?.messageValue?["bool_value"] == .bool(true))
        #expect(fields["none"]?.messageValue?["null_value"] == .enumValue("NULL_VALUE"))
        #expect(fields["tags"]?.messageValue?["list_value"]?.messageValue?["values"]?.listValue?.count == 2)
        let wrapped = try #require(metadata["typed_filter_metadata"]?.mapValue?["wrapped"]?.anyValue)
        #expect(wrapped == ProtoMessage("google.protobuf.UInt32Value", ["value": .int(7)]))
    }

    @Test func integersAcceptTextAndExponentsWithinRange() throws {
        let input = { (value: String) in
            "resources:\n  - {\"@type\": \(cluster), name: c, per_connection_buffer_limit_bytes: \(value)}"
        }
        for text in ["1024", "\"1024\"", "1.024e3", "1024.0"] {
            let resources = try parse(input(text))
            #expect(
                resources[0].message["per_connection_buffer_limit_bytes"]?.messageValue?["value"] == .int(1024),
                "\(text)")
        }
        #expect(error(input("4294967296")).contains("out of range for uint32"))
        #expect(error(input("-1")).contains("out of range"))
        #expect(error(input("1.5")).contains("must be a whole number"))
    }

    @Test func wellKnownTextForms() throws {
        func read(_ type: String, _ value: ProtoInput.Value) throws -> ProtoMessage {
            try ProtoJSON.parse(ProtoInput(value, line: 1, column: 1), as: type)
        }
        #expect(
            try read("google.protobuf.Duration", .string("-0.001s"))
                == ProtoMessage(
                    "google.protobuf.Duration", ["nanos": .int(-1_000_000)]))
        #expect(
            try read("google.protobuf.Timestamp", .string("2026-12-01T03:04:05.5+01:00"))
                == ProtoMessage(
                    "google.protobuf.Timestamp", ["seconds": .int(1_796_090_645), "nanos": .int(500_000_000)]))
        #expect(
            try read("google.protobuf.BytesValue", .string("aGk_"))
                == ProtoMessage(
                    "google.protobuf.BytesValue", ["value": .bytes(Array("hi?".utf8))]))
        for bad in ["5", "1.5", "s", "1.1234567891s", "1e3s", "99999999999999s"] {
            #expect(throws: ProtoInputError.self) { try read("google.protobuf.Duration", .string(bad)) }
        }
        for bad in ["2026-13-01T00:00:00Z", "2026-12-01 03:04:05Z", "2026-12-01T03:04:05"] {
            #expect(throws: ProtoInputError.self) { try read("google.protobuf.Timestamp", .string(bad)) }
        }
        #expect(throws: ProtoInputError.self) { try read("google.protobuf.BytesValue", .string("a=b")) }
    }

    @Test(arguments: [
        // (file, the error's start)
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, conect_timeout: 1s}",
            "raw.yaml:2:77: envoy.config.cluster.v3.Cluster has no field \"conect_timeout\" in this build (did you mean \"connect_timeout\"?)"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, lbPolcy: RANDOM}",
            "raw.yaml:2:77: envoy.config.cluster.v3.Cluster has no field \"lbPolcy\" in this build (did you mean \"lbPolicy\"?)"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, lb_policy: ROUND_ROBIM}",
            "raw.yaml:2:88: \"ROUND_ROBIM\" is not a value of envoy.config.cluster.v3.Cluster.LbPolicy (did you mean \"ROUND_ROBIN\"?)"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, connect_timeout: 5}",
            "raw.yaml:2:94: \"connect_timeout\" must be a duration such as \"5s\" or \"0.250s\", found the number 5"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, load_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint_name: x, endpoint: {}}]}]}}",
            "raw.yaml:2:159: \"endpoint\" and \"endpoint_name\" are alternatives (one oneof); set only one"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, connect_timeout: 1s, connectTimeout: 2s}",
            "raw.yaml:2:98: \"connectTimeout\" sets field \"connect_timeout\" a second time"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, name: d}",
            "raw.yaml:2:68: key \"name\" appears more than once in the same mapping"
        ),
        ("resources:\n  - {\"@type\": \(cluster)}", "raw.yaml:2:5: the cluster has no \"name\""),
        ("resources:\n  - {name: c}", "raw.yaml:2:5: the resource has no \"@type\""),
        (
            "resources:\n  - {\"@type\": type.googleapis.com/envoy.config.cluster.v3.Clustr, name: c}",
            "raw.yaml:2:15: \"type.googleapis.com/envoy.config.cluster.v3.Clustr\" is not a type a raw resource file can hold (did you mean \"\(cluster)\"?)"
        ),
        (
            "resources:\n  - {\"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret, name: s}",
            "raw.yaml:2:15: \"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret\" is not a type a raw resource file can hold (certificates come from the certificate directory"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c}\n  - {\"@type\": \(cluster), name: c}",
            "raw.yaml:3:5: cluster \"c\" is defined twice in this file (first on line 2)"
        ),
        (
            "resource:\n  - {\"@type\": \(cluster), name: c}",
            "raw.yaml:1:1: unknown key \"resource\" in a raw resource file (did you mean \"resources\"?)"
        ),
        (
            "- {\"@type\": \(cluster), name: c}",
            "raw.yaml:1:1: a raw resource file must be a mapping with \"resources:\", found a list"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, metadata: {filter_metadata: {a: 1}}}",
            "raw.yaml:2:109: \"a\" must be a mapping, found the number 1"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, health_checks: [null]}",
            "raw.yaml:2:93: a list item cannot be null"
        ),
        (
            "resources:\n  - {\"@type\": \(cluster), name: c, health_checks: {}}",
            "raw.yaml:2:92: \"health_checks\" must be a list, found a mapping"
        ),
        (
            "resources:\n  - {\"@type\": \(listener), name: l, filter_chains: [{filters: [{name: f, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy}}]}]}",
            "raw.yaml:2:140: type envoy.extensions.filters.network.redis_proxy.v3.RedisProxy is not known to this build"
        ),
        ("resources: [\n", "raw.yaml:2:1: YAML syntax error"),
    ])
    func badFilesSayWhatAndWhere(_ file: String, _ expected: String) {
        let message = error(file)
        #expect(message.hasPrefix(expected), "\(message)")
    }

    @Test func inlinePrivateKeysAreRefusedWithoutBeingEchoed() {
        let message = error(tlsListener(privateKey: #"{ inline_string: "SECRET-KEY-MATERIAL" }"#))
        #expect(message.hasPrefix("raw.yaml:2:5: listener \"l\" sets"))
        #expect(message.contains("TlsCertificate.private_key"))
        #expect(!message.contains("SECRET-KEY-MATERIAL"))
    }

    @Test func deepNestingAndAliasBombsCostABoundedAmount() {
        let deep = String(repeating: "{fields: ", count: 200) + "{}" + String(repeating: "}", count: 200)
        let nested = error(
            "resources:\n  - {\"@type\": \(cluster), name: c, metadata: {filter_metadata: {a: \(deep)}}}")
        #expect(nested.contains("nested more than 64 deep"), "\(nested)")
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...7 {
            bomb +=
                "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
                + "]\n"
        }
        #expect(error(bomb + "resources: []\n").contains("expands to more than 200000 values"))
    }

    @Test func unknownGroupsAndClashesAcrossFilesAreFound() throws {
        let a = try RawResourceFile.parse(
            "groups: [edge]\nresources:\n  - {\"@type\": \(cluster), name: c}", file: "a.yaml")
        let b = try RawResourceFile.parse("resources:\n  - {\"@type\": \(cluster), name: c}", file: "b.yaml")
        let c = try RawResourceFile.parse("groups: [egde]\nresources: []", file: "c.yaml")
        #expect(
            RawResourceFile.check(a + b, groups: ["edge", "lab"]).map(\.description) == [
                "b.yaml:2:5: cluster \"c\" is also defined in a.yaml:3:5 for group \"edge\" (names must be unique per type within a group)"
            ])
        #expect(
            RawResourceFile.check(a, groups: ["lab"]).map(\.description) == [
                "a.yaml:1:1: node group \"edge\" is not declared in the routes file's \"groups\" (declared: lab)"
            ])
        #expect(c.isEmpty)
        let typo = try RawResourceFile.parse(
            "groups: [egde]\nresources:\n  - {\"@type\": \(cluster), name: x}", file: "c.yaml")
        #expect(
            RawResourceFile.check(typo, groups: ["edge"]).first?.description.contains("did you mean \"edge\"?") == true)
    }
}

@Suite struct ProtoJSONFormsTests {
    @Test func surrogatePairEscapesAsJSONWritesThemAreOneCharacter() throws {
        // {"name": "mqtt-😀"} as Python's json.dumps writes it, and an escaped backslash that must stay as it is.
        let resources = try RawResourceFile.parse(
            #"{"resources": [{"@type": "\#(cluster)", "name": "mqtt-\ud83d\ude00", "alt_stat_name": "a\\ud83d"}]}"#,
            file: "raw.json")
        #expect(resources[0].name == "mqtt-😀")
        #expect(resources[0].message["alt_stat_name"] == .string("a\\ud83d"))
    }

    @Test func enumNumbersMayBeTextOrIntegralDecimalsAndEmptyFractionsAreWhole() throws {
        let resources = try RawResourceFile.parse(
            """
            resources:
              - {"@type": \(cluster), name: a, lb_policy: "1", connect_timeout: "2.s"}
              - {"@type": \(cluster), name: b, lb_policy: 1.0}
            """, file: "raw.yaml")
        #expect(resources[0].message["lb_policy"] == .enumValue("LEAST_REQUEST"))
        #expect(resources[1].message["lb_policy"] == .enumValue("LEAST_REQUEST"))
        #expect(resources[0].message["connect_timeout"]?.messageValue?["seconds"] == .int(2))
        #expect(throws: ConfigErrors.self) {
            try RawResourceFile.parse("resources:\n  - {\"@type\": \(cluster), name: c, lb_policy: 1.5}", file: "r")
        }
    }
}

@Suite struct IntegerEdgeTests {
    private func read(_ type: String, _ value: ProtoInput.Value) throws -> ProtoValue? {
        try ProtoJSON.parse(ProtoInput(value, line: 1, column: 1), as: type)["value"]
    }

    @Test func sixtyFourBitEdgesAreExactOrOutOfRange() throws {
        let u64 = "google.protobuf.UInt64Value"
        let i64 = "google.protobuf.Int64Value"
        #expect(try read(u64, .string("18446744073709551615")) == .int(-1))  // UInt64.max as its bit pattern
        #expect(try read(u64, .number("1.8e19")) == .int(Int64(bitPattern: 18_000_000_000_000_000_000)))
        #expect(try read(i64, .string("-9223372036854775808")) == .int(Int64.min))
        #expect(try read(i64, .number("-9.2e18")) == .int(-9_200_000_000_000_000_000))
        for (type, text) in [
            (u64, "18446744073709551616"), (u64, "1.8446744073709552e19"), (u64, "1e20"), (u64, "-1"),
            (i64, "9223372036854775808"), (i64, "-9223372036854775809"), (i64, "9.3e18"), (i64, "-9.3e18"),
        ] {
            #expect(throws: ProtoInputError.self, "\(type) \(text)") { try read(type, .number(text)) }
            #expect(throws: ProtoInputError.self, "\(type) \"\(text)\"") { try read(type, .string(text)) }
        }
    }

    @Test func onlyDecimalNumbersAreNumbers() {
        for text in ["0x10", "-0x10", "+5", "1_000", " 5", "inf", "NaN", "1.", ".5", "1e", "0x1p3"] {
            #expect(throws: ProtoInputError.self, "\(text)") { try read("google.protobuf.UInt32Value", .string(text)) }
        }
        for text in ["0x1p3", "inf", "1.", "+1.5"] {
            #expect(throws: ProtoInputError.self, "\(text)") { try read("google.protobuf.DoubleValue", .string(text)) }
        }
    }
}

@Suite struct OracleFindingsTests {
    @Test func anAnyMayHoldAnAny() throws {
        let resources = try RawResourceFile.parse(
            """
            resources:
              - "@type": \(cluster)
                name: c
                typed_extension_protocol_options:
                  x:
                    "@type": type.googleapis.com/google.protobuf.Any
                    value: { "@type": type.googleapis.com/google.protobuf.BoolValue, value: true }
            """, file: "raw.yaml")
        let outer = try #require(resources[0].message["typed_extension_protocol_options"]?.mapValue?["x"]?.anyValue)
        #expect(outer.typeName == "google.protobuf.Any")
        #expect(outer["type_url"] == .string("type.googleapis.com/google.protobuf.BoolValue"))
        #expect(outer["value"] == .bytes([0x08, 0x01]))
    }

    @Test func nulInTextAndBytesThatAreNotUTF8AreRefusedWithTheirPosition() {
        #expect(throws: ConfigErrors.self) {
            try RawResourceFile.parse(#"{"resources": [{"@type": "\#(cluster)", "name": "a\u0000"}]}"#, file: "r.json")
        }
        do {
            _ = try RawResourceFile.parse(
                bytes: Array("resources:\n  - {name: \"a".utf8) + [0xED, 0xB0, 0x80], file: "r")
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.description == "r:2:14: the file is not valid UTF-8 here (save it as UTF-8)")
        }
    }

    @Test func anyTypeURLPrefixNamesTheResourceType() throws {
        let resources = try RawResourceFile.parse(
            "resources:\n  - {\"@type\": example.com/envoy.config.cluster.v3.Cluster, name: c}", file: "r")
        #expect(resources[0].type == .cluster)
    }

    @Test func aFieldSetTwiceNamesBothSpellings() {
        let message: String
        do {
            _ = try RawResourceFile.parse(
                "resources:\n  - {\"@type\": \(cluster), name: c, connectTimeout: 1s, connect_timeout: 2s}", file: "r")
            message = ""
        } catch {
            message = error.description
        }
        #expect(message.contains("\"connect_timeout\" sets field \"connectTimeout\" a second time"), "\(message)")
    }
}

/// What the independent review of the raw resource change found, each pinned.
@Suite struct ReviewFindingsTests {
    private func message(_ text: String, file: String = "raw.yaml") -> String {
        do {
            _ = try RawResourceFile.parse(text, file: file)
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func aManyErrorFileStopsAtFiftyAndSaysSo() {
        let bad = (0..<200).map { "  - {\"@type\": \(cluster), name: c\($0), lb_policy: NOPE}" }
        let report = message("resources:\n" + bad.joined(separator: "\n"))
        let lines = report.split(separator: "\n")
        #expect(lines.count == 51)
        #expect(lines.last?.contains("too many errors; the 150 resources from here on were not checked") == true)
    }

    @Test func textThatMayBeSecretIsNeverQuoted() {
        let report = message(tlsListener(privateKey: #""-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASC""#))
        #expect(report.contains("found text (not shown: it may be secret)"), "\(report)")
        #expect(!report.contains("MIIE") && !report.contains("BEGIN"))
    }

    @Test func aKeyWrappedInAnAnyInsideAnAnyIsStillFound() {
        let report = message(
            """
            resources:
              - "@type": \(cluster)
                name: c
                transport_socket:
                  name: tls
                  typed_config:
                    "@type": type.googleapis.com/google.protobuf.Any
                    value:
                      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                      common_tls_context: { tls_certificates: [{ private_key: { inline_string: x } }] }
            """)
        #expect(report.contains("TlsCertificate.private_key, which holds a secret"), "\(report)")
    }

    @Test func deepAnysAreBoundedToo() {
        var any = "{\"@type\": \"type.googleapis.com/google.protobuf.BoolValue\", \"value\": true}"
        for _ in 0..<100 { any = "{\"@type\": \"type.googleapis.com/google.protobuf.Any\", \"value\": \(any)}" }
        let report = message(
            "{\"resources\": [{\"@type\": \"\(cluster)\", \"name\": \"c\", \"typedExtensionProtocolOptions\": {\"x\": \(any)}}]}",
            file: "raw.json")
        #expect(report.contains("nested more than 64 deep"), "\(report)")
    }

    @Test func enumNumbersBecomeNamesAndUndefinedOnesAreRefused() throws {
        let resources = try RawResourceFile.parse(
            "resources:\n  - {\"@type\": \(cluster), name: c, type: 3}", file: "raw.yaml")
        #expect(resources[0].message["type"] == .enumValue("EDS"))
        #expect(message("resources:\n  - {\"@type\": \(cluster), name: c, type: 99}").contains("99 is not a value of"))
    }

    @Test func emptyGroupsAndTheBootstrapClusterNameAreRefused() {
        #expect(message("groups: []\nresources: []").contains("\"groups\" is empty"))
        #expect(message("resources:\n  - {\"@type\": \(cluster), name: chancery_xds}").contains("is taken"))
    }

    @Test func surrogateEscapesAreJoinedOnlyInJSONFiles() throws {
        let yaml = try RawResourceFile.parse(
            "resources:\n  - {\"@type\": \(cluster), name: 'a\\ud83d\\ude00'}", file: "raw.yaml")
        #expect(yaml[0].name == "a\\ud83d\\ude00")
    }
}
