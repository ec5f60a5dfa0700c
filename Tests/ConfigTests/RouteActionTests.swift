import Foundation
import Testing

@testable import Config

/// Weighted clusters, header edits, host_rewrite, retries and idle_timeout.
@Suite("Route actions")
struct RouteActionTests {
    /// One route; `route` is its inline mapping body, on line 7; clusters app and canary.
    static func yaml(_ route: String, host: String = "") -> String {
        """
        listeners:
          - name: web
            port: 8080
            hosts:
              - domains: [example.com]
                routes:
                  - { \(route) }
        \(host)
        clusters:
          - name: app
            endpoints: [127.0.0.1:9000]
          - name: canary
            endpoints: [127.0.0.1:9001]
        """
    }

    static func forward(_ config: RoutesConfig?) -> Route.Forward? {
        guard case .http(let http)? = config?.listeners.first?.kind,
            case .forward(let forward)? = http.hosts.first?.routes.first?.action
        else { return nil }
        return forward
    }

    @Test func weightedClusters() throws {
        let forward = try #require(
            Self.forward(
                parseValid(Self.yaml("prefix: /, clusters: [{ name: app, weight: 90 }, { name: canary, weight: 10 }]")))
        )
        #expect(
            forward.split == [WeightedCluster(name: "app", weight: 90), WeightedCluster(name: "canary", weight: 10)])
    }

    @Test func weightsMustAddUpTo100() {
        expectSingleError(
            Self.yaml("prefix: /, clusters: [{ name: app, weight: 90 }, { name: canary, weight: 5 }]"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].clusters", line: 7, column: 36,
            messageContains: "the weights of \"clusters\" add up to 95, not 100")
        expectSingleError(
            Self.yaml("prefix: /, clusters: [{ name: app, weight: 100 }, { name: canary, weight: 0 }]"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].clusters[1].weight", line: 7, column: 89,
            messageContains: "\"weight\" 0 is not between 1 and 100")
        expectSingleError(
            Self.yaml("prefix: /, clusters: [{ name: app, weight: 50 }, { name: canry, weight: 50 }]"), .unknownCluster,
            key: "listeners[0].hosts[0].routes[0].clusters[1].name", line: 7, column: 72)
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, clusters: [{ name: app, weight: 100 }]"), .conflictingKeys,
            key: "listeners[0].hosts[0].routes[0].clusters", line: 7, column: 40)
    }

    @Test func headerEditsOnRouteAndHost() throws {
        let yaml = Self.yaml(
            "prefix: /, cluster: app, request_headers: { add: { x-from: edge }, remove: [x-debug] }, "
                + "response_headers: { set: { cache-control: no-store, x-rate: \"100%\" }, remove: [server] }",
            host: "        response_headers: { set: { x-frame-options: DENY } }")
        let config = try #require(parseValid(yaml))
        guard case .http(let http) = config.listeners[0].kind else { return }
        let route = http.hosts[0].routes[0]
        #expect(route.headers.requestAdd == [HeaderPair(name: "x-from", value: "edge")])
        #expect(route.headers.requestRemove == ["x-debug"])
        #expect(
            route.headers.responseSet == [
                HeaderPair(name: "cache-control", value: "no-store"), HeaderPair(name: "x-rate", value: "100%"),
            ])
        #expect(route.headers.responseRemove == ["server"])
        #expect(http.hosts[0].headers.responseSet == [HeaderPair(name: "x-frame-options", value: "DENY")])
    }

    @Test func invalidHeaderEdits() {
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, request_headers: { set: { host: a } }"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].request_headers.set.host", line: 7, column: 66,
            messageContains: "header \"host\" cannot be edited", hintContains: "host_rewrite")
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, response_headers: { append: { x: y } }"), .unknownKey,
            key: "listeners[0].hosts[0].routes[0].response_headers.append", line: 7, column: 60, hintContains: "add")
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, request_headers: { remove: [\":path\"] }"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].request_headers.remove[0]", line: 7, column: 68,
            messageContains: "header \":path\" cannot be edited")
    }

    @Test func hostRewriteRetriesAndIdleTimeout() throws {
        let forward = try #require(
            Self.forward(
                parseValid(
                    Self.yaml(
                        "prefix: /, cluster: app, host_rewrite: nas.lan, idle_timeout: 5m, "
                            + "retries: { on: [5xx, connect-failure], count: 2, per_try_timeout: 2s }"))))
        #expect(forward.hostRewrite == "nas.lan")
        #expect(forward.idleTimeout == .seconds(300))
        #expect(forward.retries == RetryPolicy(on: ["5xx", "connect-failure"], count: 2, perTryTimeout: .seconds(2)))
    }

    @Test func invalidRetries() {
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, retries: { on: [5xx, conect-failure] }"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].retries.on[1]", line: 7, column: 61,
            messageContains: "retry condition \"conect-failure\" is not one Envoy knows",
            hintContains: "did you mean \"connect-failure\"?")
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, retries: { on: [reset], count: 50 }"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].retries.count", line: 7, column: 71,
            messageContains: "retries \"count\" 50 is not between 1 and 10")
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, retries: { count: 2 }"), .missingKey,
            key: "listeners[0].hosts[0].routes[0].retries.on", line: 7, column: 49)
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, retries: { on: [reset], per_try_timeout: 0s }"), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].retries.per_try_timeout", line: 7, column: 81,
            messageContains: "\"per_try_timeout\" must be longer than 0s")
    }

    @Test func forwardOnlyKeysOnARedirect() {
        expectSingleError(
            Self.yaml("prefix: /, redirect: { https: true }, retries: { on: [reset] }"), .conflictingKeys,
            key: "listeners[0].hosts[0].routes[0].retries", line: 7, column: 53,
            messageContains: "\"retries\" only applies to a route with \"cluster\"")
        expectSingleError(
            Self.yaml("prefix: /, cluster: app, host_rewrite: \"a b\""), .invalidValue,
            key: "listeners[0].hosts[0].routes[0].host_rewrite", line: 7, column: 54,
            messageContains: "\"host_rewrite\" \"a b\" contains a space")
    }
}
