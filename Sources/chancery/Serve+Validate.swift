import ArgumentParser
import Dispatch
import Foundation
import Pipeline
import Snapshot
import Translate

/// `serve` options for checking snapshots with a real Envoy and for placing proxies of unknown groups.
struct EnvoyCheckOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Check every new snapshot with `PATH --mode validate` (one static bootstrap per changed group) before publishing it; a refused snapshot keeps the last good one in force.",
            valueName: "PATH"))
    var validateWithEnvoy: String?

    @Option(help: "Longest one `envoy --mode validate` run may take, in seconds.")
    var validateTimeout: Int = 60

    @Option(
        help:
            "The group for a proxy whose node group the routes file does not define (a file that declares no groups serves every proxy anyway)."
    )
    var defaultGroup: String?

    /// The check the reloader runs before publishing, or nil when not asked for.
    var check: (any SnapshotCheck)? {
        validateWithEnvoy.map { EnvoyValidation(envoyPath: $0, timeoutSeconds: max(1, validateTimeout)) }
    }
}

/// Runs `envoy --mode validate` on the static bootstrap of each group whose resources changed.
///
/// The bootstrap holds private keys, so it lives in a fresh directory only the owner can read and is deleted after
/// the run; Envoy's output is passed on without lines that could quote key material.
struct EnvoyValidation: SnapshotCheck {
    let envoyPath: String
    let timeoutSeconds: Int

    func refusal(of snapshot: Snapshot, replacing current: Snapshot) -> [String]? {
        var reasons: [String] = []
        for group in snapshot.groupNames {
            guard let next = snapshot.group(group, mode: .ads) else { continue }
            if let previous = current.group(group, mode: .ads), previous.version == next.version { continue }
            if let reason = validate(next.staticBootstrapJSON, group: group) { reasons.append(reason) }
        }
        return reasons.isEmpty ? nil : reasons
    }

    /// nil when Envoy accepts the bootstrap, else why not.
    func validate(_ bootstrap: String, group: String) -> String? {
        let files = FileManager.default
        let directory = files.temporaryDirectory.appendingPathComponent("chancery-validate-\(UUID().uuidString)")
        do {
            try files.createDirectory(
                at: directory, withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700])
        } catch {
            return "group \"\(group)\": cannot create a directory for envoy --mode validate: \(error)"
        }
        defer { try? files.removeItem(at: directory) }
        let config = directory.appendingPathComponent("bootstrap.json")
        let output = directory.appendingPathComponent("output.txt")
        guard
            files.createFile(
                atPath: config.path, contents: Data(bootstrap.utf8), attributes: [.posixPermissions: 0o600]),
            files.createFile(atPath: output.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let sink = try? FileHandle(forWritingTo: output)
        else {
            return "group \"\(group)\": cannot write the bootstrap for envoy --mode validate"
        }
        defer { try? sink.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: envoyPath)
        process.arguments = [
            "--mode", "validate", "-c", config.path, "-l", "error", "--disable-hot-restart",
            "--concurrency", "1",
        ]
        process.standardOutput = sink
        process.standardError = sink
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            return "group \"\(group)\": cannot run \(envoyPath): \(error)"
        }
        if finished.wait(timeout: .now() + .seconds(timeoutSeconds)) == .timedOut {
            process.terminate()
            finished.wait()
            return "group \"\(group)\": \(envoyPath) --mode validate did not finish within \(timeoutSeconds)s"
        }
        if process.terminationReason == .exit, process.terminationStatus == 0 { return nil }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return "group \"\(group)\": Envoy refuses the snapshot: " + Self.summary(of: text)
    }

    /// Envoy's explanation in one bounded line: its error lines (or its last line), without key material.
    static func summary(of output: String) -> String {
        let lines = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.contains("PRIVATE KEY") && !$0.hasPrefix("configuration '") }
        let errors = lines.filter { $0.localizedCaseInsensitiveContains("error") || $0.contains("exception") }
        let chosen = errors.isEmpty ? Array(lines.suffix(1)) : errors
        let text = chosen.joined(separator: " / ")
        if text.isEmpty { return "envoy --mode validate failed without a message" }
        return text.count > 2000 ? String(text.prefix(2000)) + "…" : text
    }
}
