import Foundation

/// Locates the repository's `Fixtures/` from this source file, so tests run from any working directory.
public enum FixturePaths {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var fixtures: String { root + "/Fixtures" }

    /// A path inside `Fixtures/`.
    public static func path(_ relative: String) -> String { fixtures + "/" + relative }

    /// The case's raw resource directory (`--raw`), when it has one.
    public static func raw(_ caseDirectory: String) -> String? {
        FileManager.default.fileExists(atPath: caseDirectory + "/raw") ? caseDirectory + "/raw" : nil
    }

    /// Every case directory under Fixtures/ that holds a routes.yaml and a certs/ folder.
    public static var goldenCases: [String] {
        let files = FileManager.default
        let names = (try? files.contentsOfDirectory(atPath: fixtures)) ?? []
        return names.sorted().filter { name in
            files.fileExists(atPath: "\(fixtures)/\(name)/routes.yaml")
                && files.fileExists(atPath: "\(fixtures)/\(name)/certs")
        }
    }
}
