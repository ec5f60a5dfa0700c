import ArgumentParser
import Dispatch
import Foundation
import Logging
import Pipeline
import Snapshot

/// `serve` options about reading inputs: size caps and the periodic rescan.
struct InputOptions: ParsableArguments {
    @Option(help: "Largest routes file read, in bytes; a larger one is refused before it is read.")
    var maxConfigBytes: Int = 16 << 20

    @Option(
        help:
            "Seconds between rescans of the routes file and certificates by content (a safety net for missed file events); 0 turns it off."
    )
    var rescanInterval: Int = 60

    @Option(
        help:
            "A directory of raw Envoy resources (.yaml/.json in proto3 JSON form) added to the groups' snapshots; see docs/ROUTES.md."
    )
    var raw: String?

    var limits: Loader.Limits { Loader.Limits(maxConfigBytes: maxConfigBytes) }

    func validate() throws {
        guard maxConfigBytes > 0 else { throw ValidationError("--max-config-bytes must be positive") }
        guard rescanInterval >= 0 else { throw ValidationError("--rescan-interval must be 0 or more seconds") }
    }

    /// Rescans every `rescanInterval` seconds; a rescan publishes only when some input's content changed.
    func startRescan(_ reloader: Reloader, _ watcher: FileWatcher) -> DispatchSourceTimer? {
        guard rescanInterval > 0 else { return nil }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "chancery.rescan"))
        timer.schedule(deadline: .now() + .seconds(rescanInterval), repeating: .seconds(rescanInterval))
        timer.setEventHandler {
            watcher.refresh()
            reloader.schedule(.rescan)
        }
        timer.resume()
        return timer
    }
}

/// SIGHUP forces a reload and rescan, the way daemons are told "look again"; it never stops the process.
func reloadOnHangup(_ reloader: Reloader, _ watcher: FileWatcher) {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "chancery.sighup"))
    source.setEventHandler {
        watcher.refresh()
        reloader.schedule(.signal)
    }
    source.resume()
    SignalSources.keep([source])
}
