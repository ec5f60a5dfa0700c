import Foundation
import Testing

@testable import Config

/// `hsts`, `access_log` and `trusted_proxies` on listeners.
@Suite("Listener options")
struct ListenerOptionsTests {
    /// An https listener on line 2; `extra` goes at listener level (line 6 when one line).
    static func https(_ extra: String) -> String {
        """
        listeners:
          - name: web
            port: 8443
            tls: { certificate: example.test }
        \(extra)
            hosts:
              - domains: [example.com]
                routes:
                  - { prefix: /, cluster: app }
        clusters:
          - name: app
            endpoints: [127.0.0.1:9000]
        """
    }

    static func http(_ config: RoutesConfig?) -> HTTPListener? {
        guard case .http(let http)? = config?.listeners.first?.kind else { return nil }
        return http
    }

    @Test func hstsIsOnByDefaultForTLSOnly() throws {
        let tls = try #require(Self.http(parseValid(Self.https(""))))
        #expect(tls.hsts == HSTS(maxAge: 31_536_000, includeSubdomains: false, preload: false))
        #expect(tls.hsts?.headerValue == "max-age=31536000")
        let plain = try #require(Self.http(parseValid(minimalYAML)))
        #expect(plain.hsts == nil)
    }

    @Test func hstsOptionsAndDays() throws {
        let yaml = Self.https("    hsts: { max_age: 730d, include_subdomains: true, preload: true }")
        let hsts = try #require(Self.http(parseValid(yaml))?.hsts)
        #expect(hsts.headerValue == "max-age=63072000; includeSubDomains; preload")
    }

    @Test func hstsFalseTurnsItOff() throws {
        #expect(try #require(Self.http(parseValid(Self.https("    hsts: false")))).hsts == nil)
    }

    @Test func hstsOnAPlainListenerIsRefused() {
        let yaml = minimalYAML.replacingOccurrences(of: "    port: 8080\n", with: "    port: 8080\n    hsts: true\n")
        expectSingleError(
            yaml, .conflictingKeys, key: "listeners[0].hsts", line: 4, column: 5,
            messageContains: "listener \"web\" sets \"hsts\" but has no \"tls\"")
    }

    @Test func hstsPreloadNeedsSubdomains() {
        expectSingleError(
            Self.https("    hsts: { preload: true }"), .invalidValue, key: "listeners[0].hsts.preload", line: 5,
            column: 22, messageContains: "hsts \"preload\" needs include_subdomains: true")
    }

    @Test func hstsMisspeltOptionAndBadAge() {
        expectSingleError(
            Self.https("    hsts: { max_ag: 1d }"), .unknownKey, key: "listeners[0].hsts.max_ag", line: 5, column: 13,
            hintContains: "max_age")
        expectSingleError(
            Self.https("    hsts: { max_age: 1y }"), .invalidDuration, key: "listeners[0].hsts.max_age", line: 5,
            column: 22, messageContains: "\"1y\" has unknown unit \"y\"")
    }

    @Test func accessLogDefaultsToStdout() throws {
        #expect(try #require(parseValid(minimalYAML)).listeners[0].accessLog == .stdout)
        let off = try #require(parseValid(Self.https("    access_log: false")))
        #expect(off.listeners[0].accessLog == .off)
        let file = try #require(parseValid(Self.https("    access_log: { path: /var/log/envoy/web.log }")))
        #expect(file.listeners[0].accessLog == .file("/var/log/envoy/web.log"))
    }

    @Test func accessLogRelativePathAndWrongType() {
        expectSingleError(
            Self.https("    access_log: { path: web.log }"), .invalidValue, key: "listeners[0].access_log.path",
            line: 5, column: 25, messageContains: "access_log \"path\" \"web.log\" is not an absolute path")
        expectSingleError(
            Self.https("    access_log: stdout"), .wrongType, key: "listeners[0].access_log", line: 5, column: 17,
            messageContains: "\"access_log\" must be true or false, found the text \"stdout\"")
        expectSingleError(
            Self.https("    access_log: { pth: /x.log }"), .unknownKey, key: "listeners[0].access_log.pth",
            line: 5, column: 19, hintContains: "did you mean \"path\"?")
    }

    @Test func accessLogOnATCPListener() throws {
        let yaml = """
            listeners:
              - name: ssh
                port: 2222
                access_log: { path: /var/log/envoy/ssh.log }
                tcp: { cluster: app }
            clusters:
              - name: app
                endpoints: [127.0.0.1:22]
            """
        #expect(try #require(parseValid(yaml)).listeners[0].accessLog == .file("/var/log/envoy/ssh.log"))
    }

    @Test func trustedProxies() throws {
        #expect(try #require(Self.http(parseValid(Self.https("    trusted_proxies: 1")))).trustedProxies == 1)
        expectSingleError(
            Self.https("    trusted_proxies: 99"), .invalidValue, key: "listeners[0].trusted_proxies", line: 5,
            column: 22, messageContains: "\"trusted_proxies\" 99 is not between 0 and 32")
        expectSingleError(
            Self.https("    trusted_proxies: one"), .wrongType, key: "listeners[0].trusted_proxies", line: 5,
            column: 22)
    }

    @Test func trustedProxiesOnATCPListenerIsRefused() {
        let yaml = """
            listeners:
              - name: ssh
                port: 2222
                trusted_proxies: 1
                tcp: { cluster: app }
            clusters:
              - name: app
                endpoints: [127.0.0.1:22]
            """
        expectSingleError(
            yaml, .conflictingKeys, key: "listeners[0].trusted_proxies", line: 4, column: 5,
            messageContains: "has both \"tcp\" and \"trusted_proxies\"")
    }
}
