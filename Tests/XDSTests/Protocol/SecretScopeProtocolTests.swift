import Foundation
import GRPCClient
import GRPCServer
import Logging
import Snapshot
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// SDS only what the group uses: a proxy naming another group's secret gets nothing for it, over TCP and over the
/// Unix socket, on ADS, the per-type SDS service and delta.
@Suite("Protocol: secrets stay in their group")
struct SecretScopeProtocolTests {
    /// Two groups, each with its own certificate: `edge` must never see `web.test` and the reverse.
    static let snapshot = XDSSnap.make(perGroup: [
        "edge": [.listener: ["https": ""], .secret: ["edge.test": "edge-key"]],
        "web": [.listener: ["https": ""], .secret: ["web.test": "web-key"]],
    ])

    /// Asks, as a proxy of `edge`, for both groups' secrets on every kind of stream; only its own comes back.
    static func expectOnlyOwnSecret(_ connect: () async throws -> GRPCClient) async throws {
        let node = XDSNode.envoy("edge-1", cluster: "edge")
        for path in [XDSPath.ads, XDSPath.secrets] {
            let client = try await connect()
            let stream = try await XDSStream.open(on: client, path: path)
            try await stream.send(.sotw(.secret, ["edge.test", "web.test", "nope"], node: node))
            let reply = try await stream.response()
            #expect(reply.names == ["edge.test"], "\(path)")
            try await stream.ack(reply)
            // Naming only the other group's secret: nothing at all is sent.
            try await stream.send(.sotw(.secret, ["web.test"], version: reply.version, nonce: reply.nonce))
            try await stream.expectNoResponse()
            await client.close()
        }
        let client = try await connect()
        let delta = try await XDSStream.open(on: client, path: XDSPath.deltaADS)
        try await delta.send(.delta(.secret, subscribe: ["web.test", "edge.test"], node: node))
        let reply = try await delta.deltaResponse()
        #expect(reply.names == ["edge.test"])
        try await delta.ack(reply)
        // Delta answers a name that does not exist with `removed` (so Envoy stops waiting for it): no content.
        try await delta.send(.delta(.secret, subscribe: ["web.test"]))
        let absent = try await delta.deltaResponse()
        #expect(absent.names.isEmpty)
        #expect(absent.removed == ["web.test"])
        await client.close()
    }

    @Test func tcp() async throws {
        try await withXDSServer(Self.snapshot) { h in
            try await Self.expectOnlyOwnSecret { try await h.connect() }
        }
    }

    @Test func unixSocket() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "chancery-uds-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("xds.sock").path
        // A stale socket from an earlier run is replaced; the mode is applied after bind.
        let stale = try await bindAndClose(path)
        #expect(stale)
        let store = SnapshotStore()
        store.publish(Self.snapshot)
        var logger = Logger(label: "uds-test")
        logger.logLevel = .critical
        let server = GRPCServer(
            service: XDSServer(store: store, logger: logger), group: xdsTestGroup, logger: logger)
        try await server.start(unixSocket: path, mode: 0o600)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        do {
            try await Self.expectOnlyOwnSecret {
                try await GRPCClient.connect(unixSocket: path, group: xdsTestGroup)
            }
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    @Test func aRegularFileIsNeverReplacedByTheSocket() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chancery-notsock-\(getpid())").path
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: UnixSocket.Failure.self) { try UnixSocket.removeStale(path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
        #expect(UnixSocket.parseMode("0660") == 0o660)
        #expect(UnixSocket.parseMode("0999") == nil)
        #expect(UnixSocket.parseMode("1777") == nil)
    }

    /// Leaves a socket file at `path` the way a killed server does (bound, never unlinked): a short-lived python
    /// process binds it and exits. True when a socket file is there afterwards.
    private func bindAndClose(_ path: String) async throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path,
        ]
        try process.run()
        process.waitUntilExit()
        var info = stat()
        return process.terminationStatus == 0 && lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
    }

    @Test func aLiveServersSocketIsNotTaken() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chancery-live-\(getpid()).sock").path
        var logger = Logger(label: "uds-live")
        logger.logLevel = .critical
        let first = GRPCServer(
            service: XDSServer(store: SnapshotStore(), logger: logger), group: xdsTestGroup, logger: logger)
        try await first.start(unixSocket: path, mode: 0o600)
        let second = GRPCServer(
            service: XDSServer(store: SnapshotStore(), logger: logger), group: xdsTestGroup, logger: logger)
        await #expect(throws: UnixSocket.Failure.self) { try await second.start(unixSocket: path, mode: 0o600) }
        // The first server still serves on its socket.
        let client = try await GRPCClient.connect(unixSocket: path, group: xdsTestGroup)
        await client.close()
        await first.shutdown()
    }
}
