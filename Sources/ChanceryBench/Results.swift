import Foundation

/// One scenario's figures (latencies in ms from the save / trigger, CPU of the server process).
struct ScenarioResult: Codable {
    var name: String
    var rounds: Int
    var p50Ms: Double
    var p99Ms: Double
    var maxMs: Double
    /// Server CPU seconds (utime + stime) per change, averaged over rounds.
    var cpuSeconds: Double
    /// `cpuSeconds` per proxy, in µs.
    var cpuMicrosPerProxy: Double
    var bytesInPerProxy: Int
    var bytesOutPerProxy: Int

    init(name: String, latenciesMs: [Double], rounds: Int, cpuSeconds: Double, proxies: Int, bytes: (Int, Int)) {
        self.name = name
        self.rounds = rounds
        let sorted = latenciesMs.sorted()
        func percentile(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }
        p50Ms = percentile(0.5)
        p99Ms = percentile(0.99)
        maxMs = sorted.last ?? 0
        self.cpuSeconds = cpuSeconds / Double(max(1, rounds))
        cpuMicrosPerProxy = self.cpuSeconds * 1e6 / Double(max(1, proxies))
        bytesInPerProxy = bytes.0 / max(1, proxies * rounds)
        bytesOutPerProxy = bytes.1 / max(1, proxies * rounds)
    }
}

/// One server at one proxy count in one mode.
struct RunResult: Codable {
    var server: String
    var mode: String
    var proxies: Int
    var rssBeforeKiB: Int = 0
    var rssConnectedKiB: Int = 0
    var rssPerProxyKiB: Double = 0
    var connectTotalMs: Double = 0
    /// Server CPU seconds per second while every proxy is connected and nothing changes.
    var idleCpuSecondsPerSecond: Double = 0
    var scenarios: [ScenarioResult] = []
    var error: String?
}

struct Machine: Codable {
    var cores: Int
    var cpu: String
    var loadAverage: String
    var date: String

    static func current() -> Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)) } ?? "?"
        let load = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "")
            .split(separator: " ").prefix(3).joined(separator: " ")
        return Machine(
            cores: ProcessInfo.processInfo.activeProcessorCount, cpu: model, loadAverage: load,
            date: ISO8601DateFormatter().string(from: Date()))
    }
}

struct Report: Codable {
    var machine: Machine
    var command: String
    var runs: [RunResult]
    var loadAverageAfter: String = ""

    /// A short table: every scenario of every run, with ratios to the reference and raw runs of the same size.
    func table() -> String {
        var lines = [
            "server     mode  proxies scenario           p50 ms   p99 ms   max ms  cpu s/chg  µs/proxy  ×ref cpu  ×raw cpu  ×raw p99   RSS KiB/proxy"
        ]
        for run in runs {
            if let error = run.error {
                lines.append("\(pad(run.server, 10)) \(pad(run.mode, 5)) \(pad("\(run.proxies)", 7)) FAILED: \(error)")
            }
            for scenario in run.scenarios {
                let reference = match(run, "reference", scenario.name)
                let raw = match(run, "raw", scenario.name)
                func ratio(_ a: Double, _ b: Double?) -> String {
                    guard let b, b > 0 else { return "-" }
                    return String(format: "%.2f", a / b)
                }
                let figures = String(
                    format: "%8.1f %8.1f %8.1f %10.4f %9.1f", scenario.p50Ms, scenario.p99Ms, scenario.maxMs,
                    scenario.cpuSeconds, scenario.cpuMicrosPerProxy)
                let ratios = [
                    ratio(scenario.cpuSeconds, reference?.cpuSeconds), ratio(scenario.cpuSeconds, raw?.cpuSeconds),
                    ratio(scenario.p99Ms, raw?.p99Ms),
                ].map { pad($0, 9) }.joined(separator: " ")
                lines.append(
                    "\(pad(run.server, 10)) \(pad(run.mode, 5)) \(pad("\(run.proxies)", 7)) "
                        + "\(pad(scenario.name, 16)) \(figures)  \(ratios) "
                        + String(format: "%14.1f", run.rssPerProxyKiB))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The same scenario measured on `server` at the same size (raw has one mode for all).
    private func match(_ run: RunResult, _ server: String, _ scenario: String) -> ScenarioResult? {
        runs.first { $0.server == server && $0.proxies == run.proxies && (server == "raw" || $0.mode == run.mode) }?
            .scenarios.first { $0.name == scenario }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// Prints a line unbuffered, so progress shows while a long run is going (stdout is often a pipe).
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
