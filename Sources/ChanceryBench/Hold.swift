import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `hold`: N simulated proxies that stay connected to one server for as long as the run lasts, reconnecting
/// whenever the server goes away (a restart, a kill -9), and report what they hold every few seconds. It is the
/// fleet of the soak (`benchmarks/soak.py`): the soak changes files and restarts the server, `hold` says whether
/// every proxy came back and ended on the same versions.
struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold",
        abstract: "Keep N proxies connected to one server, reconnecting after loss; print what they hold as JSON lines."
    )

    @Option(help: "The server's xDS port on 127.0.0.1.") var port: Int
    @Option(help: "Proxies to hold.") var proxies = 1000
    @Option(help: "Every Nth proxy uses a delta stream, the others state of the world (0: none delta).")
    var deltaEvery = 2
    @Option(help: "Seconds between reports on stdout.") var reportSeconds = 5.0
    @Option(help: "Stop after this many seconds.") var duration = 3600.0
    @Option(help: "Node ids are <prefix>-<index>.") var nodePrefix = "hold"

    func validate() throws {
        guard proxies >= 1, deltaEvery >= 0, reportSeconds > 0, duration > 0 else {
            throw ValidationError("counts and times must be positive")
        }
    }

    func run() async throws {
        let limit = raiseDescriptorLimit()
        guard proxies + 100 < limit else { throw ValidationError("descriptor limit \(limit) is too low") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let tracker = HoldTracker(proxies: proxies)
        let deadline = ContinuousClock.now + .seconds(duration)
        let options = self
        await withTaskGroup(of: Void.self) { tasks in
            for index in 0..<proxies {
                tasks.addTask {
                    await options.keep(index: index, tracker: tracker, group: group, until: deadline)
                }
            }
            tasks.addTask {
                while ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .seconds(options.reportSeconds))
                    tracker.report()
                }
            }
        }
        tracker.report()
        try? await group.shutdownGracefully()
    }

    /// One proxy: connect, wait for the connection to end, wait a little (longer after repeated failures), again.
    private func keep(
        index: Int, tracker: HoldTracker, group: any EventLoopGroup, until deadline: ContinuousClock.Instant
    ) async {
        let delta = deltaEvery > 0 && index % deltaEvery == deltaEvery - 1
        // The first connections are spread over a second so that a thousand proxies do not arrive at once.
        try? await Task.sleep(for: .milliseconds(index % 1000))
        var failures = 0
        while ContinuousClock.now < deadline {
            let recorder = Recorder(proxies: 1)
            let bootstrap = ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { [port, nodePrefix] channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = ProxyHandler(
                            index: 0, delta: delta, recorder: recorder, authority: "127.0.0.1:\(port)",
                            node: "\(nodePrefix)-\(index)",
                            observer: { tracker.acked(proxy: index, delta: delta, type: $0, version: $1) })
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
            if let channel = try? await bootstrap.connect(host: "127.0.0.1", port: port).get() {
                tracker.connected(proxy: index)
                try? await channel.closeFuture.get()
                tracker.disconnected(proxy: index)
                failures = 0
            } else {
                failures += 1
            }
            // 0.2 s to 0.7 s after a loss, doubling per failed attempt up to 5 s, spread so reconnects do not stampede.
            let backoff = min(5000, 200 << min(failures, 5)) + Int.random(in: 0...500)
            try? await Task.sleep(for: .milliseconds(backoff))
        }
    }
}
