import Synchronization

/// Monotonic nanoseconds since the tool started, comparable across event-loop threads.
let benchClock = ContinuousClock()
let benchEpoch = benchClock.now

func nowNanos() -> Int64 {
    let elapsed = benchEpoch.duration(to: benchClock.now).components
    return elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
}

/// Where proxies report, from their event loops, when they hold what the current scenario waits for.
///
/// A scenario is a number plus the set of xDS types it changes. Nothing is pushed between scenarios, so each proxy
/// counts the first response of every expected type it ACKs after the scenario began; when it has them all, it
/// records the time once. Connecting is scenario 0 (every type, the time taken from the proxy's own start).
final class Recorder: Sendable {
    private struct State {
        var scenario = 0
        var expected = XDSType.allBits
        var completions: [Int64]
        var completed = 0
        var bytesIn = 0
        var bytesOut = 0
        var failures: [String] = []
    }
    private let state: Mutex<State>
    /// Read on every response without taking the lock.
    private let scenarioNumber = Atomic<Int>(0)

    init(proxies: Int) {
        state = Mutex(State(completions: Array(repeating: -1, count: proxies)))
    }

    var currentScenario: Int { scenarioNumber.load(ordering: .acquiring) }
    var expectedTypes: Int { state.withLock { $0.expected } }

    /// Starts scenario `number`: forgets the previous completions.
    func begin(_ number: Int, expected: Int) {
        state.withLock {
            $0.scenario = number
            $0.expected = expected
            $0.completed = 0
            $0.bytesIn = 0
            $0.bytesOut = 0
            for index in $0.completions.indices { $0.completions[index] = -1 }
        }
        scenarioNumber.store(number, ordering: .releasing)
    }

    func complete(proxy: Int, scenario: Int, at time: Int64, bytesIn: Int, bytesOut: Int) {
        state.withLock {
            guard $0.scenario == scenario, $0.completions[proxy] < 0 else { return }
            $0.completions[proxy] = time
            $0.completed += 1
            $0.bytesIn += bytesIn
            $0.bytesOut += bytesOut
        }
    }

    func fail(_ message: String) {
        state.withLock { if $0.failures.count < 20 { $0.failures.append(message) } }
    }

    var completed: Int { state.withLock { $0.completed } }
    var failures: [String] { state.withLock { $0.failures } }

    /// Completion times of the first `count` proxies (-1: not complete) and the bytes they moved.
    func results(count: Int) -> (times: [Int64], bytesIn: Int, bytesOut: Int) {
        state.withLock { (Array($0.completions.prefix(count)), $0.bytesIn, $0.bytesOut) }
    }
}
