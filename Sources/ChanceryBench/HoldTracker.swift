import Foundation
import Synchronization

/// What every held proxy has: whether it is connected, how often it reconnected, and the version it last ACKed per
/// xDS type. Updated from the event loops, read by the report.
final class HoldTracker: Sendable {
    private struct State {
        var connected: [Bool]
        var connects = 0
        var versions: [[String]]
        var delta: [Bool]
    }
    private let state: Mutex<State>
    private let started = ContinuousClock.now

    init(proxies: Int) {
        state = Mutex(
            State(
                connected: Array(repeating: false, count: proxies),
                versions: Array(repeating: Array(repeating: "", count: XDSType.allCases.count), count: proxies),
                delta: Array(repeating: false, count: proxies)))
    }

    func connected(proxy: Int) {
        state.withLock {
            $0.connected[proxy] = true
            $0.connects += 1
        }
    }

    func disconnected(proxy: Int) {
        state.withLock { $0.connected[proxy] = false }
    }

    func acked(proxy: Int, delta: Bool, type: XDSType, version: [UInt8]) {
        let text = String(decoding: version, as: UTF8.self)
        state.withLock {
            $0.versions[proxy][type.rawValue] = text
            $0.delta[proxy] = delta
        }
    }

    /// One JSON line on stdout: seconds since start, proxies connected, connections made (the first ones
    /// included), and per stream kind and type how many proxies hold each version.
    func report() {
        let line: [String: Any] = state.withLock { state in
            var versions: [String: [String: Int]] = [:]
            for (proxy, held) in state.versions.enumerated() {
                let kind = state.delta[proxy] ? "delta" : "sotw"
                for type in XDSType.allCases where !held[type.rawValue].isEmpty {
                    versions["\(kind):\(type.name)", default: [:]][held[type.rawValue], default: 0] += 1
                }
            }
            return [
                "t": (ContinuousClock.now - started).components.seconds,
                "proxies": state.connected.count,
                "connected": state.connected.filter { $0 }.count,
                "connects": state.connects,
                "versions": versions,
            ]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

extension XDSType {
    /// The short name used in reports.
    var name: String {
        switch self {
        case .cluster: "cluster"
        case .endpoint: "endpoint"
        case .listener: "listener"
        case .route: "route"
        }
    }
}
