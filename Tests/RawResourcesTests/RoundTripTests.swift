import Config
import Foundation
import Pipeline
import Protobuf
import TestSupport
import Testing
import Vocabulary
import Yams

@testable import RawResources

/// Every resource Chancery itself produces for the fixture sites, written out as proto3 JSON and read back as a raw
/// resource file, must encode to the very same bytes: the reader is the writer's inverse over everything the
/// translator uses (Any, maps, oneofs, enums, durations, wrappers, bytes, 64-bit integers).
@Suite struct RoundTripTests {
    static let cases = FixturePaths.goldenCases

    @Test(arguments: cases)
    func everyTranslatedResourceReadsBackToTheSameBytes(_ name: String) throws {
        let dir = FixturePaths.path(name)
        let snapshot = try Loader.load(
            configPath: "\(dir)/routes.yaml", certsPath: "\(dir)/certs", rawPath: FixturePaths.raw(dir)
        ).snapshot
        var checked = 0
        for (key, group) in snapshot.groups.sorted(by: { "\($0.key)" < "\($1.key)" }) where key.mode == .ads {
            for type in RawResourceFile.servedTypes {
                for resource in group[type].sorted {
                    let json = ProtoJSON.render(resource.message)
                    let body = json.dropFirst().drop { $0 == "\n" }  // after "{"
                    let file = "resources:\n  - {\"@type\": \"\(type.typeURL)\",\n" + body + "\n"
                    let message: ProtoMessage
                    if let secret = RawResourceFile.secretField(in: resource.message) {
                        // Refused as a raw file (no secrets in configuration files), but the reader must still
                        // read it back exactly.
                        #expect(throws: ConfigErrors.self) { try RawResourceFile.parse(file, file: "x.json") }
                        var yaml = YAMLInput(file: "x.json")
                        let input = try yaml.convert(try #require(try Yams.compose(yaml: json)))
                        message = try ProtoJSON.parse(input, as: type.protoName)
                        #expect(!secret.isEmpty)
                    } else {
                        let parsed = try RawResourceFile.parse(file, file: "\(name).json")
                        try #require(parsed.count == 1)
                        #expect(parsed[0].name == resource.name)
                        #expect(parsed[0].type == type)
                        message = parsed[0].message
                    }
                    let bytes = try ProtoCodec.encodeAny(message)
                    #expect(bytes == resource.anyBytes, "\(name) \(key.group) \(type) \(resource.name)")
                    checked += 1
                }
            }
        }
        #expect(checked > 0)
    }
}
