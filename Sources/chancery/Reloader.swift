import Logging
import Snapshot

/// Loads the routes file and certificates into the store; a failure keeps the last good snapshot in force.
struct Reloader: Sendable {
    let configPath: String
    let certsPath: String
    let store: SnapshotStore
    let logger: Logger
    /// An extra check before publishing (`serve --validate-with-envoy`); nil publishes what loads.
    var check: (any SnapshotCheck)? = nil

    @discardableResult
    func reload() -> Bool {
        do {
            let result = try Loader.load(configPath: configPath, certsPath: certsPath)
            for warning in result.warnings { logger.warning("\(warning)") }
            if let check, let reasons = check.refusal(of: result.snapshot, replacing: store.current) {
                store.recordFailure(reasons, warnings: result.warnings)
                for line in reasons { logger.error("rejected: \(line)") }
                return false
            }
            if store.publish(result.snapshot, warnings: result.warnings) {
                logger.info("published snapshot", metadata: ["version": "\(result.snapshot.version)"])
            }
            return true
        } catch {
            store.recordFailure(error.errors)
            for line in error.errors { logger.error("rejected: \(line)") }
            return false
        }
    }
}
