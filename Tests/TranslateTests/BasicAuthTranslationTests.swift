import Certs
import Config
import Protobuf
import Testing
import Translate
import Vocabulary

/// The basic_auth filter disabled in the chain, and the users on each protected route only.
@Suite("Basic auth translation")
struct BasicAuthTranslationTests {
    static let yaml = """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [admin.example.com]
                basic_auth: { users: admins }
                routes:
                  - { path: /health, cluster: app, basic_auth: false }
                  - { prefix: /ops/, cluster: app, basic_auth: { users: ops } }
                  - { prefix: /, cluster: app }
        clusters:
          - { name: app, endpoints: [127.0.0.1:9000] }
        """

    static func list(_ name: String, _ line: String) throws -> UserList {
        try UserList.parse(name: name, bytes: Array(line.utf8), path: name).get()
    }

    @Test func protectedRoutesCarryTheirUsers() throws {
        let lists = [
            "admins": try Self.list("admins", "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\n"),
            "ops": try Self.list("ops", "carol:{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"),
        ]
        let group = try #require(
            Translator.translate(
                RoutesFile.parse(Self.yaml, file: "routes.yaml"), certificates: [:], userLists: lists)["default"])
        let chain = group.resources[.listener]?["web"]?["filter_chains"]?.listValue?.first?.messageValue
        let manager = chain?["filters"]?.listValue?.first?.messageValue?["typed_config"]?.messageValue
        let filter = try #require(manager?["http_filters"]?.listValue?.first?.messageValue)
        #expect(filter["name"] == .string("envoy.filters.http.basic_auth"))
        #expect(filter["disabled"] == .bool(true))

        let host = try #require(group.resources[.route]?["web"]?["virtual_hosts"]?.listValue?.first?.messageValue)
        #expect(host["typed_per_filter_config"] == nil)
        func users(_ route: ProtoMessage) -> ProtoValue? {
            guard case .map(let configs)? = route["typed_per_filter_config"] else { return nil }
            return configs["envoy.filters.http.basic_auth"]?.messageValue?["users"]?.messageValue?["inline_string"]
        }
        let routes = host["routes"]?.listValue?.compactMap(\.messageValue) ?? []
        #expect(routes.map(users) == [nil, .string(lists["ops"]!.text), .string(lists["admins"]!.text)])
    }
}
