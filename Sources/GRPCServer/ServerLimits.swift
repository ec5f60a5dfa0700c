import Foundation
import Logging
import NIOCore
import Synchronization

/// A server-wide count of bytes that peers make the server hold: unfinished inbound messages and, charged by the
/// service, the request state it keeps (an xDS stream's subscribed names).
///
/// Per-connection and per-stream caps alone multiply: thousands of streams or connections each under their own cap
/// can still take the whole machine. One shared budget bounds the total, whatever its split. Safe from any thread.
public final class MemoryBudget: Sendable {
    /// Bytes that may be charged at once.
    public let limit: Int
    private let used = Mutex(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// Bytes charged now (0 once every charging stream has closed).
    public var charged: Int { used.withLock { $0 } }

    /// Charges `bytes` if the total stays within `limit`; false (and nothing charged) otherwise.
    public func tryCharge(_ bytes: Int) -> Bool {
        guard bytes > 0 else {
            release(-bytes)
            return true
        }
        return used.withLock { used in
            guard used + bytes <= limit else { return false }
            used += bytes
            return true
        }
    }

    /// Charges `bytes` even past the limit (bytes already received must be counted to be released later).
    func forceCharge(_ bytes: Int) {
        used.withLock { $0 += bytes }
    }

    /// Gives back bytes charged earlier.
    public func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.withLock { $0 -= bytes }
    }

    /// True while more than `limit` bytes are charged.
    var isExceeded: Bool { used.withLock { $0 > limit } }
}

/// Logs a repeated event at most once per interval: the first occurrence at once (with its peer), later ones counted
/// and reported with the next line. A flood of refused streams or connections costs one log line, not one per event.
public final class RateLimitedLog: Sendable {
    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let interval: Duration
    private let state = Mutex(State())

    public init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// Logs `message` with `metadata` unless a line went out less than `interval` ago; adds how many were skipped.
    public func log(
        _ logger: Logger, level: Logger.Level = .warning, _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata = [:], file: String = #fileID,
        function: String = #function, line: UInt = #line
    ) {
        let now = ContinuousClock.now
        let skipped: Int? = state.withLock { state in
            if let last = state.lastLogged, now - last < interval {
                state.suppressed += 1
                return nil
            }
            state.lastLogged = now
            defer { state.suppressed = 0 }
            return state.suppressed
        }
        guard let skipped else { return }
        var fields = metadata()
        if skipped > 0 { fields["suppressed"] = "\(skipped) more since the last report" }
        logger.log(level: level, message(), metadata: fields, file: file, function: function, line: line)
    }
}

/// "ip:port" (IPv6 in brackets), as the connection handler prints peers.
package func describePeer(_ address: SocketAddress?) -> String {
    guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
    return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
}

/// Rate-limited logs for the limits a gRPC server enforces, one per kind so one flood does not hide another.
final class LimitLogs: Sendable {
    let connections = RateLimitedLog()
    let evictions = RateLimitedLog()
    let streams = RateLimitedLog()
    let budget = RateLimitedLog()
    let handshake = RateLimitedLog()
    let accept = RateLimitedLog(interval: .seconds(5))
}

/// One descriptor held open on /dev/null for when the process runs out (the classic reserve-fd trick).
///
/// NIO 2.101's listener keeps its read pending when accept(2) fails before accepting anything, so epoll reports the
/// pending connection again at once and the failure repeats in a busy loop; an AcceptBackoffHandler cannot stop that.
/// Freeing the reserve lets the next accept succeed; that connection is closed at once (shed) and the reserve retaken,
/// so the backlog drains at the rate connections arrive instead of spinning.
final class DescriptorReserve: Sendable {
    private struct State {
        var descriptor: Int32 = -1
        var shedding = false
    }

    private let state = Mutex(State())

    init() {
        reacquire()
    }

    deinit {
        state.withLock { state in
            if state.descriptor >= 0 { close(state.descriptor) }
        }
    }

    /// accept(2) failed for lack of descriptors: free the reserve and shed the next connection accepted.
    func release() {
        state.withLock { state in
            if state.descriptor >= 0 {
                close(state.descriptor)
                state.descriptor = -1
            }
            state.shedding = true
        }
    }

    /// True once after `release`: the connection just accepted holds the reserve's descriptor and must be closed.
    func takeShed() -> Bool {
        state.withLock { state in
            defer { state.shedding = false }
            return state.shedding
        }
    }

    /// Takes the reserve again (after the shed connection closed).
    func reacquire() {
        state.withLock { state in
            if state.descriptor < 0 { state.descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC) }
        }
    }
}
