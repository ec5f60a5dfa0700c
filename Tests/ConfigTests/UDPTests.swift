import Testing

@testable import Config

/// `udp:` listeners.
@Suite("UDP listeners")
struct UDPTests {
    static func yaml(_ listener: String) -> String {
        """
        listeners:
          - name: relay
            port: 8388
        \(listener)
          - name: relay-tcp
            port: 8388
            tcp: { cluster: relay }
        clusters:
          - { name: relay, endpoints: [127.0.0.1:9000] }
        """
    }

    @Test func aUDPListenerSharesItsPortNumberWithATCPOne() throws {
        let config = try #require(
            parseValid(Self.yaml("    udp: { cluster: relay, idle_timeout: 5m, max_datagram_size: 65535 }")))
        guard case .udp(let udp)? = config.listeners.first?.kind else {
            Issue.record("not a UDP listener")
            return
        }
        #expect(udp.cluster == "relay" && udp.idleTimeout == .seconds(300) && udp.maxDatagramSize == 65535)
        guard case .udp(let defaults)? = parseValid(Self.yaml("    udp: { cluster: relay }"))?.listeners.first?.kind
        else { return }
        #expect(defaults.maxDatagramSize == 9000 && defaults.idleTimeout == nil)
    }

    @Test func mistakesAreRefused() {
        expectSingleError(
            Self.yaml("    udp: { cluster: relya }"), .unknownCluster, key: "listeners[0].udp.cluster", line: 4,
            column: 21,
            hintContains: "did you mean \"relay\"?")
        expectSingleError(
            Self.yaml("    udp: { cluster: relay, max_datagram_size: 100 }"), .invalidValue,
            key: "listeners[0].udp.max_datagram_size", line: 4, column: 47,
            messageContains: "is not between 512 and 65535")
        expectSingleError(
            Self.yaml("    udp: { cluster: relay }\n    access_log: false"), .conflictingKeys,
            key: "listeners[0].access_log", line: 5, column: 5, messageContains: "has both \"udp\" and \"access_log\"")
        let twice =
            Self.yaml("    udp: { cluster: relay }") + "\n  - { name: again, port: 8388, udp: { cluster: relay } }"
        let errors = parseErrors(
            twice.replacingOccurrences(
                of: "clusters:\n  - { name: relay, endpoints: [127.0.0.1:9000] }\n", with: "")
                + "\nclusters:\n  - { name: relay, endpoints: [127.0.0.1:9000] }\n")
        #expect(errors.map(\.code).contains(.addressInUse), "\(errors)")
    }
}
