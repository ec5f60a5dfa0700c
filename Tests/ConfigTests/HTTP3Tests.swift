import Testing

@testable import Config

/// `http3` on listeners.
@Suite("HTTP/3")
struct HTTP3Tests {
    @Test func onATLSListener() throws {
        let config = try #require(parseValid(ListenerOptionsTests.https("    http3: true")))
        #expect(ListenerOptionsTests.http(config)?.http3 == true)
        #expect(ListenerOptionsTests.http(parseValid(ListenerOptionsTests.https("")))?.http3 == false)
    }

    @Test func refusedWhereEnvoyCannotServeIt() {
        let plain = minimalYAML.replacingOccurrences(of: "    port: 8080\n", with: "    port: 8080\n    http3: true\n")
        expectSingleError(
            plain, .conflictingKeys, key: "listeners[0].http3", line: 4, column: 5,
            messageContains: "sets \"http3\" but has no \"tls\"")
        let mtls = ListenerOptionsTests.https("    http3: true").replacingOccurrences(
            of: "tls: { certificate: example.test }",
            with: "tls: { certificate: example.test, client_certificates: required }")
        expectSingleError(
            mtls, .conflictingKeys, key: "listeners[0].http3", line: 5, column: 5,
            messageContains: "asks for client certificates, which Envoy's HTTP/3 does not check")
        let taken = ListenerOptionsTests.https("    http3: true").replacingOccurrences(
            of: "clusters:\n", with: "  - { name: web-http3, port: 9999, tcp: { cluster: app } }\nclusters:\n")
        #expect(parseErrors(taken).map(\.code) == [.duplicateName])
    }
}

/// What HTTP/3 takes besides its TCP listener: the UDP port, and no client certificates on any host.
@Suite("HTTP/3 clashes")
struct HTTP3ClashTests {
    @Test func theUDPPortOfHTTP3ClashesWithAUDPListener() {
        let yaml = ListenerOptionsTests.https("    http3: true").replacingOccurrences(
            of: "clusters:\n", with: "  - { name: dns, port: 8443, udp: { cluster: app } }\nclusters:\n")
        let errors = parseErrors(yaml)
        #expect(errors.map(\.code) == [.addressInUse], "\(errors)")
        #expect(errors.first?.message.contains("web (http3)") == true, "\(errors)")
    }

    @Test func aHostWithClientCertificatesRefusesHTTP3() {
        let yaml = """
            listeners:
              - name: web
                port: 8443
                tls: { certificate: example.test }
                http3: true
                hosts:
                  - domains: [admin.example.com]
                    certificate: admin.test
                    client_certificates: required
                    routes: [{ prefix: /, cluster: app }]
            clusters:
              - { name: app, endpoints: [127.0.0.1:9000] }
            """
        #expect(parseErrors(yaml).map(\.code) == [.conflictingKeys])
    }
}
