import Foundation
import Pipeline
import Snapshot
import TestSupport
import Testing
import Vocabulary

/// Golden snapshots: `Fixtures/<case>/expected/<group>/<type>.json` pins the translation of `routes.yaml` and
/// `certs/`, as proto3 JSON with private keys redacted. `CHANCERY_UPDATE_GOLDEN=1 swift test` rewrites them on purpose.
@Suite struct GoldenTests {
    static let update = ProcessInfo.processInfo.environment["CHANCERY_UPDATE_GOLDEN"] == "1"

    @Test func atLeastOneGoldenCaseExists() {
        #expect(FixturePaths.goldenCases.contains("example-site"))
    }

    @Test(arguments: FixturePaths.goldenCases)
    func translationMatchesGolden(_ name: String) throws {
        let dir = "\(FixturePaths.fixtures)/\(name)"
        let result = try Loader.load(
            configPath: "\(dir)/routes.yaml", certsPath: "\(dir)/certs", rawPath: FixturePaths.raw(dir))
        var expectedFiles = Set<String>()
        for group in result.snapshot.groupNames {
            let snapshot = try #require(result.snapshot.group(group, mode: .ads))
            for type in ResourceType.allCases {
                let path = "\(dir)/expected/\(group)/\(type.rawValue).json"
                expectedFiles.insert(path)
                let rendered = SnapshotJSON.render(snapshot[type]) + "\n"
                if Self.update {
                    try FileManager.default.createDirectory(
                        atPath: "\(dir)/expected/\(group)",
                        withIntermediateDirectories: true)
                    try rendered.write(toFile: path, atomically: true, encoding: .utf8)
                    continue
                }
                let expected = try String(contentsOfFile: path, encoding: .utf8)
                #expect(rendered == expected, "\(name): \(group)/\(type.rawValue) differs from \(path)")
            }
        }
        // A golden file for a group or type that no longer exists is a stale expectation.
        let onDisk =
            FileManager.default.enumerator(atPath: "\(dir)/expected")?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".json") }.map { "\(dir)/expected/\($0)" } ?? []
        #expect(Set(onDisk) == expectedFiles)
    }

    @Test func sameInputGivesSameVersions() throws {
        let dir = "\(FixturePaths.fixtures)/example-site"
        let first = try Loader.load(configPath: "\(dir)/routes.yaml", certsPath: "\(dir)/certs").snapshot
        let second = try Loader.load(configPath: "\(dir)/routes.yaml", certsPath: "\(dir)/certs").snapshot
        #expect(first.version == second.version)
        #expect(first == second)
    }

    @Test func goldenFilesNeverHoldPrivateKeys() throws {
        let key = try String(
            contentsOfFile: "\(FixturePaths.fixtures)/example-site/certs/example.test/tls.key",
            encoding: .utf8)
        let body = key.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let base64OfPEM = Data(key.utf8).base64EncodedString()
        for name in FixturePaths.goldenCases {
            guard let files = FileManager.default.enumerator(atPath: "\(FixturePaths.fixtures)/\(name)/expected") else {
                continue
            }
            for case let file as String in files where file.hasSuffix(".json") {
                let text = try String(
                    contentsOfFile: "\(FixturePaths.fixtures)/\(name)/expected/\(file)", encoding: .utf8)
                #expect(!text.contains(String(body.prefix(40))))
                #expect(!text.contains(String(base64OfPEM.prefix(40))))
            }
        }
    }
}

@Suite struct SnapshotPrintingTests {
    /// A stray `print(snapshot)` or `dump` must not carry the private key into a log.
    @Test func snapshotDescriptionsHoldNoKeyBytes() throws {
        let dir = "\(FixturePaths.fixtures)/example-site"
        let snapshot = try Loader.load(configPath: "\(dir)/routes.yaml", certsPath: "\(dir)/certs").snapshot
        let key = try String(contentsOfFile: "\(dir)/certs/example.test/tls.key", encoding: .utf8)
        let keyLine = try #require(key.split(separator: "\n").first { !$0.hasPrefix("-----") })
        var dumped = ""
        dump(snapshot, to: &dumped)
        let printed = "\(snapshot) \(String(reflecting: snapshot))"
        let keyBytes = Array(key.utf8)
        let asNumbers = keyBytes.prefix(16).map(String.init).joined(separator: ", ")
        for text in [dumped, printed] {
            #expect(!text.contains(keyLine))
            #expect(!text.contains(asNumbers))
        }
        #expect(printed.contains("secret \"example.test\""))
    }
}
