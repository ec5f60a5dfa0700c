import Admin
import ArgumentParser
import NIOCore

/// `chancery serve` flags that bound what admin clients can cost; the admin runs on its own thread regardless.
struct AdminOptions: ParsableArguments {
    @Option(help: "Seconds an admin client has to send a whole request head, from connecting or from its first byte.")
    var adminHeaderTimeout: Double = 10

    @Option(help: "Seconds an admin connection may sit without reading or writing (idle keep-alive, stalled reader).")
    var adminIdleTimeout: Double = 60

    @Option(help: "Open admin connections; more are answered 503 and closed.")
    var adminMaxConnections: Int = 256

    @Option(help: "Largest admin request head (request line and headers), in bytes.")
    var adminMaxHeadBytes: Int = 8 << 10

    @Option(help: "Seconds /clients and /metrics may reuse their copy of the stream list.")
    var adminSummaryMaxAge: Double = 1

    func validate() throws {
        guard adminHeaderTimeout > 0, adminIdleTimeout > 0 else {
            throw ValidationError("--admin-header-timeout and --admin-idle-timeout must be more than 0 seconds")
        }
        guard adminMaxConnections >= 1 else { throw ValidationError("--admin-max-connections must be at least 1") }
        guard (256...(1 << 20)).contains(adminMaxHeadBytes) else {
            throw ValidationError("--admin-max-head-bytes must be from 256 to 1048576")
        }
        guard (0...3600).contains(adminSummaryMaxAge) else {
            throw ValidationError("--admin-summary-max-age must be from 0 to 3600 seconds")
        }
    }

    var limits: AdminLimits {
        var limits = AdminLimits()
        limits.headerTimeout = .nanoseconds(Int64(adminHeaderTimeout * 1e9))
        limits.idleTimeout = .nanoseconds(Int64(adminIdleTimeout * 1e9))
        limits.maxConnections = adminMaxConnections
        limits.maxHeadBytes = adminMaxHeadBytes
        limits.summaryMaxAge = .nanoseconds(Int64(adminSummaryMaxAge * 1e9))
        return limits
    }
}
