import Testing
import Vocabulary

@testable import Config

/// `groups:` entries with `identities:` (who may take a group over mutual TLS), next to plain names.
@Suite("Group identities")
struct GroupIdentityTests {
    static func yaml(_ groups: String) -> String {
        """
        groups:
        \(groups)
        listeners:
          - name: web
            port: 8080
            tcp: {cluster: app}
        clusters:
          - name: app
            endpoints: [127.0.0.1:9000]
        """
    }

    @Test func plainAndMappedGroupsMix() {
        let config = parseValid(
            Self.yaml(
                """
                  - edge-legacy
                  - name: edge
                    identities: ["spiffe://example.org/edge", "edge-*.example.org"]
                  - {name: open, identities: ["*"]}
                """))
        #expect(config?.groups == ["edge-legacy", "edge", "open"])
        #expect(config?.identities["edge"]?.map(\.text) == ["spiffe://example.org/edge", "edge-*.example.org"])
        #expect(config?.identities["open"]?.map(\.text) == ["*"])
        #expect(config?.identities["edge-legacy"] == nil)
    }

    @Test func aBadPatternIsReportedAtItsPosition() {
        expectSingleError(
            Self.yaml(
                """
                  - name: edge
                    identities: ["edge-*.example.org", "a.*.example.org"]
                """), .invalidValue, key: "groups[0].identities[1]", line: 3, column: 40,
            messageContains: "first label")
    }

    @Test func unknownKeysAndMissingNamesAreErrors() {
        expectSingleError(
            Self.yaml("  - {name: edge, identity: [\"*\"]}"), .unknownKey, key: "groups[0].identity", line: 2,
            column: 18)
        expectSingleError(
            Self.yaml("  - {identities: [\"*\"]}"), .missingKey, key: "groups[0].name", line: 2, column: 5)
    }

    @Test func anEmptyIdentityListIsAnError() {
        expectSingleError(
            Self.yaml("  - {name: edge, identities: []}"), .emptyList, key: "groups[0].identities", line: 2,
            column: 30)
    }

    @Test func duplicateGroupNamesStillCountAcrossBothForms() {
        expectSingleError(
            Self.yaml("  - edge\n  - {name: edge, identities: [\"*\"]}"), .duplicateName, key: "groups[1]", line: 3,
            column: 5)
    }
}
