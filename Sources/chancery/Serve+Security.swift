import Admin
import ArgumentParser
import Certs
import GRPCServer
import GRPCTLS
import Logging
import Synchronization

/// `chancery serve` flags that decide who can reach the xDS port and the admin endpoint (README, "Security").
struct SecurityOptions: ParsableArguments {
    @Option(
        help:
            "Serve xDS over TLS with this certificate chain (PEM, leaf first); needs --xds-tls-key and --xds-client-ca."
    )
    var xdsTlsCert: String?

    @Option(help: "The private key of --xds-tls-cert (PEM).")
    var xdsTlsKey: String?

    @Option(
        help: "CA certificates (PEM) that sign proxies' client certificates; a client certificate is then required.")
    var xdsClientCa: String?

    @Option(help: "File mode of the socket for --xds unix:PATH, octal.")
    var xdsSocketMode: String = "0660"

    @Option(
        help: "A file holding the bearer token the admin endpoint requires; mandatory when --admin is not loopback.")
    var adminTokenFile: String?

    /// The TLS files, when mutual TLS is on.
    var tlsFiles: TLSFiles? {
        guard let xdsTlsCert, let xdsTlsKey, let xdsClientCa else { return nil }
        return TLSFiles(certificate: xdsTlsCert, key: xdsTlsKey, clientCA: xdsClientCa)
    }

    func validate() throws {
        let given = [xdsTlsCert, xdsTlsKey, xdsClientCa].compactMap { $0 }.count
        guard given == 0 || given == 3 else {
            throw ValidationError(
                "--xds-tls-cert, --xds-tls-key and --xds-client-ca go together: mutual TLS needs all three")
        }
        guard UnixSocket.parseMode(xdsSocketMode) != nil else {
            throw ValidationError("--xds-socket-mode must be octal permission bits such as 0660")
        }
    }

    var socketMode: UInt16 { UnixSocket.parseMode(xdsSocketMode) ?? 0o660 }

    /// The admin token, required (and read) only when the admin listens beyond loopback.
    func adminToken(host: String) throws -> AdminToken? {
        guard let adminTokenFile else {
            if isLoopback(host) { return nil }
            throw ValidationError(
                "--admin \(host) is not loopback: give --admin-token-file FILE (the admin shows every connected proxy)")
        }
        switch InputFile.read(adminTokenFile, limit: 4096) {
        case .failure(let failure):
            throw ValidationError("--admin-token-file: \(failure)")
        case .success(let contents):
            guard let token = AdminToken(String(decoding: contents.bytes, as: UTF8.self)) else {
                throw ValidationError(
                    "--admin-token-file: the token must be at least \(AdminToken.minimumLength) printable characters")
            }
            return token
        }
    }
}

/// Where `serve` listens for xDS: `host:port`, or `unix:PATH`.
enum XDSListenAddress {
    case tcp(host: String, port: Int)
    case unix(path: String)

    init(_ text: String) throws {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/") else { throw ValidationError("--xds unix:PATH needs an absolute path") }
            self = .unix(path: path)
        } else if let (host, port) = splitHostPort(text) {
            self = .tcp(host: host, port: port)
        } else {
            throw ValidationError("--xds must be host:port or unix:/absolute/path")
        }
    }
}

/// Loopback by name or address: what only this host can reach.
func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
}

/// The server certificate, key and client CA of the xDS port, and how they are read and re-read.
struct TLSFiles: Sendable {
    var certificate: String
    var key: String
    var clientCA: String

    /// Reads the three files (regular files, size-capped) and builds a context; errors name the file, never bytes.
    func read() throws -> (chain: [UInt8], key: [UInt8], ca: [UInt8]) {
        func contents(_ path: String, _ what: String) throws -> [UInt8] {
            switch InputFile.read(path, limit: 1 << 20) {
            case .success(let contents): return contents.bytes
            case .failure(let failure): throw TLSSetupError("\(what) \(path): \(failure)")
            }
        }
        return (
            try contents(certificate, "--xds-tls-cert"), try contents(key, "--xds-tls-key"),
            try contents(clientCA, "--xds-client-ca")
        )
    }

    func makeContext() throws -> TLSServerContext {
        let files = try read()
        return try TLSServerContext(certificateChain: files.chain, privateKey: files.key, clientCA: files.ca)
    }

    /// Re-reads the files when any of them changes (the same inotify watcher as the certificate directory) and
    /// swaps the context for new connections; a broken set keeps the one in use and says why.
    func watch(_ context: TLSServerContext, logger: Logger) throws -> FileWatcher {
        let files = self
        let last = LastMaterial()
        if let initial = try? read() { last.changed(initial.chain + initial.key + initial.ca) }
        return try FileWatcher(paths: [certificate, key, clientCA], logger: logger) {
            do {
                let material = try files.read()
                // Other files in the same directories change too: only new content is worth a new context.
                guard last.changed(material.chain + material.key + material.ca) else { return }
                try context.replace(certificateChain: material.chain, privateKey: material.key, clientCA: material.ca)
                logger.info(
                    "xDS TLS certificate reloaded; new connections use it",
                    metadata: ["certificate": "\(files.certificate)"])
            } catch {
                logger.error(
                    "xDS TLS files changed but cannot be used; keeping the previous certificate",
                    metadata: ["error": "\(error)"])
            }
        }
    }
}

/// The TLS material last loaded, to tell a real change from an event about a neighbouring file.
private final class LastMaterial: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    /// Records `material`; true when it differs from what was recorded before.
    @discardableResult func changed(_ material: [UInt8]) -> Bool {
        bytes.withLock { old in
            defer { old = material }
            return old != material
        }
    }
}

extension Serve {
    /// Starts xDS on TCP (with mutual TLS when configured) or on a Unix socket; returns where it listens.
    func startXDS(_ grpc: GRPCServer, tls: Bool, logger: Logger) async throws -> String {
        switch try XDSListenAddress(xds) {
        case .tcp(let host, let port):
            let bound = try await grpc.start(host: host, port: port)
            if !tls && !isLoopback(host) {
                logger.warning(
                    """
                    xDS is served in cleartext beyond loopback: SDS private keys travel unencrypted and any client \
                    that reaches the port can take any group; use --xds-tls-cert/--xds-tls-key/--xds-client-ca
                    """,
                    metadata: ["xds": "\(host):\(bound)"])
            }
            return "\(host):\(bound)"
        case .unix(let path):
            try await grpc.start(unixSocket: path, mode: security.socketMode)
            return "unix:\(path)"
        }
    }
}
