import ArgumentParser
import Foundation
import Pipeline
import Snapshot
import Translate
import Vocabulary

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the snapshot as proto3 JSON, per group and type, with private keys redacted.")

    @Option(help: "The routes file.")
    var config: String

    @Option(help: "The certificate directory.")
    var certs: String

    @Option(
        help:
            "A directory of raw Envoy resources (.yaml/.json in proto3 JSON form) added to the groups' snapshots; see docs/ROUTES.md."
    )
    var raw: String?

    @Option(help: "Only this node group.")
    var group: String?

    @Option(help: "Config-source mode the resources are rendered for: ads, grpc or delta-grpc.")
    var mode: String = "ads"

    @Option(
        help:
            "json (proto3 JSON, keys redacted), wire (each resource's encoded Any in base64, for checks with other decoders; includes keys) or envoy-bootstrap (one group's resources as an Envoy bootstrap with static_resources, for `envoy --mode validate`; includes keys; needs --group when the file has several groups)."
    )
    var format: String = "json"

    func run() throws {
        guard let sourceMode = ConfigSourceMode(rawValue: mode) else {
            throw ValidationError("--mode must be one of ads, grpc, delta-grpc")
        }
        let result: Loader.Result
        do {
            result = try Loader.load(configPath: config, certsPath: certs, rawPath: raw)
        } catch {
            for line in error.lines { printError(line) }
            throw ExitCode(1)
        }
        let groups = result.snapshot.groupNames.filter { group == nil || $0 == group }
        if let group, groups.isEmpty {
            printError("no group \"\(group)\"; groups: \(result.snapshot.groupNames.joined(separator: ", "))")
            throw ExitCode(1)
        }
        let snapshots = groups.compactMap { result.snapshot.group($0, mode: sourceMode) }
        switch format {
        case "json":
            print(SnapshotJSON.array(snapshots.map(SnapshotJSON.render)))
        case "wire":
            var lines: [String] = []
            for snapshot in snapshots {
                for type in ResourceType.allCases.sorted() {
                    for resource in snapshot[type].sorted {
                        lines.append(
                            SnapshotJSON.object([
                                ("group", SnapshotJSON.quoted(snapshot.group)),
                                ("type", SnapshotJSON.quoted(type.rawValue)),
                                ("name", SnapshotJSON.quoted(resource.name)),
                                ("any", SnapshotJSON.quoted(Data(resource.anyBytes).base64EncodedString())),
                            ]))
                    }
                }
            }
            print(SnapshotJSON.array(lines))
        case "envoy-bootstrap":
            guard snapshots.count == 1, let snapshot = snapshots.first else {
                printError(
                    "--format envoy-bootstrap renders one group; choose one with --group: \(groups.joined(separator: ", "))"
                )
                throw ExitCode(1)
            }
            print(snapshot.staticBootstrapJSON)
        default:
            throw ValidationError("--format must be json, wire or envoy-bootstrap")
        }
    }
}
