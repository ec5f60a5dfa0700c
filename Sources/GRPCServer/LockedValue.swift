import Foundation

/// A value behind a lock, for the few counters read from arbitrary threads.
///
/// NIOConcurrencyHelpers is not a dependency of this target and `Synchronization.Mutex` needs macOS 15,
/// so this wraps Foundation's `NSLock`.
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLockedValue<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
