import Foundation
import Pipeline
import Snapshot
import TestSupport
import Testing
import Vocabulary

/// Raw resources through a whole load: clash rules, references, and shared encodings.
@Suite struct RawLoadTests {
    static let routes = """
        groups: [a, b]
        listeners:
          - name: web
            groups: [a]
            port: 8080
            hosts:
              - domains: ["*"]
                routes:
                  - prefix: /
                    cluster: www
        clusters:
          - name: www
            endpoints: [127.0.0.1:9000]
        """

    /// A scratch directory with the routes file, the example site's certificates and `raw/NAME.yaml` files.
    func site(_ raw: [String: String]) throws -> String {
        let dir = NSTemporaryDirectory() + "chancery-raw-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/raw", withIntermediateDirectories: true)
        try Self.routes.write(toFile: dir + "/routes.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: FixturePaths.path("example-site/certs"), toPath: dir + "/certs")
        for (name, text) in raw { try text.write(toFile: "\(dir)/raw/\(name).yaml", atomically: true, encoding: .utf8) }
        return dir
    }

    func load(_ dir: String) throws(LoadError) -> Loader.Result {
        try Loader.load(configPath: dir + "/routes.yaml", certsPath: dir + "/certs", rawPath: dir + "/raw")
    }

    @Test func aRoutesFileClusterNameIsNeverARawClusterInAnyGroup() throws {
        let dir = try site([
            "www": """
            resources:
              - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
                name: www
                type: STATIC
                load_assignment: { cluster_name: www, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.9.9.9, port_value: 1 } } } }] }] }
            """
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try load(dir)
        // Group a serves the routes file's www; group b, where nothing uses it, gets no raw www either.
        #expect(result.snapshot.group("a", mode: .ads)?[.cluster].resources["www"] != nil)
        #expect(result.snapshot.group("b", mode: .ads)?[.cluster].resources["www"] == nil)
        #expect(result.warnings.contains { $0.hasPrefix(dir + "/raw/www.yaml:2:5: cluster \"www\" is also defined") })
    }

    @Test func aWeightedClusterThatDoesNotExistIsAnErrorAtTheRawResource() throws {
        let dir = try site([
            "routes": """
            groups: [b]
            resources:
              - "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
                name: split
                virtual_hosts:
                  - name: all
                    domains: ["*"]
                    routes:
                      - match: { prefix: / }
                        route: { weighted_clusters: { clusters: [{ name: www, weight: 1 }, { name: nosuch, weight: 1 }] } }
            """
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try load(dir)
            Issue.record("a dangling weighted cluster was accepted")
        } catch {
            #expect(error.lines.count == 1)
            #expect(error.lines[0].hasPrefix(dir + "/raw/routes.yaml:3:5: route configuration \"split\" refers to"))
            #expect(error.lines[0].contains("cluster \"nosuch\""))
        }
    }

    @Test func oneResourceInManyGroupsAndModesIsEncodedOnce() throws {
        let dir = try site([
            "shared": """
            resources:
              - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
                name: shared
                type: STATIC
                load_assignment: { cluster_name: shared, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 1 } } } }] }] }
            """
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let snapshot = try load(dir).snapshot
        let copies = snapshot.groups.values.compactMap { $0[.cluster].resources["shared"] }
        #expect(copies.count == 6)  // two groups, three modes
        // The same bytes, not just equal ones: one buffer shared by every group and mode.
        let buffers = Set(copies.map { $0.anyBytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } })
        #expect(buffers.count == 1)
    }
}
