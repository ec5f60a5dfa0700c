import ArgumentParser
import GRPCServer
import Logging
import XDS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `serve` options that bound what proxies (or anything that connects) can make the server hold.
/// Defaults suit a fleet of up to ~10,000 proxies; see the README's Limits table.
struct ServeLimits: ParsableArguments {
    @Option(help: "Server-wide bytes of buffered request messages plus retained subscription state.")
    var maxBufferedBytes: Int = 512 << 20

    @Option(help: "Resource names one xDS stream may subscribe to per type.")
    var maxNamesPerType: Int = 10_000

    @Option(help: "Concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS).")
    var maxStreamsPerConnection: Int = 100

    @Option(help: "Open xDS connections at most (also capped below the file descriptor limit).")
    var maxConnections: Int = 20_000

    @Option(help: "Seconds a new connection has to send the HTTP/2 preface and its first request.")
    var handshakeTimeout: Double = 10

    @Option(help: "Seconds a connection may stay open without a stream (0: no limit).")
    var idleTimeout: Double = 300

    @Option(help: "File descriptors kept free of xDS connections, for the admin endpoint, files and reloads.")
    var fdReserve: Int = 256

    func validate() throws {
        for (name, value) in [
            ("--max-buffered-bytes", maxBufferedBytes), ("--max-names-per-type", maxNamesPerType),
            ("--max-streams-per-connection", maxStreamsPerConnection),
            ("--max-connections", maxConnections),
        ] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        guard handshakeTimeout > 0 else { throw ValidationError("--handshake-timeout must be more than 0") }
        guard idleTimeout >= 0 else { throw ValidationError("--idle-timeout must not be negative") }
        guard fdReserve >= 0 else { throw ValidationError("--fd-reserve must not be negative") }
    }

    var xdsLimits: XDSLimits {
        var limits = XDSLimits()
        limits.maxNamesPerType = maxNamesPerType
        return limits
    }

    /// Raises the descriptor limit and sets the gRPC server's limits. Connections are capped below the descriptor
    /// limit, so xDS connections alone can never exhaust it and the admin endpoint keeps answering.
    func apply(to configuration: inout GRPCServerConfiguration, logger: Logger) {
        configuration.memoryBudget = MemoryBudget(limit: maxBufferedBytes)
        configuration.maxConcurrentStreams = maxStreamsPerConnection
        configuration.handshakeTimeout = .milliseconds(Int64(handshakeTimeout * 1000))
        configuration.idleTimeout = idleTimeout > 0 ? .milliseconds(Int64(idleTimeout * 1000)) : nil
        configuration.maxConnections = maxConnections
        guard let descriptors = FileDescriptorLimit.raise(logger: logger) else { return }
        // Keep `fdReserve` free, but never give xDS less than half the table on a small limit.
        let cap = max(descriptors - fdReserve, descriptors / 2)
        if cap < maxConnections {
            configuration.maxConnections = cap
            logger.notice(
                "xDS connections capped below the file descriptor limit",
                metadata: [
                    "max_connections": "\(cap)", "nofile": "\(descriptors)", "fd_reserve": "\(fdReserve)",
                ])
        }
    }
}

/// RLIMIT_NOFILE: the only raw system calls `serve` makes itself.
enum FileDescriptorLimit {
    /// Raises the soft limit to the hard limit (logging both); returns the soft limit now in force.
    static func raise(logger: Logger) -> Int? {
        var limits = rlimit()
        guard get(&limits) else {
            logger.warning("cannot read the file descriptor limit", metadata: ["errno": "\(errno)"])
            return nil
        }
        let before = limits.rlim_cur
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            if set(&raised) {
                limits = raised
            } else {
                logger.warning("cannot raise the file descriptor limit", metadata: ["errno": "\(errno)"])
            }
        }
        logger.info(
            "file descriptor limit",
            metadata: [
                "soft_before": "\(before)", "soft": "\(limits.rlim_cur)", "hard": "\(limits.rlim_max)",
            ])
        return limits.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limits.rlim_cur)
    }

    private static func get(_ limits: inout rlimit) -> Bool {
        #if os(Linux)
            getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0
        #else
            getrlimit(RLIMIT_NOFILE, &limits) == 0
        #endif
    }

    private static func set(_ limits: inout rlimit) -> Bool {
        #if os(Linux)
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0
        #else
            setrlimit(RLIMIT_NOFILE, &limits) == 0
        #endif
    }
}
