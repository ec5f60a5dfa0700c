import Foundation
import Testing

@testable import Config

func parseErrors(_ yaml: String, file: String = "routes.yaml") -> [ConfigError] {
    do {
        _ = try RoutesFile.parse(yaml, file: file)
        return []
    } catch {
        return error.errors
    }
}

/// Parses `yaml`, failing the test with the errors when it is not valid.
func parseValid(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> RoutesConfig? {
    do {
        return try RoutesFile.parse(yaml, file: "routes.yaml")
    } catch {
        Issue.record("unexpected errors:\n\(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Asserts that `yaml` produces exactly one error with this code, key path and line:column.
func expectSingleError(
    _ yaml: String, _ code: ConfigError.Code, key: String, line: Int, column: Int,
    messageContains: String? = nil, hintContains: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let errors = parseErrors(yaml)
    guard errors.count == 1, let error = errors.first else {
        Issue.record(
            "expected one \(code) error, got \(errors.count):\n\(ConfigErrors(errors))",
            sourceLocation: sourceLocation)
        return
    }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    #expect(error.key == key, "\(error)", sourceLocation: sourceLocation)
    #expect(
        error.position.line == line && error.position.column == column,
        "at \(error.position.line):\(error.position.column), expected \(line):\(column): \(error)",
        sourceLocation: sourceLocation)
    #expect(error.position.file == "routes.yaml", sourceLocation: sourceLocation)
    if let messageContains {
        #expect(error.message.contains(messageContains), "\(error)", sourceLocation: sourceLocation)
    }
    if let hintContains {
        #expect(error.hint?.contains(hintContains) == true, "\(error)", sourceLocation: sourceLocation)
    }
}

/// A valid file with one HTTP listener and one cluster, for tests that change one thing in it.
/// Line numbers matter to the tests: keep the layout.
let minimalYAML = """
    listeners:
      - name: web
        port: 8080
        hosts:
          - domains: [example.com]
            routes:
              - prefix: /
                cluster: app
    clusters:
      - name: app
        endpoints: [127.0.0.1:9000]
    """
