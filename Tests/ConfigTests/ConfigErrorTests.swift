import TestSupport
import Testing

@testable import Config

/// One test per error class: right code, right key path, exact line:column.
@Suite("Routes file errors")
struct ConfigErrorTests {
    @Test func minimalFileIsValid() throws {
        let config = try #require(parseValid(minimalYAML))
        #expect(config.listeners.count == 1)
        #expect(config.listeners[0].address == "0.0.0.0")
        guard case .http(let http) = config.listeners[0].kind else {
            Issue.record("not HTTP")
            return
        }
        #expect(http.hosts[0].name == "example.com", "host name defaults to the first domain")
    }

    @Test func yamlSyntaxErrorCarriesTheMark() {
        let yaml = """
            listeners:
              - name: web
                port: 8080
               hosts: [
            """
        let errors = parseErrors(yaml)
        #expect(errors.count == 1)
        #expect(errors.first?.code == .yamlSyntax)
        #expect(errors.first?.position.line == 4)
        #expect(errors.first?.position.column == 4)
        #expect(errors.first?.description.hasPrefix("routes.yaml:4:4: YAML syntax error:") == true)
    }

    @Test func tabIndentationIsASyntaxError() {
        let errors = parseErrors("listeners:\n\t- name: web\n")
        #expect(errors.map(\.code) == [.yamlSyntax])
        #expect(errors.first?.position.line == 2)
    }

    @Test func duplicateKeyIsReported() {
        let yaml = """
            listeners:
              - name: web
                port: 8080
                port: 8081
            """
        let errors = parseErrors(yaml)
        #expect(errors.map(\.code) == [.duplicateKey])
        #expect(errors.first?.key == "port")
        // The repeat is the line to fix; the first one is named in the message.
        #expect(errors.first?.position.line == 4)
        #expect(errors.first?.position.column == 5)
        #expect(errors.first?.message.hasSuffix("(first on line 3)") == true, "\(errors)")
    }

    @Test func wrongType() {
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "port: 8080", with: "port: [8080]"),
            .wrongType, key: "listeners[0].port", line: 3, column: 11,
            messageContains: "\"port\" must be a whole number, found a list")
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "domains: [example.com]", with: "domains: example.com"),
            .wrongType, key: "listeners[0].hosts[0].domains", line: 5, column: 18)
        expectSingleError("listeners: {name: web}\n", .wrongType, key: "listeners", line: 1, column: 12)
        expectSingleError("- listeners\n", .wrongType, key: "", line: 1, column: 1)
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "port: 8080", with: "port: \"8080\""),
            .wrongType, key: "listeners[0].port", line: 3, column: 11,
            messageContains: "found \"8080\" in quotes, which makes it text (write it without quotes)")
    }

    @Test func unknownKeySuggestsTheNearestKey() {
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "    port: 8080", with: "    port: 8080\n    adress: 127.0.0.1"),
            .unknownKey, key: "listeners[0].adress", line: 4, column: 5,
            messageContains: "unknown key \"adress\" in listener \"web\"",
            hintContains: "did you mean \"address\"?")
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "cluster: app", with: "clustr: app"),
            .unknownKey, key: "listeners[0].hosts[0].routes[0].clustr", line: 8, column: 13,
            hintContains: "did you mean \"cluster\"?")
        expectSingleError(
            minimalYAML + "\nlistenrs: []", .unknownKey, key: "listenrs", line: 12, column: 1,
            hintContains: "did you mean \"listeners\"?")
    }

    @Test func unknownKeyWithoutACloseMatchListsTheAllowedKeys() {
        expectSingleError(
            minimalYAML + "\nfrobnicate: yes", .unknownKey, key: "frobnicate", line: 12, column: 1,
            hintContains: "allowed keys: groups, listeners, clusters")
    }

    @Test func missingRequiredKeys() {
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "    port: 8080\n", with: ""),
            .missingKey, key: "listeners[0].port", line: 2, column: 5,
            messageContains: "listener \"web\" is missing required key \"port\"")
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "    endpoints: [127.0.0.1:9000]", with: ""),
            .missingKey, key: "clusters[0].endpoints", line: 10, column: 5)
        expectSingleError("clusters: []\n", .missingKey, key: "listeners", line: 1, column: 1)
        expectSingleError("", .missingKey, key: "listeners", line: 1, column: 1)
        expectSingleError("# only a comment\n", .missingKey, key: "listeners", line: 1, column: 1)
    }

    @Test func duplicateNames() {
        let listeners = minimalYAML.replacingOccurrences(
            of: "clusters:",
            with: """
                  - name: web
                    port: 8081
                    redirect_to_https: true
                clusters:
                """)
        expectSingleError(
            listeners, .duplicateName, key: "listeners[1].name", line: 9, column: 11,
            messageContains: "listener name \"web\" is already used", hintContains: "line 2")
        expectSingleError(
            minimalYAML + "\n  - name: app\n    endpoints: [127.0.0.1:9001]",
            .duplicateName, key: "clusters[1].name", line: 12, column: 11)
        let hosts = minimalYAML.replacingOccurrences(
            of: "clusters:",
            with: """
                      - domains: [www.example.com]
                        name: example.com
                        routes: [{prefix: /, cluster: app}]
                clusters:
                """)
        expectSingleError(
            hosts, .duplicateName, key: "listeners[0].hosts[1].name", line: 10, column: 15,
            messageContains: "host name \"example.com\"")
        expectSingleError("groups: [a, b, a]\n" + minimalYAML, .duplicateName, key: "groups[2]", line: 1, column: 16)
    }

    @Test func twoListenersOnOneAddressInOneGroup() {
        let yaml = """
            groups: [edge, ingress]
            listeners:
              - name: one
                port: 80
                redirect_to_https: true
              - name: two
                groups: [ingress]
                port: 80
                redirect_to_https: true
              - name: three
                address: 127.0.0.1
                port: 80
                redirect_to_https: true
            """
        expectSingleError(
            yaml, .addressInUse, key: "listeners[1].port", line: 8, column: 11,
            messageContains: "0.0.0.0:80 is already used by listener \"one\" (line 4) in group \"ingress\"")
        // Different groups never clash.
        let separate = yaml.replacingOccurrences(of: "  - name: one\n", with: "  - name: one\n    groups: [edge]\n")
        #expect(parseErrors(separate).isEmpty)
    }

    @Test func routeNamingAMissingClusterSuggestsTheNearest() {
        let yaml = minimalYAML.replacingOccurrences(of: "cluster: app", with: "cluster: ap")
        expectSingleError(
            yaml, .unknownCluster, key: "listeners[0].hosts[0].routes[0].cluster", line: 8, column: 22,
            hintContains: "did you mean \"app\"?")
        #expect(
            parseErrors(yaml).first?.description
                == "routes.yaml:8:22: route targets cluster \"ap\", which is not defined (did you mean \"app\"?)")
        let tcp = """
            listeners:
              - name: ssh
                port: 22
                tcp: { cluster: gitssh }
            """
        expectSingleError(
            tcp, .unknownCluster, key: "listeners[0].tcp.cluster", line: 4, column: 21,
            messageContains: "TCP listener \"ssh\" targets cluster \"gitssh\"",
            hintContains: "define it under \"clusters:\"")
    }

    @Test func listenerGroupNotDeclared() {
        let yaml =
            "groups: [edge, ingress]\n"
            + minimalYAML.replacingOccurrences(
                of: "    port: 8080", with: "    port: 8080\n    groups: [egde]")
        expectSingleError(
            yaml, .unknownGroup, key: "listeners[0].groups[0]", line: 5, column: 14,
            hintContains: "did you mean \"edge\"?")
        let undeclared = minimalYAML.replacingOccurrences(
            of: "    port: 8080", with: "    port: 8080\n    groups: [edge]")
        expectSingleError(
            undeclared, .unknownGroup, key: "listeners[0].groups[0]", line: 4, column: 14,
            hintContains: "add it to the top-level \"groups:\" list")
    }

    @Test func badDurations() {
        for (text, fragment) in [
            ("5", "needs a unit"), ("1.5s", "fraction"), ("10x", "unknown unit \"x\""),
            ("30s1m", "larger units first"), ("s", "start each part with a number"),
            ("9999999999999s", "too long"),
        ] {
            let yaml = minimalYAML.replacingOccurrences(
                of: "cluster: app", with: "cluster: app\n            timeout: \(text)")
            expectSingleError(
                yaml, .invalidDuration, key: "listeners[0].hosts[0].routes[0].timeout", line: 9, column: 22,
                messageContains: fragment)
        }
        let zeroConnect = minimalYAML + "\n    connect_timeout: 0s"
        expectSingleError(zeroConnect, .invalidValue, key: "clusters[0].connect_timeout", line: 12, column: 22)
    }

    @Test func portsOutOfRange() {
        for port in ["0", "65536", "-1", "99999999999999999999999"] {
            expectSingleError(
                minimalYAML.replacingOccurrences(of: "port: 8080", with: "port: \(port)"),
                .portOutOfRange, key: "listeners[0].port", line: 3, column: 11,
                messageContains: "between 1 and 65535, found \(port)")
        }
        let httpsPort = "listeners:\n  - name: r\n    port: 80\n    redirect_to_https: true\n    https_port: 70000\n"
        expectSingleError(httpsPort, .portOutOfRange, key: "listeners[0].https_port", line: 5, column: 17)
    }

    @Test func badEndpoints() {
        let cases: [(String, String)] = [
            ("127.0.0.1", "has no port"), ("::1:80", "without brackets"), ("[::1]", "needs \":port\""),
            ("127.0.0.1:http", "not a number"), ("127.0.0.1:0", "outside"), ("bad host:80", "neither"),
            ("10.0.0.256:80", "neither"), ("[not-v6]:80", "not an IPv6 address"), (":80", "no host"),
        ]
        for (endpoint, fragment) in cases {
            let yaml = minimalYAML.replacingOccurrences(of: "[127.0.0.1:9000]", with: "[\"\(endpoint)\"]")
            expectSingleError(
                yaml, .invalidEndpoint, key: "clusters[0].endpoints[0]", line: 11, column: 17,
                messageContains: fragment)
        }
        let good = minimalYAML.replacingOccurrences(
            of: "[127.0.0.1:9000]",
            with: "[\"[::1]:9000\", backend.internal:80, \"[2001:db8::10]:443\"]")
        let config = parseValid(good)
        #expect(
            config?.clusters.first?.endpoints == [
                Endpoint(host: "::1", port: 9000), Endpoint(host: "backend.internal", port: 80),
                Endpoint(host: "2001:db8::10", port: 443),
            ])
    }

    @Test func emptyLists() {
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "[example.com]", with: "[]"),
            .emptyList, key: "listeners[0].hosts[0].domains", line: 5, column: 18)
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "[127.0.0.1:9000]", with: "[]"),
            .emptyList, key: "clusters[0].endpoints", line: 11, column: 16)
    }

    @Test func duplicateDomainsWithinOneListener() {
        let yaml = minimalYAML.replacingOccurrences(
            of: "clusters:",
            with: """
                      - name: other
                        domains: [www.example.com, Example.com]
                        routes: [{prefix: /, cluster: app}]
                clusters:
                """)
        expectSingleError(
            yaml, .duplicateDomain, key: "listeners[0].hosts[1].domains[1]", line: 10, column: 36,
            messageContains: "already served by host \"example.com\" (line 5)")
        let sameHost = minimalYAML.replacingOccurrences(of: "[example.com]", with: "[example.com, example.com]")
        expectSingleError(sameHost, .duplicateDomain, key: "listeners[0].hosts[0].domains[1]", line: 5, column: 32)
    }

    @Test func redirectStatusNotAllowed() {
        let yaml = minimalYAML.replacingOccurrences(of: "cluster: app", with: "redirect: { https: true, status: 200 }")
        expectSingleError(
            yaml, .redirectStatusNotAllowed, key: "listeners[0].hosts[0].routes[0].redirect.status",
            line: 8, column: 46, hintContains: "301, 302, 303, 307, 308")
    }

    @Test func prefixAndPathTogether() {
        let yaml = minimalYAML.replacingOccurrences(of: "- prefix: /", with: "- prefix: /\n            path: /x")
        expectSingleError(
            yaml, .conflictingKeys, key: "listeners[0].hosts[0].routes[0].path", line: 8, column: 13,
            messageContains: "both \"prefix\" and \"path\"")
    }

    @Test func httpListenerWithTCP() {
        let yaml = minimalYAML.replacingOccurrences(of: "    hosts:", with: "    tcp: { cluster: app }\n    hosts:")
        expectSingleError(
            yaml, .conflictingKeys, key: "listeners[0].hosts", line: 5, column: 5,
            messageContains: "has both \"tcp\" and \"hosts\"")
    }

    @Test func otherRouteMistakes() {
        expectSingleError(
            minimalYAML.replacingOccurrences(
                of: "cluster: app", with: "respond: { status: 404 }\n            cluster: app"),
            .conflictingKeys, key: "listeners[0].hosts[0].routes[0].respond", line: 8, column: 13)
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "        cluster: app\n", with: "        websockets: true\n"),
            .missingAction, key: "listeners[0].hosts[0].routes[0].cluster", line: 7, column: 13)
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "prefix: /", with: "prefix: api"),
            .invalidPath, key: "listeners[0].hosts[0].routes[0].prefix", line: 7, column: 21)
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "cluster: app", with: "respond: { status: 42 }"),
            .invalidStatus, key: "listeners[0].hosts[0].routes[0].respond.status", line: 8, column: 32)
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "cluster: app", with: "redirect: { status: 302 }"),
            .invalidValue, key: "listeners[0].hosts[0].routes[0].redirect", line: 8, column: 23,
            messageContains: "changes nothing")
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "[example.com]", with: "[\"ex*mple.com\"]"),
            .invalidDomain, key: "listeners[0].hosts[0].domains[0]", line: 5, column: 19)
        expectSingleError(
            minimalYAML.replacingOccurrences(of: "    port: 8080", with: "    port: 8080\n    address: localhost"),
            .invalidAddress, key: "listeners[0].address", line: 4, column: 14)
        expectSingleError(
            minimalYAML + "\n    proxy_protocol: v3", .invalidValue, key: "clusters[0].proxy_protocol",
            line: 12, column: 21, hintContains: "v1 or v2")
        expectSingleError(
            "listeners:\n  - name: idle\n    port: 80\n", .listenerHasNothingToDo, key: "listeners[0]",
            line: 2, column: 5)
        expectSingleError(
            minimalYAML.replacingOccurrences(
                of: "  - domains: [example.com]", with: "  - domains: [example.com]\n        certificate: example.com"),
            .conflictingKeys, key: "listeners[0].hosts[0].certificate", line: 6, column: 9,
            messageContains: "has no \"tls\"")
    }

    @Test func everyErrorIsReportedInFileOrder() throws {
        let path = FixturePaths.path("bad/routes/many-errors.yaml")
        do {
            _ = try RoutesFile.load(path: path)
            Issue.record("a broken file loaded")
        } catch {
            let summary = error.errors.map { "\($0.position.line):\($0.position.column) \($0.code) \($0.key)" }
            #expect(
                summary == [
                    "5:5 unknownKey listeners[0].adress",
                    "6:11 portOutOfRange listeners[0].port",
                    "13:55 invalidDuration listeners[1].hosts[0].routes[0].timeout",
                    "14:35 unknownCluster listeners[1].hosts[0].routes[1].cluster",
                    "15:27 conflictingKeys listeners[1].hosts[0].routes[2].path",
                    "19:9 unknownGroup listeners[2].groups[1]",
                    "20:11 addressInUse listeners[2].port",
                    "25:11 duplicateName clusters[1].name",
                    "26:17 invalidEndpoint clusters[1].endpoints[0]",
                ], "\(error)")
            #expect(error.errors.allSatisfy { $0.position.file == path })
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 9)
            #expect(lines.allSatisfy { $0.hasPrefix("\(path):") })
        }
    }

    @Test func equalityIsOnTheCode() {
        let a = parseErrors(minimalYAML.replacingOccurrences(of: "cluster: app", with: "cluster: ap"))
        let b = parseErrors(minimalYAML.replacingOccurrences(of: "cluster: app", with: "cluster: zzz"))
        #expect(a == b)
        #expect(a.first?.description != b.first?.description)
    }
}

@Suite("Broken routes fixtures")
struct BrokenRoutesFixtureTests {
    func load(_ name: String) -> (path: String, errors: [ConfigError]) {
        let path = FixturePaths.path("bad/routes/\(name)")
        do {
            _ = try RoutesFile.load(path: path)
            return (path, [])
        } catch {
            return (path, error.errors)
        }
    }

    @Test func typoInClusterName() {
        let (path, errors) = load("typo-cluster.yaml")
        #expect(
            errors.map(\.description)
                == ["\(path):10:22: route targets cluster \"wwww\", which is not defined (did you mean \"www\"?)"])
    }

    @Test func syntaxError() {
        let (path, errors) = load("syntax-error.yaml")
        #expect(errors.map(\.code) == [.yamlSyntax])
        #expect(errors.first?.position.file == path)
        #expect(errors.first?.position.line == 7, "\(errors)")
    }

    @Test func httpAndTCPTogether() {
        let (_, errors) = load("http-and-tcp.yaml")
        #expect(errors.map(\.code) == [.conflictingKeys, .conflictingKeys])
        #expect(errors.map(\.key) == ["listeners[0].tls", "listeners[0].hosts"])
        #expect(errors.map { "\($0.position.line):\($0.position.column)" } == ["6:5", "7:5"])
    }

    @Test func wrongTypeForRedirectIsReportedOnce() {
        let errors = parseErrors("listeners:\n  - name: r\n    port: 80\n    redirect_to_https: sure\n")
        #expect(errors.map(\.code) == [.wrongType])
        #expect(errors.first?.key == "listeners[0].redirect_to_https")
    }
}
