import Foundation
import NIOCore
import NIOPosix

/// Which server a run measures.
enum ServerKind: String, CaseIterable, Sendable {
    case chancery, reference, raw
}

/// A server under test running as its own process, and how to hand it the next version of the config.
final class Target {
    let kind: ServerKind
    let port: Int
    let process: Process
    private let workDirectory: URL
    private let chancery: String
    private let control: FileHandle?

    var pid: Int32 { process.processIdentifier }
    var routesPath: String { workDirectory.appendingPathComponent("routes.yaml").path }
    var certsPath: String { workDirectory.appendingPathComponent("certs").path }
    var resourcesPath: String { workDirectory.appendingPathComponent("resources.json").path }

    /// Writes `routes` (and, for the reference server, its rendering) and starts the server on `port`.
    /// `rawBytes`: for the raw server, the bytes and ACK bytes one proxy moves when it connects.
    init(
        kind: ServerKind, port: Int, adminPort: Int, routes: String, chancery: String, root: String,
        rawBytes: (Int, Int) = (0, 0)
    ) throws {
        self.kind = kind
        self.port = port
        self.chancery = chancery
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chancery-bench-\(UUID())")
        workDirectory = directory
        try FileManager.default.createDirectory(
            atPath: directory.appendingPathComponent("certs").path, withIntermediateDirectories: true)
        let routesPath = directory.appendingPathComponent("routes.yaml").path
        let certsPath = directory.appendingPathComponent("certs").path
        let resourcesPath = directory.appendingPathComponent("resources.json").path
        process = Process()
        process.standardOutput = FileHandle.nullDevice
        let input = Pipe()
        switch kind {
        case .chancery:
            try routes.write(toFile: routesPath, atomically: false, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: chancery)
            process.arguments = [
                "serve", "--config", routesPath, "--certs", certsPath, "--xds", "127.0.0.1:\(port)",
                "--admin", "127.0.0.1:\(adminPort)", "--log-level", "error",
            ]
            control = nil
        case .reference:
            try Data(try Self.render(routes, chancery: chancery, in: directory).utf8).write(
                to: URL(fileURLWithPath: resourcesPath))
            process.executableURL = URL(fileURLWithPath: root + "/.venv/bin/python")
            process.arguments = [
                root + "/benchmarks/reference_server.py", "--port", "\(port)", "--resources", resourcesPath,
            ]
            control = nil
        case .raw:
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            process.arguments = [
                "raw-server", "--port", "\(port)", "--initial-bytes", "\(rawBytes.0)", "--ack-bytes", "\(rawBytes.1)",
            ]
            process.standardInput = input
            control = input.fileHandleForWriting
        }
        try process.run()
    }

    /// `chancery render --format wire` of a routes file: the exact resource bytes Chancery serves.
    static func render(_ routes: String, chancery: String, in directory: URL) throws -> String {
        let file = directory.appendingPathComponent("render-input.yaml")
        try routes.write(to: file, atomically: false, encoding: .utf8)
        let render = Process()
        render.executableURL = URL(fileURLWithPath: chancery)
        render.arguments = [
            "render", "--config", file.path, "--certs", directory.appendingPathComponent("certs").path,
            "--format", "wire",
        ]
        let output = Pipe()
        render.standardOutput = output
        try render.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        render.waitUntilExit()
        guard render.terminationStatus == 0 else { throw BenchError("chancery render failed") }
        return String(decoding: data, as: UTF8.self)
    }

    /// What `apply` needs for the next config, prepared before the clock starts (the reference server's rendering).
    func prepare(_ routes: String) throws -> String {
        kind == .reference ? try Self.render(routes, chancery: chancery, in: workDirectory) : routes
    }

    /// Hands over the prepared config: the routes file saved (Chancery), the rendering saved and SIGHUP (reference),
    /// or one blob of `rawBytes` per socket (raw).
    func apply(_ prepared: String, rawBytes: (Int, Int)) throws {
        switch kind {
        case .chancery:
            try prepared.write(toFile: routesPath, atomically: false, encoding: .utf8)
        case .reference:
            try Data(prepared.utf8).write(to: URL(fileURLWithPath: resourcesPath))
            kill(pid, SIGHUP)
        case .raw:
            control?.write(Data("send \(rawBytes.0) \(rawBytes.1)\n".utf8))
        }
    }

    /// Waits until the server accepts TCP connections on its port.
    func waitReady(group: any EventLoopGroup, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw BenchError("\(kind) server exited (\(process.terminationStatus))") }
            if let channel = try? await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("\(kind) server did not listen on \(port) within \(timeout)")
    }

    /// SIGTERM, then SIGKILL if the server is still there after 3 s.
    func stop() async {
        if process.isRunning {
            process.terminate()
            for _ in 0..<30 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { kill(pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: workDirectory)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
