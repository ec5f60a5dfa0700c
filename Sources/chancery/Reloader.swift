import Certs
import Dispatch
import Foundation
import Logging
import Pipeline
import Snapshot
import Synchronization

/// Loads the routes file and certificates into the store; a failure keeps the last good snapshot in force.
///
/// Every trigger (a file event, the periodic rescan, SIGHUP, a retry) runs on one serial queue, so loads never
/// overlap and the last good certificates are carried from one load to the next: a bundle caught half-renewed
/// keeps its previous version until the renewal completes, and a short retry timer looks again meanwhile.
final class Reloader: @unchecked Sendable {
    enum Trigger: CustomStringConvertible {
        case start, fileEvent, rescan, signal, retry
        var description: String {
            switch self {
            case .start: return "start"
            case .fileEvent: return "file change"
            case .rescan: return "periodic rescan"
            case .signal: return "SIGHUP"
            case .retry: return "retry"
            }
        }
    }

    let configPath: String
    let certsPath: String
    let rawPath: String?
    let store: SnapshotStore
    let logger: Logger
    let limits: Loader.Limits
    /// A load running longer than this is reported on `/status` and in the log (it is not interrupted).
    let deadline: DispatchTimeInterval
    /// How soon to look again while a certificate is served from its last good version.
    let retryDelay: DispatchTimeInterval
    /// How many such retries in a row before leaving it to file events and the rescan.
    let maxRetries = 30
    /// An extra check before publishing (`serve --validate-with-envoy`); nil publishes what loads.
    let check: (any SnapshotCheck)?
    /// Loads, failed loads and build time (`Telemetry.swift`).
    let metrics: ReloadMetrics

    private let queue = DispatchQueue(label: "chancery.reload")
    private let watchdogQueue = DispatchQueue(label: "chancery.reload.watchdog")
    /// The load in progress, if any: its sequence number, trigger and start; read by the watchdog.
    private let running = Mutex<(sequence: UInt64, trigger: String, started: Date)?>(nil)
    // Touched only on `queue`.
    private var sequence: UInt64 = 0
    private var lastGood: [String: CertificateBundle] = [:]
    private var lastDigest: String?
    private var retries = 0
    private var retryScheduled = false

    init(
        configPath: String, certsPath: String, rawPath: String? = nil, store: SnapshotStore, logger: Logger,
        limits: Loader.Limits = Loader.Limits(), deadline: DispatchTimeInterval = .seconds(10),
        retryDelay: DispatchTimeInterval = .seconds(1), check: (any SnapshotCheck)? = nil,
        metrics: ReloadMetrics = ReloadMetrics()
    ) {
        self.check = check
        self.metrics = metrics
        self.configPath = configPath
        self.certsPath = certsPath
        self.rawPath = rawPath
        self.store = store
        self.logger = logger
        self.limits = limits
        self.deadline = deadline
        self.retryDelay = retryDelay
    }

    /// Loads now, on the caller's thread (waiting for any load in progress); returns whether the routes file loaded.
    @discardableResult
    func reload(_ trigger: Trigger = .start) -> Bool {
        queue.sync { run(trigger) }
    }

    /// Loads soon, without blocking the caller.
    func schedule(_ trigger: Trigger) {
        queue.async { _ = self.run(trigger) }
    }

    private func run(_ trigger: Trigger) -> Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        sequence += 1
        let mine = sequence
        running.withLock { $0 = (mine, "\(trigger)", Date()) }
        watchdogQueue.asyncAfter(deadline: .now() + deadline) { [weak self] in self?.checkStalled(mine) }
        defer { finished(mine) }
        if trigger == .signal { logger.notice("SIGHUP: reloading the routes file and rescanning certificates") }
        let started = DispatchTime.now().uptimeNanoseconds
        var counted = false
        do {
            let inputs = try Loader.read(
                configPath: configPath, certsPath: certsPath, rawPath: rawPath, lastGood: lastGood,
                limits: limits)
            if trigger == .rescan, inputs.digest == lastDigest {
                logger.trace("rescan: no change")
                return true
            }
            metrics.reloads.increment()
            counted = true
            let result = try Loader.build(inputs, lastGood: lastGood)
            metrics.build.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
            lastGood = result.certificates
            lastDigest = result.inputDigest
            let before = store.certificates.entries
            store.certificates.update(with: result)
            CertificateChanges.log(CertificateChanges.between(before, store.certificates.entries), to: logger)
            for warning in result.warnings { logger.warning("\(warning)") }
            if let check, let reasons = check.refusal(of: result.snapshot, replacing: store.current) {
                store.recordFailure(reasons, warnings: result.warnings)
                refused(reasons, trigger)
                return false
            }
            if store.publish(result.snapshot, warnings: result.warnings) {
                logger.info(
                    "published snapshot",
                    metadata: [
                        "version": "\(result.snapshot.version)",
                        "trigger": "\(trigger)",
                    ])
            } else if trigger == .signal || trigger == .rescan {
                logger.info("no change", metadata: ["trigger": "\(trigger)"])
            }
            retryIfWaiting(result.waitingForRepair)
            return true
        } catch {
            // A read that failed never reached the no-change check above: it is a load, and a failed one.
            if !counted { metrics.reloads.increment() }
            store.recordFailure(error.lines)
            refused(error.lines, trigger)
            return false
        }
    }

    /// One line for a refused load, with its first error (what an operator fixes first); the rest follow, one each.
    private func refused(_ lines: [String], _ trigger: Trigger) {
        metrics.errors.increment()
        logger.error(
            "reload refused; the last good snapshot stays in force",
            metadata: [
                "trigger": "\(trigger)", "error": "\(lines.first ?? "unknown error")", "errors": "\(lines.count)",
                "version": "\(store.current.version)",
            ])
        for line in lines.dropFirst() { logger.error("rejected: \(line)") }
    }

    /// A certificate served from its last good version is probably mid-renewal: look again shortly.
    private func retryIfWaiting(_ names: Set<String>) {
        guard !names.isEmpty else {
            retries = 0
            return
        }
        guard !retryScheduled, retries < maxRetries else { return }
        retries += 1
        retryScheduled = true
        queue.asyncAfter(deadline: .now() + retryDelay) { [weak self] in
            guard let self else { return }
            self.retryScheduled = false
            _ = self.run(.retry)
        }
    }

    private func checkStalled(_ mine: UInt64) {
        guard let current = running.withLock({ $0 }), current.sequence == mine else { return }
        let seconds = Int(Date().timeIntervalSince(current.started))
        let text =
            "reload (\(current.trigger)) still running after \(seconds) s; an input may be blocking; "
            + "the last good snapshot stays in force"
        logger.error("\(text)")
        store.certificates.setStalledReload(text)
        store.recordFailure([text])
    }

    private func finished(_ mine: UInt64) {
        let started = running.withLock { value -> Date? in
            defer { value = nil }
            return value?.sequence == mine ? value?.started : nil
        }
        if store.certificates.stalledReload != nil {
            store.certificates.setStalledReload(nil)
            let seconds = started.map { Int(Date().timeIntervalSince($0)) } ?? 0
            logger.warning("stalled reload finished", metadata: ["seconds": "\(seconds)"])
        }
    }
}
