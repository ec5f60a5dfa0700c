import Foundation
import GRPCClient
import GRPCServer
import Logging
import NIOPosix
import Pipeline
import Protobuf
import Snapshot
import Vocabulary
import XDS

/// Chancery's benchmarks. Not part of `swift test`: timing goals live here, never as assertions in tests.
///
///     swift run -c release ChanceryBench [--streams 1000] [--connections 10] [--rounds 5] [--fixture DIR]
///
/// 1. build: load + translate + encode the fixture (what every edit of the routes file costs).
/// 2. push: N ADS streams over loopback, each subscribed to clusters and endpoints; a new snapshot is published and
///    the time until every stream has received the new endpoints is measured (publish → last stream).
let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return Int(arguments[index + 1]) ?? fallback
}
let streamCount = option("--streams", 1000)
let connectionCount = max(1, min(option("--connections", 10), streamCount))
let rounds = option("--rounds", 5)
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
let fixture = arguments.firstIndex(of: "--fixture").map { arguments[$0 + 1] } ?? root + "/Fixtures/example-site"

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

// MARK: 1. build

let clock = ContinuousClock()
var buildTimes: [Double] = []
var built: Loader.Result!
for _ in 0..<20 {
    let start = clock.now
    built = try Loader.load(configPath: fixture + "/routes.yaml", certsPath: fixture + "/certs")
    buildTimes.append(milliseconds(clock.now - start))
}
print(
    String(
        format: "build  %@: p50 %.2f ms, max %.2f ms (20 runs, load + translate + encode, 3 modes)",
        (fixture as NSString).lastPathComponent, percentile(buildTimes, 0.5), buildTimes.max()!))

// MARK: 2. push

/// A second snapshot that differs from the first in every ClusterLoadAssignment (each gains a policy).
func shifted(_ snapshot: Snapshot) throws -> Snapshot {
    var groups: [ConfigSourceMode: [String: [ResourceType: [String: ProtoMessage]]]] = [:]
    for (key, group) in snapshot.groups {
        var resources: [ResourceType: [String: ProtoMessage]] = [:]
        for (type, typeSnapshot) in group.types {
            for (name, resource) in typeSnapshot.resources {
                var message = resource.message
                if type == .endpoint {
                    message["policy"] = .message(
                        ProtoMessage(
                            "envoy.config.endpoint.v3.ClusterLoadAssignment.Policy",
                            ["overprovisioning_factor": .uint32Value(140)]))
                }
                resources[type, default: [:]][name] = message
            }
        }
        groups[key.mode, default: [:]][key.group] = resources
    }
    return try Snapshot.build(groups)
}

var logger = Logger(label: "bench")
logger.logLevel = .error
let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
let store = SnapshotStore()
store.publish(built.snapshot)
let xds = XDSServer(store: store, logger: logger)
var configuration = GRPCServerConfiguration()
// The bench puts many streams on each connection on purpose; the server's default allows 100.
configuration.maxConcurrentStreams = max(configuration.maxConcurrentStreams, streamCount / connectionCount + 1)
let server = GRPCServer(service: xds, configuration: configuration, group: group, logger: logger)
let port = try await server.start(host: "127.0.0.1", port: 0)

func request(_ type: ResourceType, names: [String] = [], version: String = "", nonce: String = "", node: Bool = false)
    throws -> [UInt8]
{
    var fields: [String: ProtoValue] = ["type_url": .string(type.typeURL)]
    if !names.isEmpty { fields["resource_names"] = .list(names.map(ProtoValue.string)) }
    if !version.isEmpty { fields["version_info"] = .string(version) }
    if !nonce.isEmpty { fields["response_nonce"] = .string(nonce) }
    if node {
        fields["node"] = .message(
            ProtoMessage("envoy.config.core.v3.Node", ["id": .string("bench"), "cluster": .string("default")]))
    }
    return try ProtoCodec.encode(ProtoMessage("envoy.service.discovery.v3.DiscoveryRequest", fields))
}

struct Response { var type: String; var version: String; var nonce: String }
/// Reads only version_info (1), type_url (4) and nonce (5) of a DiscoveryResponse, skipping the resources, so the
/// client side of the benchmark costs little next to the server it measures.
func decode(_ bytes: [UInt8]) throws -> Response {
    var response = Response(type: "", version: "", nonce: "")
    var offset = 0
    func varint() throws -> Int {
        var value = 0, shift = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            value |= Int(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw BenchError(message: "truncated response")
    }
    while offset < bytes.count {
        let tag = try varint()
        guard tag & 7 == 2 else { throw BenchError(message: "unexpected wire type in a DiscoveryResponse") }
        let length = try varint()
        let field = String(decoding: bytes[offset..<offset + length], as: UTF8.self)
        switch tag >> 3 {
        case 1: response.version = field
        case 4: response.type = field
        case 5: response.nonce = field
        default: break
        }
        offset += length
    }
    return response
}

let endpointNames = built.snapshot.group("default", mode: .ads)![.endpoint].sortedNames
var clients: [GRPCClient] = []
for _ in 0..<connectionCount {
    clients.append(try await GRPCClient.connect(host: "127.0.0.1", port: port, group: group))
}
var streams: [GRPCClientStream] = []
for index in 0..<streamCount {
    let stream = try await clients[index % connectionCount].openStream(
        path: "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources")
    try await stream.send(try request(.cluster, node: true))
    try await stream.send(try request(.endpoint, names: endpointNames))
    streams.append(stream)
}
/// Reads until an endpoints response with `version` arrives, ACKing everything on the way.
func awaitEndpoints(_ stream: GRPCClientStream, notVersion: String?) async throws -> String {
    while true {
        let event = try await stream.next(timeout: .seconds(30))
        if case .headers? = event { continue }
        guard case .message(let bytes)? = event else {
            throw BenchError(message: "stream ended: \(String(describing: event))")
        }
        let response = try decode(bytes)
        let type = ResourceType(typeURL: response.type)!
        try await stream.send(
            try request(
                type, names: type == .endpoint ? endpointNames : [], version: response.version, nonce: response.nonce))
        if type == .endpoint, response.version != notVersion { return response.version }
    }
}
var initialVersion = ""
try await withThrowingTaskGroup(of: String.self) { tasks in
    for stream in streams { tasks.addTask { try await awaitEndpoints(stream, notVersion: nil) } }
    for try await version in tasks { initialVersion = version }
}
print(
    "push   \(streamCount) ADS streams on \(connectionCount) connections, all subscribed (server streams: \(server.activeStreamCount))"
)

let snapshots = [built.snapshot, try shifted(built.snapshot)]
var lastVersion = initialVersion
var totals: [Double] = []
var firsts: [Double] = []
for round in 1...rounds {
    let next = snapshots[round % 2]
    let previous = lastVersion
    let start = clock.now
    let arrivals = try await withThrowingTaskGroup(of: (Double, String).self) { tasks in
        for stream in streams {
            tasks.addTask {
                let v = try await awaitEndpoints(stream, notVersion: previous);
                return (milliseconds(clock.now - start), v)
            }
        }
        store.publish(next)
        var times: [(Double, String)] = []
        for try await arrival in tasks { times.append(arrival) }
        return times
    }
    lastVersion = arrivals[0].1
    let times = arrivals.map(\.0)
    totals.append(times.max()!)
    firsts.append(times.min()!)
    print(
        String(
            format: "  round %d: first stream %.1f ms, p50 %.1f ms, p99 %.1f ms, last stream %.1f ms",
            round, times.min()!, percentile(times, 0.5), percentile(times, 0.99), times.max()!))
}
print(
    String(
        format: "push   publish → all %d streams updated: median %.1f ms over %d rounds", streamCount,
        percentile(totals, 0.5), rounds))
for client in clients { await client.close() }
await server.shutdown()
try await group.shutdownGracefully()

struct BenchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
