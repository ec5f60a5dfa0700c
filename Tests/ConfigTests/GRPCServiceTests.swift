import Testing

@testable import Config

/// `grpc_services:` — targets for proxyless gRPC clients.
@Suite struct GRPCServiceTests {
    @Test func grpcOnlyFileParses() throws {
        let config = try #require(
            parseValid(
                """
                groups: [grpc]
                clusters:
                  - name: greeter
                    endpoints: [127.0.0.1:50051]
                    http2: true
                grpc_services:
                  - name: greeter
                    cluster: greeter
                    timeout: 5s
                """))
        #expect(config.listeners.isEmpty)
        #expect(config.grpcServices.count == 1)
        let service = try #require(config.grpcServices.first)
        #expect(service.name == "greeter")
        #expect(service.cluster == "greeter")
        #expect(service.groups == ["grpc"])
        #expect(service.timeout == .seconds(5))
        #expect(service.position.line == 7)
    }

    @Test func serviceNamingAMissingClusterIsAnError() {
        expectSingleError(
            """
            clusters:
              - name: greeter
                endpoints: [127.0.0.1:50051]
            grpc_services:
              - name: greeter
                cluster: greter
            """, .unknownCluster, key: "grpc_services[0].cluster", line: 6, column: 14, messageContains: "greeter")
    }

    @Test func serviceSharingAGroupWithAnEnvoyListenerIsAnError() {
        expectSingleError(
            """
            listeners:
              - name: http
                port: 8080
                redirect_to_https: true
            clusters:
              - name: greeter
                endpoints: [127.0.0.1:50051]
            grpc_services:
              - name: greeter
                cluster: greeter
            """, .conflictingKeys, key: "grpc_services[0].name", line: 9, column: 11, hintContains: "groups: [grpc]")
    }

    @Test func serviceAndListenerShareOneNamespace() {
        let errors = parseErrors(
            """
            groups: [web, grpc]
            listeners:
              - name: greeter
                groups: [web]
                port: 8080
                redirect_to_https: true
            clusters:
              - name: greeter
                endpoints: [127.0.0.1:50051]
            grpc_services:
              - name: greeter
                groups: [grpc]
                cluster: greeter
            """)
        #expect(errors.map(\.code) == [.duplicateName])
        #expect(errors.first?.position.line == 11)
    }

    @Test func nameMustBeAUsableTarget() {
        expectSingleError(
            """
            groups: [grpc]
            clusters:
              - name: greeter
                endpoints: [127.0.0.1:50051]
            grpc_services:
              - name: pkg/greeter
                cluster: greeter
            """, .invalidValue, key: "grpc_services[0].name", line: 6, column: 11)
    }

    @Test func unknownKeyInAServiceIsReportedWithASuggestion() {
        let errors = parseErrors(
            """
            groups: [grpc]
            clusters:
              - name: greeter
                endpoints: [127.0.0.1:50051]
            grpc_services:
              - name: greeter
                clustr: greeter
            """)
        #expect(errors.map(\.code) == [.unknownKey])
        #expect(errors.first?.hint?.contains("cluster") == true)
    }
}
