import Foundation
import NIOCore

/// One server at one proxy count in one mode: start it, connect the fleet, run the scenarios, stop it.
final class Runner {
    let options: LoadCommand
    let kind: ServerKind
    let delta: Bool
    let count: Int
    let port: Int
    let adminPort: Int
    let root: String
    let group: any EventLoopGroup
    let rawSizes: [String: (Int, Int)]
    private(set) var measuredSizes: [String: (Int, Int)] = [:]
    private var target: Target?
    private var fleet: Fleet?
    private var scenarioNumber = 0

    init(
        options: LoadCommand, kind: ServerKind, delta: Bool, count: Int, ports: (Int, Int), root: String,
        group: any EventLoopGroup, rawSizes: [String: (Int, Int)]
    ) {
        self.options = options
        self.kind = kind
        self.delta = delta
        self.count = count
        (port, adminPort) = ports
        self.root = root
        self.group = group
        self.rawSizes = rawSizes
    }

    private var small: String { RoutesFile.make(clusters: options.clusters, routes: options.clusters) }

    func run(into result: inout RunResult) async throws {
        if kind == .raw, rawSizes.isEmpty { throw BenchError("raw needs a protocol server earlier in --servers") }
        let target = try Target(
            kind: kind, port: port, adminPort: adminPort, routes: small, chancery: options.chancery, root: root,
            rawBytes: rawSizes["connect"] ?? (0, 0))
        self.target = target
        try await target.waitReady(group: group)
        try await Task.sleep(for: .milliseconds(500))
        let before = try stats()
        result.rssBeforeKiB = before.rssKiB

        // Every config prepared now, before the fleet's sockets are open in this process: with 10,000 of them open,
        // spawning `chancery render` for the reference crashed inside Foundation's `Process.run` (once, at 5a4a810).
        let changes = try (1...options.rounds).map {
            try target.prepare(
                RoutesFile.make(clusters: options.clusters, routes: options.clusters, endpointShift: $0))
        }
        let whole =
            options.snapshot && count <= options.snapshotMaxProxies
            ? try [1, 2].map { try target.prepare(RoutesFile.make(clusters: 1000, routes: 10_000, generation: $0)) }
            : []

        let fleet = Fleet(capacity: count)
        self.fleet = fleet
        let start = nowNanos()
        try await fleet.connect(
            count: count, batch: options.batch, port: port, kind: kind, delta: delta, group: group,
            timeout: .seconds(options.timeout))
        result.connectTotalMs = Double(nowNanos() - start) / 1e6
        let connected = try stats()
        let (times, bytesIn, bytesOut) = fleet.recorder.results(count: count)
        let latencies = zip(times, fleet.starts).map { Double($0 - $1) / 1e6 }
        measuredSizes["connect"] = (bytesIn / count, bytesOut / count)
        result.scenarios.append(
            ScenarioResult(
                name: "connect", latenciesMs: latencies, rounds: 1,
                cpuSeconds: connected.cpuSeconds - before.cpuSeconds,
                proxies: count, bytes: (bytesIn, bytesOut)))
        // Idle RSS: after the connect burst has settled; idle CPU over the next 2 s (timers, keep-alives).
        try await Task.sleep(for: .seconds(2))
        let settled = try stats()
        try await Task.sleep(for: .seconds(2))
        let idle = try stats()
        result.idleCpuSecondsPerSecond = (idle.cpuSeconds - settled.cpuSeconds) / 2
        result.rssConnectedKiB = idle.rssKiB
        result.rssPerProxyKiB = Double(idle.rssKiB - before.rssKiB) / Double(count)
        say(
            String(
                format: "   connected in %.0f ms, RSS %d → %d KiB (%.1f KiB/proxy)", result.connectTotalMs,
                before.rssKiB, idle.rssKiB, result.rssPerProxyKiB))

        result.scenarios.append(try await scenario("endpoint-change", files: changes, expected: XDSType.endpoint.bit))
        say(line(result.scenarios.last!))

        if whole.count == 2 {
            let types = XDSType.cluster.bit | XDSType.endpoint.bit | XDSType.route.bit
            result.scenarios.append(try await scenario("snapshot-load", files: [whole[0]], expected: types))
            say(line(result.scenarios.last!))
            result.scenarios.append(try await scenario("snapshot-change", files: [whole[1]], expected: types))
            say(line(result.scenarios.last!))
        }
    }

    /// Applies each prepared file in turn (one round each) and waits until every proxy has ACKed the change.
    private func scenario(_ name: String, files: [String], expected: Int) async throws -> ScenarioResult {
        guard let target, let fleet else { throw BenchError("not started") }
        let sizes = rawSizes[name] ?? (0, 0)
        if kind == .raw, sizes.0 == 0 { throw BenchError("no byte count for \(name) from the protocol run") }
        var latencies: [Double] = []
        var cpu = 0.0
        var bytes = (0, 0)
        for prepared in files {
            scenarioNumber += 1
            fleet.recorder.begin(scenarioNumber, expected: kind == .raw ? 1 : expected)
            let before = try stats()
            let start = nowNanos()
            try target.apply(prepared, rawBytes: sizes)
            try await fleet.waitAll(count: count, deadline: .now + .seconds(options.timeout))
            let (times, bytesIn, bytesOut) = fleet.recorder.results(count: count)
            // Let the last ACKs be read before the CPU is sampled.
            try await Task.sleep(for: .milliseconds(200))
            cpu += try stats().cpuSeconds - before.cpuSeconds
            latencies += times.map { Double($0 - start) / 1e6 }
            bytes = (bytes.0 + bytesIn, bytes.1 + bytesOut)
            try await Task.sleep(for: .milliseconds(300))
        }
        measuredSizes[name] = (bytes.0 / (count * files.count), bytes.1 / (count * files.count))
        return ScenarioResult(
            name: name, latenciesMs: latencies, rounds: files.count, cpuSeconds: cpu, proxies: count, bytes: bytes)
    }

    private func stats() throws -> ProcessStats {
        guard let target, let stats = ProcessStats.read(pid: target.pid) else {
            throw BenchError("cannot read /proc of the \(kind) server")
        }
        return stats
    }

    private func line(_ scenario: ScenarioResult) -> String {
        String(
            format: "   %@: p50 %.1f ms, p99 %.1f ms, max %.1f ms, server CPU %.4f s/change (%.2f µs/proxy)",
            scenario.name as NSString, scenario.p50Ms, scenario.p99Ms, scenario.maxMs, scenario.cpuSeconds,
            scenario.cpuMicrosPerProxy)
    }

    func finish() async {
        await fleet?.close()
        await target?.stop()
    }
}
