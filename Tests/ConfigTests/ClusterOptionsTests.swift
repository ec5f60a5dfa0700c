import Foundation
import Testing

@testable import Config

/// Endpoint weights, health checks, outlier detection, circuit breakers, lb_policy and upstream TLS.
@Suite("Cluster options")
struct ClusterOptionsTests {
    /// One cluster `app`; `extra` lines go at cluster level (from line 11).
    static func yaml(_ extra: String, endpoints: String = "[127.0.0.1:9000]") -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [example.com]
                routes:
                  - { prefix: /, cluster: app }
        clusters:
          - name: app
            endpoints: \(endpoints)
        \(extra)
        """
    }

    static func cluster(_ yaml: String) -> Cluster? { parseValid(yaml)?.clusters.first }

    @Test func everyOption() throws {
        let cluster = try #require(
            Self.cluster(
                Self.yaml(
                    """
                        lb_policy: least_request
                        health_check: { path: /healthz, statuses: [200, "300-399"], interval: 1s, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 2 }
                        outlier_detection: { consecutive_5xx: 3, base_ejection_time: 10s, max_ejection_percent: 50 }
                        circuit_breakers: { max_connections: 100, max_retries: 0 }
                    """,
                    endpoints: "[127.0.0.1:9000, { address: 127.0.0.1:9001, weight: 3 }]")))
        #expect(cluster.lbPolicy == .leastRequest)
        #expect(cluster.endpoints.map(\.weight) == [nil, 3])
        let check = try #require(cluster.healthCheck)
        #expect(check.kind == .http(path: "/healthz", host: nil, statuses: [200..<201, 300..<400]))
        #expect(check.interval == .seconds(1) && check.timeout == .milliseconds(500))
        #expect(check.healthyThreshold == 1 && check.unhealthyThreshold == 2)
        #expect(cluster.outlierDetection?.consecutive5xx == 3)
        #expect(cluster.outlierDetection?.maxEjectionPercent == 50)
        #expect(cluster.circuitBreakers?.maxConnections == 100 && cluster.circuitBreakers?.maxRetries == 0)
    }

    @Test func tcpHealthCheckAndOutlierDefaults() throws {
        let cluster = try #require(
            Self.cluster(Self.yaml("    health_check: { tcp: true }\n    outlier_detection: true")))
        #expect(cluster.healthCheck == HealthCheck(kind: .tcp))
        #expect(cluster.outlierDetection == OutlierDetection())
    }

    @Test func invalidHealthChecks() {
        expectSingleError(
            Self.yaml("    health_check: { interval: 5s }"), .missingKey, key: "clusters[0].health_check.path",
            line: 11,
            column: 19)
        expectSingleError(
            Self.yaml("    health_check: { path: /h, tcp: true }"), .conflictingKeys,
            key: "clusters[0].health_check.tcp",
            line: 11, column: 31)
        expectSingleError(
            Self.yaml("    health_check: { path: /h, statuses: [\"500-200\"] }"), .invalidValue,
            key: "clusters[0].health_check.statuses[0]", line: 11, column: 42,
            messageContains: "health check status \"500-200\" is not a status or range")
        expectSingleError(
            Self.yaml("    health_check: { path: /h, interval: 0s }"), .invalidValue,
            key: "clusters[0].health_check.interval", line: 11, column: 41, messageContains: "must be longer than 0s")
    }

    @Test func invalidLimitsAndPolicies() {
        expectSingleError(
            Self.yaml("    lb_policy: leastrequest"), .invalidValue, key: "clusters[0].lb_policy", line: 11, column: 16,
            hintContains: "did you mean \"least_request\"?")
        expectSingleError(
            Self.yaml("    circuit_breakers: { max_conections: 5 }"), .unknownKey,
            key: "clusters[0].circuit_breakers.max_conections", line: 11, column: 25, hintContains: "max_connections")
        expectSingleError(
            Self.yaml("    outlier_detection: { max_ejection_percent: 150 }"), .invalidValue,
            key: "clusters[0].outlier_detection.max_ejection_percent", line: 11, column: 48,
            messageContains: "\"max_ejection_percent\" 150 is not between 1 and 100")
        expectSingleError(
            Self.yaml("", endpoints: "[{ address: 127.0.0.1:9000, weight: 0 }]"), .invalidValue,
            key: "clusters[0].endpoints[0].weight", line: 10, column: 52,
            messageContains: "endpoint \"weight\" 0 is not between 1 and 10000")
    }

    @Test func upstreamTLS() throws {
        let named = try #require(Self.cluster(Self.yaml("    tls: { ca: nas, certificate: client, sni: nas.lan }")))
        #expect(named.tls?.ca == "nas" && named.tls?.certificate == "client" && named.tls?.sni == "nas.lan")
        let dns = try #require(Self.cluster(Self.yaml("    tls: { ca: nas }", endpoints: "[nas.lan:5001]")))
        #expect(dns.tls?.sni == "nas.lan")
    }

    @Test func invalidUpstreamTLS() throws {
        expectSingleError(
            Self.yaml("    tls: { sni: nas.lan }"), .missingKey, key: "clusters[0].tls.ca", line: 11, column: 10)
        expectSingleError(
            Self.yaml("    tls: { ca: nas, sni: \"*.lan\" }"), .invalidValue, key: "clusters[0].tls.sni", line: 11,
            column: 26, messageContains: "\"sni\" \"*.lan\" is not a server name")
        expectSingleError(
            Self.yaml("    proxy_protocol: v2\n    tls: { ca: nas }"), .conflictingKeys, key: "clusters[0].tls",
            line: 12,
            column: 5, messageContains: "cluster \"app\" has both \"proxy_protocol\" and \"tls\"")
        let config = try #require(parseValid(Self.yaml("    tls: { ca: nass, certificate: client }")))
        #expect(
            RoutesFile.checkClientAuthorities(config, available: ["nas"]).map(\.description) == [
                "routes.yaml:11:16: upstream TLS needs nass/ca.crt in the certificate directory, which is missing or not valid (did you mean \"nas\"?)"
            ])
        #expect(
            RoutesFile.checkCertificates(config, available: ["clients"]).map(\.description) == [
                "routes.yaml:11:35: \"certificate\" \"client\" is not in the certificate directory (did you mean \"clients\"?)"
            ])
    }
}

/// Mistakes the schema's mutation run found the decoder letting through.
@Suite("Decoder gaps found by the schema")
struct DecoderGapTests {
    @Test func aMisspeltEndpointAddressIsReported() {
        let yaml = minimalYAML.replacingOccurrences(
            of: "endpoints: [127.0.0.1:9000]", with: "endpoints: [{ adress: 127.0.0.1:9000 }]")
        let errors = parseErrors(yaml)
        #expect(errors.map(\.code) == [.unknownKey], "\(errors)")
        #expect(errors.first?.hint == "did you mean \"address\"?")
    }

    @Test func anEmptyHSTSMaxAgeIsRefused() {
        let yaml = ListenerOptionsTests.https("    hsts: { max_age: \"\" }")
        #expect(parseErrors(yaml).map(\.code) == [.wrongType])
    }
}
