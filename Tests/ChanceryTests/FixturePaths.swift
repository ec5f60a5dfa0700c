import Foundation

/// Locates the repository's `Fixtures/` from this source file, so tests run from any working directory.
enum FixturePaths {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var fixtures: String { root + "/Fixtures" }

    /// Every case directory under Fixtures/ that holds a routes.yaml and a certs/ folder.
    static var goldenCases: [String] {
        let files = FileManager.default
        let names = (try? files.contentsOfDirectory(atPath: fixtures)) ?? []
        return names.sorted().filter { name in
            files.fileExists(atPath: "\(fixtures)/\(name)/routes.yaml")
                && files.fileExists(atPath: "\(fixtures)/\(name)/certs")
        }
    }
}
