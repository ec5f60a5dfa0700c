import Admin
import ArgumentParser
import Dispatch
import Foundation
import GRPCServer
import GRPCTLS
import Logging
import NIOCore
import NIOPosix
import Snapshot
import XDS

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the routes file and certificates to Envoy over xDS, reloading on every change.")

    @Option(help: "The routes file.")
    var config: String

    @Option(
        help:
            "The certificate directory: DIR/NAME/tls.crt and tls.key (or fullchain.pem and privkey.pem); links are followed."
    )
    var certs: String

    @Option(help: "xDS gRPC listen address. Loopback by default: SDS carries private keys.")
    var xds: String = "127.0.0.1:18000"

    @Option(help: "Admin HTTP listen address.")
    var admin: String = "127.0.0.1:18001"

    @Option(help: "Select a proxy's node group by this node.metadata key instead of node.cluster.")
    var groupMetadataKey: String?

    @Option(help: "Largest gRPC message accepted from a proxy, in bytes.")
    var maxReceiveBytes: Int = 64 << 20

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @OptionGroup var inputs: InputOptions
    @OptionGroup(title: "Limits") var limits: ServeLimits
    @OptionGroup var adminOptions: AdminOptions
    @OptionGroup var envoyCheck: EnvoyCheckOptions
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Logging") var logging: LogOptions

    func run() async throws {
        let logger = logging.makeLogger(level: Logger.Level(rawValue: logLevel) ?? .info)
        let telemetry = Telemetry()
        let listen = try XDSListenAddress(xds)
        guard let (adminHost, adminPort) = splitHostPort(admin) else {
            throw ValidationError("--admin must be host:port")
        }

        var adminLimits = adminOptions.limits
        adminLimits.token = try security.adminToken(host: adminHost)
        if case .unix = listen, security.tlsFiles != nil {
            throw ValidationError(
                "--xds-tls-* apply to TCP; a Unix socket is guarded by its file mode (--xds-socket-mode)")
        }
        let tls: TLSServerContext?
        do {
            tls = try security.tlsFiles?.makeContext()
        } catch {
            printError("cannot serve xDS over TLS: \(error)")
            throw ExitCode(1)
        }
        let tlsWatcher = try tls.flatMap { try security.tlsFiles?.watch($0, logger: logger) }

        let store = SnapshotStore()
        let reloader = Reloader(
            configPath: config, certsPath: certs, rawPath: inputs.raw, store: store, logger: logger,
            limits: inputs.limits, check: envoyCheck.check, metrics: telemetry.reloads)
        // Watch before the first load, so an edit made while starting is not missed.
        let watcher = try FileWatcher(paths: [config, certs] + (inputs.raw.map { [$0] } ?? []), logger: logger) {
            reloader.schedule(.fileEvent)
        }
        reloadOnHangup(reloader, watcher)
        guard reloader.reload() else {
            watcher.stop()
            for line in store.status.errors { printError(line) }
            throw ExitCode(1)
        }
        let rescan = inputs.startRescan(reloader, watcher)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let selector: GroupSelector = groupMetadataKey.map { .metadataKey($0) } ?? .nodeCluster
        let xdsServer = XDSServer(
            store: store, selector: selector, defaultGroup: envoyCheck.defaultGroup,
            limits: limits.xdsLimits, metrics: telemetry.xds, logger: logger)
        var configuration = GRPCServerConfiguration()
        configuration.maxReceiveMessageBytes = maxReceiveBytes
        configuration.metrics = telemetry.server
        limits.apply(to: &configuration, logger: logger)
        // xDS streams never end on their own: after GOAWAY, give in-flight responses a moment, then end the streams
        // with UNAVAILABLE so proxies reconnect (to another replica) at once.
        configuration.shutdownGracePeriod = .seconds(1)
        let grpc = GRPCServer(
            service: xdsServer, configuration: configuration, group: group, logger: logger, tls: tls)
        // No group passed: the admin makes its own one-thread group, so admin clients never run on the xDS loops.
        let adminServer = AdminServer(
            store: store, registry: xdsServer.registry, groupGuard: xdsServer.groupGuard,
            limits: adminLimits, metrics: telemetry.exposition, logger: logger)
        let boundXDS: String
        let boundAdmin: Int
        do {
            boundXDS = try await startXDS(grpc, tls: tls != nil, logger: logger)
        } catch {
            printError("cannot listen for xDS on \(xds): \(error)")
            throw ExitCode(1)
        }
        do {
            boundAdmin = try await adminServer.start(host: adminHost, port: adminPort)
        } catch {
            printError("cannot listen for the admin endpoint on \(admin): \(error)")
            await grpc.shutdown()
            throw ExitCode(1)
        }
        logger.info(
            "serving",
            metadata: [
                "xds": "\(boundXDS)", "admin": "\(adminHost):\(boundAdmin)",
                "snapshot": "\(store.current.version)",
            ])

        let signal = await waitForTermination()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        watcher.stop()
        tlsWatcher?.stop()
        rescan?.cancel()
        await grpc.shutdown()
        await adminServer.shutdown()
        try await group.shutdownGracefully()
    }
}

/// Suspends until SIGTERM or SIGINT arrives; returns its number.
func waitForTermination() async -> Int32 {
    await withCheckedContinuation { continuation in
        let queue = DispatchQueue(label: "chancery.signals")
        let once = OnceFlag()
        var sources: [DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                if once.claim() { continuation.resume(returning: number) }
            }
            source.resume()
            sources.append(source)
        }
        SignalSources.keep(sources)
    }
}

/// Keeps the signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var kept: [DispatchSourceSignal] = []
    static func keep(_ sources: [DispatchSourceSignal]) { kept += sources }
}

final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}
