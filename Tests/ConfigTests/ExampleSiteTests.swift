import Foundation
import TestSupport
import Testing

@testable import Config

@Suite("The example site routes file")
struct ExampleSiteTests {
    let path = FixturePaths.path("example-site/routes.yaml")

    func at(_ line: Int, _ column: Int) -> SourcePosition { SourcePosition(file: path, line: line, column: column) }

    @Test func parsesToTheExpectedModel() throws {
        let config = try RoutesFile.load(path: path)

        let expected = RoutesConfig(
            groups: ["default"],
            listeners: [
                Listener(
                    name: "http", groups: ["default"], address: "127.0.0.1", port: 10080,
                    kind: .http(HTTPListener(redirectToHTTPS: true, redirectPort: 10443)), position: at(9, 5)),
                Listener(
                    name: "https", groups: ["default"], address: "127.0.0.1", port: 10443,
                    kind: .http(
                        HTTPListener(
                            tls: TLSSettings(
                                certificate: "example.test", alpn: ["h2", "http/1.1"], position: at(18, 20)),
                            hosts: [
                                VirtualHost(
                                    name: "www", domains: ["www.example.test", "example.test"],
                                    routes: [
                                        Route(
                                            match: .prefix("/"), action: .forward(.init(cluster: "www")),
                                            position: at(24, 13))
                                    ], position: at(21, 9)),
                                VirtualHost(
                                    name: "dav", domains: ["dav.example.test"],
                                    routes: [
                                        Route(
                                            match: .prefix("/"),
                                            action: .forward(.init(cluster: "dav", timeout: .zero, websockets: true)),
                                            position: at(29, 13))
                                    ], position: at(26, 9)),
                                VirtualHost(
                                    name: "dl", domains: ["dl.example.test"],
                                    routes: [
                                        Route(
                                            match: .path("/latest"),
                                            action: .redirect(.init(path: "/releases/latest", status: 302)),
                                            position: at(36, 13)),
                                        Route(
                                            match: .prefix("/"), action: .forward(.init(cluster: "dl")),
                                            position: at(38, 13)),
                                    ], position: at(33, 9)),
                            ])),
                    position: at(14, 5)),
                Listener(
                    name: "ssh", groups: ["default"], address: "127.0.0.1", port: 10022,
                    kind: .tcp(TCPListener(cluster: "git-ssh", idleTimeout: .seconds(3600), position: at(44, 7))),
                    position: at(40, 5)),
            ],
            clusters: [
                Cluster(name: "www", endpoints: [Endpoint(host: "127.0.0.1", port: 18081)], position: at(47, 5)),
                Cluster(
                    name: "dav", endpoints: [Endpoint(host: "127.0.0.1", port: 18082)], connectTimeout: .seconds(2),
                    position: at(49, 5)),
                Cluster(name: "dl", endpoints: [Endpoint(host: "127.0.0.1", port: 18083)], position: at(52, 5)),
                Cluster(name: "git-ssh", endpoints: [Endpoint(host: "127.0.0.1", port: 18022)], position: at(54, 5)),
            ])

        // Compare piecewise first so a failure points at the part that differs.
        #expect(config.groups == expected.groups)
        #expect(config.listeners.map(\.name) == ["http", "https", "ssh"])
        for (got, want) in zip(config.listeners, expected.listeners) {
            #expect(got == want, "listener \(want.name)")
        }
        for (got, want) in zip(config.clusters, expected.clusters) {
            #expect(got == want, "cluster \(want.name)")
        }
        #expect(config == expected)
    }

    @Test func defaultsAreApplied() throws {
        let config = try RoutesFile.load(path: path)
        let www = try #require(config.clusters.first { $0.name == "www" })
        #expect(www.connectTimeout == .seconds(5))
        #expect(www.proxyProtocol == nil)
        #expect(www.http2 == false)
        #expect(config.listeners.allSatisfy { !$0.acceptProxyProtocol })
        guard case .http(let https) = config.listeners[1].kind else {
            Issue.record("https listener is not HTTP")
            return
        }
        #expect(https.redirectToHTTPS == false)
        #expect(https.hosts[0].certificate == nil)
        guard case .forward(let forward) = https.hosts[0].routes[0].action else {
            Issue.record("www route does not forward")
            return
        }
        #expect(forward.timeout == nil)
        #expect(forward.websockets == false)
        #expect(forward.prefixRewrite == nil)
    }

    @Test func certificateIsCheckedAgainstTheDirectory() throws {
        let config = try RoutesFile.load(path: path)
        #expect(RoutesFile.checkCertificates(config, available: ["example.test"]).isEmpty)

        let errors = RoutesFile.checkCertificates(config, available: ["example.tset", "other"])
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.code == .unknownCertificate)
        #expect(error.key == "listeners[1].tls.certificate")
        #expect(error.position == at(18, 20))
        #expect(error.hint == "did you mean \"example.tset\"?")
        #expect(
            error.description.hasPrefix(
                "\(path):18:20: \"certificate\" \"example.test\" is not in the certificate directory"))
    }

    @Test func unreadableFileNamesThePath() {
        let missing = FixturePaths.path("example-site/no-such-routes.yaml")
        do {
            _ = try RoutesFile.load(path: missing)
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.codes == [.unreadableFile])
            #expect(error.description.contains(missing))
            #expect(error.description.contains("no such file"))
        }
        do {
            _ = try RoutesFile.load(path: FixturePaths.path("example-site"))
            Issue.record("loading a directory succeeded")
        } catch {
            #expect(error.codes == [.unreadableFile])
            #expect(error.description.contains("directory"))
        }
    }
}
