import ArgumentParser
import Snapshot
import Translate

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the snapshot as proto3 JSON, per group and type, with private keys redacted.")

    @Option(help: "The routes file.")
    var config: String

    @Option(help: "The certificate directory.")
    var certs: String

    @Option(help: "Only this node group.")
    var group: String?

    @Option(help: "Config-source mode the resources are rendered for: ads, grpc or delta-grpc.")
    var mode: String = "ads"

    func run() throws {
        guard let sourceMode = ConfigSourceMode(rawValue: mode) else {
            throw ValidationError("--mode must be one of ads, grpc, delta-grpc")
        }
        let result: Loader.Result
        do {
            result = try Loader.load(configPath: config, certsPath: certs)
        } catch {
            for line in error.errors { printError(line) }
            throw ExitCode(1)
        }
        let groups = result.snapshot.groupNames.filter { group == nil || $0 == group }
        if let group, groups.isEmpty {
            printError("no group \"\(group)\"; groups: \(result.snapshot.groupNames.joined(separator: ", "))")
            throw ExitCode(1)
        }
        let rendered = groups.compactMap { result.snapshot.group($0, mode: sourceMode) }.map(SnapshotJSON.render)
        print(SnapshotJSON.array(rendered))
    }
}
