import Foundation
import GRPCClient
import GRPCServer
import Logging
import NIOCore
import NIOPosix
import Pipeline
import Protobuf
import Snapshot
import Synchronization
import TestSupport
import Testing
import Vocabulary

@testable import XDS

/// Real servers on 127.0.0.1:0 for the protocol tests: a `GRPCServer` running an `XDSServer` over a `SnapshotStore`.

enum XDSPath {
    static let ads = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
    static let deltaADS = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
    static let clusters = "/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters"
    static let deltaClusters = "/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters"
    static let listeners = "/envoy.service.listener.v3.ListenerDiscoveryService/StreamListeners"
    static let endpoints = "/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints"
    static let routes = "/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes"
    static let secrets = "/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets"
    static let deltaSecrets = "/envoy.service.secret.v3.SecretDiscoveryService/DeltaSecrets"
}

/// Snapshots for the tests: the example site through the real loader, or small ones from `SnapshotFactory`.
enum XDSSnap {
    typealias Spec = [ResourceType: [String: String]]

    /// The worked example (`Fixtures/example-site`), loaded, translated and built exactly as `chancery serve` does.
    static let site: Snapshot = {
        let dir = FixturePaths.fixtures + "/example-site"
        do {
            return try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs").snapshot
        } catch {
            fatalError("example site does not load: \(error)")
        }
    }()

    static let base: Spec = [
        .cluster: ["www": "", "dav": ""],
        .endpoint: ["www": "", "dav": ""],
        .listener: ["https": ""],
        .route: ["https": ""],
        .secret: ["example.test": ""],
    ]

    /// The same resources for every group in `groups`, published for all three config-source modes.
    static func make(_ spec: Spec, groups: [String] = ["default"]) -> Snapshot {
        make(perGroup: Dictionary(uniqueKeysWithValues: groups.map { ($0, spec) }))
    }

    static func make(perGroup: [String: Spec]) -> Snapshot {
        var all: [GroupKey: GroupSnapshot] = [:]
        for (name, spec) in perGroup {
            let types = SnapshotFactory.group(spec, name: name).types
            for mode in ConfigSourceMode.allCases {
                all[GroupKey(group: name, mode: mode)] = GroupSnapshot(group: name, mode: mode, types: types)
            }
        }
        return Snapshot(groups: all)
    }

    /// `base` with some types replaced.
    static func base(with changes: Spec) -> Snapshot {
        make(base.merging(changes) { _, new in new })
    }
}

/// One running server plus the clients opened through it, all closed by `withXDSServer`.
final class XDSHarness: Sendable {
    let store: SnapshotStore
    let xds: XDSServer
    let server: GRPCServer
    let port: Int
    /// Every server-side stream opened, to read `pendingOutboundBytes` in back-pressure tests.
    let recorder: XDSRecordingService
    private let clients = Mutex<[GRPCClient]>([])
    private let raws = Mutex<[XDSRawConnection]>([])

    init(store: SnapshotStore, xds: XDSServer, server: GRPCServer, port: Int, recorder: XDSRecordingService) {
        self.store = store
        self.xds = xds
        self.server = server
        self.port = port
        self.recorder = recorder
    }

    /// A plain TCP connection for wire-level abuse, closed at the end of the test.
    func raw(autoRead: Bool = true) async throws -> XDSRawConnection {
        let connection = try await XDSRawConnection.connect(port: port, autoRead: autoRead)
        raws.withLock { $0.append(connection) }
        return connection
    }

    func publish(_ snapshot: Snapshot) {
        store.publish(snapshot)
    }

    /// A new HTTP/2 connection, closed at the end of the test.
    func connect() async throws -> GRPCClient {
        let client = try await GRPCClient.connect(host: "127.0.0.1", port: port, group: xdsTestGroup)
        clients.withLock { $0.append(client) }
        return client
    }

    /// A new connection with one stream on `path`.
    func open(
        _ path: String = XDSPath.ads, contentType: String = "application/grpc",
        extraHeaders: [(String, String)] = []
    ) async throws -> XDSStream {
        let client = try await connect()
        return try await XDSStream.open(on: client, path: path, contentType: contentType, extraHeaders: extraHeaders)
    }

    func closeClients() async {
        let all = clients.withLock { clients in
            defer { clients.removeAll() }
            return clients
        }
        for client in all { await client.close() }
        let rawAll = raws.withLock { raws in
            defer { raws.removeAll() }
            return raws
        }
        for raw in rawAll { await raw.close() }
    }

    /// Closes every client and waits until the server holds no stream and the registry no entry.
    func expectNoLeaks(sourceLocation: SourceLocation = #_sourceLocation) async {
        await closeClients()
        let clean = await xdsEventually(.seconds(20)) {
            self.server.activeStreamCount == 0 && self.xds.registry.count == 0
        }
        #expect(
            clean, "leak: \(server.activeStreamCount) streams, \(xds.registry.count) registry entries",
            sourceLocation: sourceLocation)
    }

    /// The registry entry of the only stream of `node`, if registered.
    func info(node: String) -> StreamInfo? {
        xds.registry.all.first { $0.nodeID == node }
    }

    /// A well-behaved ADS client on a new connection gets the listeners of the default group.
    func expectServesFreshClient(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let client = try await connect()
        let stream = try await XDSStream.open(on: client, path: XDSPath.ads)
        try await stream.send(.sotw(.listener, node: .default))
        let response = try await stream.response()
        #expect(response.typeURL == ResourceType.listener.typeURL, sourceLocation: sourceLocation)
        #expect(!response.names.isEmpty, sourceLocation: sourceLocation)
        await client.close()
    }
}

/// Starts a server over `snapshot`, runs `body`, and always shuts everything down.
func withXDSServer(
    _ snapshot: Snapshot? = XDSSnap.make(XDSSnap.base),
    configuration: GRPCServerConfiguration = .init(),
    selector: GroupSelector = .nodeCluster,
    limits: XDSLimits = .init(),
    defaultGroup: String? = nil,
    metrics: XDSMetrics = XDSMetrics(),
    _ body: (XDSHarness) async throws -> Void
) async throws {
    var logger = Logger(label: "xds-protocol-test")
    logger.logLevel = .critical
    let store = SnapshotStore()
    if let snapshot { store.publish(snapshot) }
    let xds = XDSServer(
        store: store, selector: selector, defaultGroup: defaultGroup, limits: limits, metrics: metrics, logger: logger)
    var configuration = configuration
    configuration.shutdownGracePeriod = .milliseconds(500)
    // The test process shares a loaded machine: a test task can stall for seconds between connecting and sending its
    // first request, so the handshake deadline stays out of the way unless the test is about it.
    if configuration.handshakeTimeout == GRPCServerConfiguration().handshakeTimeout {
        configuration.handshakeTimeout = .seconds(300)
    }
    let recorder = XDSRecordingService(inner: xds)
    let server = GRPCServer(service: recorder, configuration: configuration, group: xdsTestGroup, logger: logger)
    let port = try await server.start(host: "127.0.0.1", port: 0)
    let harness = XDSHarness(store: store, xds: xds, server: server, port: port, recorder: recorder)
    do {
        try await body(harness)
    } catch {
        await harness.closeClients()
        await server.shutdown()
        throw error
    }
    await harness.closeClients()
    await server.shutdown()
}

/// Forwards to the `XDSServer` and remembers each server stream (public API only).
final class XDSRecordingService: GRPCService {
    let inner: XDSServer
    private let opened = Mutex<[GRPCServerStream]>([])

    init(inner: XDSServer) { self.inner = inner }

    func open(_ stream: GRPCServerStream) -> (any GRPCStreamHandler)? {
        opened.withLock { $0.append(stream) }
        return inner.open(stream)
    }

    var streams: [GRPCServerStream] { opened.withLock { $0 } }
}
