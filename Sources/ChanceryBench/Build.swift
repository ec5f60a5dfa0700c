import ArgumentParser
import Foundation
import Pipeline

/// `build`: what one save of the routes file costs — read, validate, translate and encode a snapshot.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Time routes file → encoded snapshot (Loader), p50 and max.")

    @Option(help: "Routes in the generated file.") var routes = 10_000
    @Option(help: "Clusters in the generated file.") var clusters = 1000
    @Option(help: "Use this routes file instead of a generated one.") var config: String?
    @Option(help: "Certificate directory for --config.") var certs: String?
    @Option(help: "Timed runs.") var runs = 20

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chancery-build-\(UUID())")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("certs"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = config ?? directory.appendingPathComponent("routes.yaml").path
        if config == nil {
            try RoutesFile.make(clusters: clusters, routes: routes).write(
                toFile: path, atomically: false, encoding: .utf8)
        }
        let certsPath = certs ?? directory.appendingPathComponent("certs").path
        // Each stage timed on its own (the stages Loader.load runs), then the whole.
        var stages = Array(repeating: [Double](), count: 5)
        for _ in 0..<max(1, runs) {
            var start = nowNanos()
            func lap(_ stage: Int) {
                let now = nowNanos()
                stages[stage].append(Double(now - start) / 1e6)
                start = now
            }
            let inputs = try Loader.read(configPath: path, certsPath: certsPath)
            lap(0)
            let validated = try Loader.validate(inputs)
            lap(1)
            let translated = Loader.translate(validated)
            lap(2)
            // Each result is timed until it exists, not until it is freed: a server frees the snapshot it
            // replaces after publishing the new one.
            let snapshot = try Loader.snapshot(translated)
            withExtendedLifetime(snapshot) { lap(3) }
            let loaded = try Loader.load(configPath: path, certsPath: certsPath)
            withExtendedLifetime(loaded) { lap(4) }
        }
        func median(_ values: [Double]) -> String { String(format: "%.1f", values.sorted()[values.count / 2]) }
        let label = config ?? "\(routes) routes, \(clusters) clusters"
        let whole = stages[4].sorted()
        say(
            "build  \(label): p50 \(median(whole)) ms, min \(String(format: "%.1f", whole.first!)) ms, max \(String(format: "%.1f", whole.last!)) ms "
                + "(\(whole.count) runs of Loader.load); stages p50: read \(median(stages[0])) ms, "
                + "validate (YAML + rules) \(median(stages[1])) ms, translate \(median(stages[2])) ms, "
                + "encode \(median(stages[3])) ms")
    }
}
