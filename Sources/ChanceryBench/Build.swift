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
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = nowNanos()
            _ = try Loader.load(configPath: path, certsPath: certsPath)
            times.append(Double(nowNanos() - start) / 1e6)
        }
        times.sort()
        let label = config ?? "\(routes) routes, \(clusters) clusters"
        print(
            "build  \(label): p50 \(String(format: "%.1f", times[times.count / 2])) ms, "
                + "max \(String(format: "%.1f", times.last!)) ms (\(times.count) runs, read + validate + translate + encode)"
        )
    }
}
