import Foundation
import Protobuf
import Testing

/// Keeps Tests/schema/fixtures in step with the encoder and renderer.
///
/// The Python schema test decodes these bytes with the official xds-protos classes and compares the result with
/// the JSON rendered here, so a mismatch in either the codec or ProtoJSON shows up there. Set
/// `PROTO_UPDATE_FIXTURES=1` to rewrite them after an intended change.
@Suite struct CrossCheckFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schema/fixtures")

    @Test(arguments: Fixtures.all.map(\.0))
    func fixtureMatchesEncoder(_ name: String) throws {
        let message = Fixtures.all.first { $0.0 == name }!.1
        let bytes = try ProtoCodec.encode(message)
        let json = ProtoJSON.render(message) + "\n"
        let bin = Self.directory.appendingPathComponent("\(name).bin")
        let jsonURL = Self.directory.appendingPathComponent("\(name).json")
        let typeURL = Self.directory.appendingPathComponent("\(name).type")
        if ProcessInfo.processInfo.environment["PROTO_UPDATE_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: bin)
            try Data(json.utf8).write(to: jsonURL)
            try Data((message.typeName + "\n").utf8).write(to: typeURL)
        }
        #expect(
            try [UInt8](Data(contentsOf: bin)) == bytes, "run with PROTO_UPDATE_FIXTURES=1 after an intended change")
        #expect(try String(decoding: Data(contentsOf: jsonURL), as: UTF8.self) == json)
    }
}
