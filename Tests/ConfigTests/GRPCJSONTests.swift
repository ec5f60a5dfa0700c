import Testing

@testable import Config

/// `grpc_json` on routes.
@Suite("gRPC-JSON transcoding")
struct GRPCJSONTests {
    static func yaml(_ route: String, http2: Bool = true) -> String {
        """
        listeners:
          - name: api
            port: 8080
            hosts:
              - domains: ["*"]
                routes:
                  - { prefix: /, \(route) }
        clusters:
          - { name: greeter, endpoints: [127.0.0.1:9000], http2: \(http2) }
        """
    }

    @Test func descriptorsAndServices() throws {
        let config = try #require(
            parseValid(Self.yaml("cluster: greeter, grpc_json: { descriptors: api, services: [hello.Greeter, Echo] }")))
        guard case .http(let http)? = config.listeners.first?.kind else { return }
        let transcoding = try #require(http.hosts.first?.routes.first?.grpcJSON)
        #expect(transcoding.descriptors == "api" && transcoding.services == ["hello.Greeter", "Echo"])
    }

    @Test func mistakesAreRefused() {
        expectSingleError(
            Self.yaml("cluster: greeter, grpc_json: { descriptors: api, services: [hello.Greeter] }", http2: false),
            .conflictingKeys, key: "listeners[0].hosts[0].routes[0].grpc_json", line: 7, column: 70,
            messageContains: "grpc_json calls gRPC on cluster \"greeter\", which does not speak HTTP/2")
        expectSingleError(
            Self.yaml("cluster: greeter, grpc_json: { descriptors: api, services: [hello/Greeter] }"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].grpc_json.services[0]", line: 7, column: 86,
            messageContains: "is not a fully qualified gRPC service name")
        expectSingleError(
            Self.yaml("respond: { status: 200 }, grpc_json: { descriptors: api, services: [a.B] }"),
            .conflictingKeys, key: "listeners[0].hosts[0].routes[0].grpc_json", line: 7, column: 52,
            messageContains: "\"grpc_json\" only applies to a route with \"cluster\"")
    }
}
