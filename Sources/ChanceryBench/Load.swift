import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `load`: N simulated proxies against each server under test, side by side in one run.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Connect N proxies to each server, change its config, measure latency, server RSS and CPU.")

    @Option(help: "Servers, in order: chancery, reference, raw (raw reuses the bytes the first one moved).")
    var servers = "chancery,reference,raw"
    @Option(help: "Proxy counts, comma-separated.") var proxies = "1000"
    @Option(help: "Stream kinds: sotw, delta (comma-separated).") var modes = "sotw"
    @Option(help: "Endpoint-change rounds.") var rounds = 5
    @Option(help: "Proxies connecting (not yet holding their config) at once.") var batch = 200
    @Option(help: "Clusters (and routes) of the routes file used for connecting and endpoint changes.")
    var clusters = 10
    @Flag(help: "Also run the whole-snapshot scenarios (1,000 clusters, 10,000 routes).") var snapshot = false
    @Option(help: "Skip the whole-snapshot scenarios above this many proxies.") var snapshotMaxProxies = 2000
    @Option(help: "First port used; each server takes two (0: free ports chosen by the system).") var port = 18_700
    @Option(help: "The chancery binary (release build).") var chancery = ".build/release/chancery"
    @Option(help: "Seconds a scenario may take before it counts as failed.") var timeout = 180.0
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func validate() throws {
        guard rounds >= 1, batch >= 1, clusters >= 1 else { throw ValidationError("counts must be at least 1") }
        for name in servers.split(separator: ",") where ServerKind(rawValue: String(name)) == nil {
            throw ValidationError("unknown server \(name)")
        }
        for count in proxies.split(separator: ",") where (Int(count) ?? 0) < 1 {
            throw ValidationError("bad proxy count \(count)")
        }
    }

    func run() async throws {
        let limit = raiseDescriptorLimit()
        let counts = proxies.split(separator: ",").compactMap { Int($0) }
        guard counts.max()! + 100 < limit else {
            throw ValidationError("descriptor limit \(limit) is too low for \(counts.max()!) proxies")
        }
        let root = FileManager.default.currentDirectoryPath
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        var report = Report(
            machine: Machine.current(), command: CommandLine.arguments.joined(separator: " "), runs: [])
        var nextPort = port
        for count in counts {
            /// Bytes per proxy the first protocol server moved, per scenario: what the raw server sends.
            var rawSizes: [String: (Int, Int)] = [:]
            for kind in servers.split(separator: ",").compactMap({ ServerKind(rawValue: String($0)) }) {
                for mode in kind == .raw ? ["raw"] : modes.split(separator: ",").map(String.init) {
                    var run = RunResult(server: kind.rawValue, mode: mode, proxies: count)
                    let runner = Runner(
                        options: self, kind: kind, delta: mode == "delta", count: count,
                        ports: port == 0
                            ? (try await freePort(group: group), try await freePort(group: group))
                            : (nextPort, nextPort + 1),
                        root: root, group: group, rawSizes: rawSizes)
                    nextPort += 2
                    say("== \(kind.rawValue) \(mode) \(count) proxies")
                    do {
                        try await runner.run(into: &run)
                    } catch {
                        run.error = "\(error)"
                        say("   failed: \(error)")
                    }
                    await runner.finish()
                    if rawSizes.isEmpty, kind != .raw, mode == "sotw" { rawSizes = runner.measuredSizes }
                    report.runs.append(run)
                    if let json { try write(report, to: json) }
                }
            }
        }
        report.loadAverageAfter = Machine.current().loadAverage
        say(report.table())
        if let json { try write(report, to: json) }
        try await group.shutdownGracefully()
        let failed = report.runs.filter { $0.error != nil }.count
        if failed > 0 { throw BenchError("\(failed) of \(report.runs.count) runs failed") }
    }

    private func write(_ report: Report, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: path))
    }
}
