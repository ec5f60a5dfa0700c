import Admin
import Foundation
import Logging
import NIOCore
import Pipeline
import Snapshot
import XDS

/// A real admin server on 127.0.0.1:0 over the example site, on its own event loop group, always shut down.
public func withAdminServer(
    limits: AdminLimits = AdminLimits(),
    registry: StreamRegistry = StreamRegistry(),
    store: SnapshotStore? = nil,
    _ body: (AdminServer, Int) async throws -> Void
) async throws {
    var logger = Logger(label: "admin-test")
    logger.logLevel = .critical
    let store =
        store
        ?? {
            let store = SnapshotStore()
            store.publish(exampleSiteSnapshot)
            return store
        }()
    let server = AdminServer(store: store, registry: registry, limits: limits, logger: logger)
    let port = try await server.start(host: "127.0.0.1", port: 0)
    do {
        try await body(server, port)
    } catch {
        await server.shutdown()
        throw error
    }
    await server.shutdown()
}

/// The example site (`Fixtures/example-site`), loaded exactly as `chancery serve` loads it.
public let exampleSiteSnapshot: Snapshot = {
    let dir = FixturePaths.fixtures + "/example-site"
    do {
        return try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs").snapshot
    } catch {
        fatalError("example site does not load: \(error)")
    }
}()

/// One parsed HTTP/1.1 response read off a raw connection.
public struct AdminReply {
    public var status: Int
    public var headers: [String: String]
    public var body: String
}

extension XDSRawConnection {
    public static func admin(_ port: Int, autoRead: Bool = true) async throws -> XDSRawConnection {
        try await connect(port: port, autoRead: autoRead)
    }

    public func send(_ text: String) async throws { try await write(Array(text.utf8)) }

    /// Sends a GET and waits (bounded) for the complete reply; nil if none arrived.
    public func get(_ path: String) async throws -> AdminReply? {
        let before = received.count
        try await send("GET \(path) HTTP/1.1\r\nhost: test\r\n\r\n")
        var reply: AdminReply?
        _ = await xdsEventually(.seconds(10)) {
            reply = AdminReply.parse(Array(self.received.dropFirst(before)))
            return reply != nil
        }
        return reply
    }
}

extension AdminReply {
    /// The first complete response in `bytes` (content-length framed), or nil while incomplete.
    public static func parse(_ bytes: [UInt8]) -> AdminReply? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            return nil
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        return AdminReply(
            status: status, headers: headers,
            body: String(decoding: bytes[(end + 4)..<(end + 4 + length)], as: UTF8.self))
    }
}
