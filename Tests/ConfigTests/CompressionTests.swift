import Testing

@testable import Config

/// `compression` on HTTP listeners and `compression: false` on routes.
@Suite("Compression")
struct CompressionTests {
    /// A listener whose `extra` goes on line 4, with one route carrying `route`.
    static func yaml(_ extra: String, route: String = "") -> String {
        """
        listeners:
          - name: web
            port: 8080
            \(extra)
            hosts:
              - domains: [example.com]
                routes:
                  - { prefix: /, cluster: app\(route.isEmpty ? "" : ", " + route) }
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """
    }

    static func http(_ config: RoutesConfig?) -> HTTPListener? {
        guard case .http(let http)? = config?.listeners.first?.kind else { return nil }
        return http
    }

    @Test func defaultsAndOptions() throws {
        #expect(try #require(Self.http(parseValid(Self.yaml("compression: true")))).compression == Compression())
        #expect(try #require(Self.http(parseValid(Self.yaml("compression: false")))).compression == nil)
        let custom = try #require(
            Self.http(
                parseValid(
                    Self.yaml(
                        "compression: { algorithms: [Gzip, zstd], min_size: 0, content_types: [Text/HTML] }",
                        route: "compression: false"))))
        #expect(custom.compression == Compression(algorithms: [.gzip, .zstd], minSize: 0, contentTypes: ["text/html"]))
        #expect(custom.hosts.first?.routes.first?.compression == false)
    }

    @Test func mistakesAreRefused() {
        expectSingleError(
            Self.yaml("compression: { algorithms: [br] }"), .invalidValue,
            key: "listeners[0].compression.algorithms[0]",
            line: 4, column: 33, hintContains: "did you mean \"brotli\"?")
        expectSingleError(
            Self.yaml("compression: { algorithms: [gzip, gzip] }"), .invalidValue,
            key: "listeners[0].compression.algorithms[1]", line: 4, column: 39, messageContains: "listed twice")
        expectSingleError(
            Self.yaml("compression: { content_types: [html] }"), .invalidValue,
            key: "listeners[0].compression.content_types[0]", line: 4, column: 36,
            messageContains: "\"html\" is not a content type")
        expectSingleError(
            Self.yaml("compression: true", route: "compression: true"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].compression", line: 8, column: 53,
            messageContains: "a route can only turn compression off")
    }
}
