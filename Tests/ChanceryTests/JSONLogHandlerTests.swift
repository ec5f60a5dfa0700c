import Foundation
import Logging
import Synchronization
import Testing

@testable import chancery

/// Collects the lines a `JSONLogHandler` writes.
final class CapturedLines: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// A logger writing JSON lines here.
    func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "chancery") { JSONLogHandler(label: $0, output: self.append) }
        logger.logLevel = level
        return logger
    }

    /// Every line parsed back as a JSON object; a line that is not one fails the test.
    func objects(sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        all.compactMap { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)", sourceLocation: sourceLocation)
            return object
        }
    }
}

/// `serve --log-format json`: every line one JSON object that parses back to what was logged.
@Suite struct JSONLogHandlerTests {
    @Test func eachLineParsesBackWithTimeLevelMessageAndMetadataFields() throws {
        let captured = CapturedLines()
        var logger = captured.logger(level: .info)
        logger[metadataKey: "instance"] = "a"
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{00} del \u{7F} é 🚀 \u{2028}"
        logger.warning(
            "proxy rejected an update: \(awkward)",
            metadata: [
                "node": "edge-1", "group": "default", "reason": "\(awkward)",
                "message": "shadows the fixed field", "list": ["x", "y"], "nested": ["k": "v"],
            ])
        logger.debug("below the level: not written")

        #expect(captured.all.count == 1)
        let line = try #require(captured.all.first)
        // One line: the newline is the terminator only, never inside the object.
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try #require(captured.objects().first)
        #expect(object["level"] as? String == "warning")
        #expect(object["message"] as? String == "proxy rejected an update: \(awkward)")
        #expect(object["label"] as? String == "chancery")
        #expect(object["node"] as? String == "edge-1")
        #expect(object["group"] as? String == "default")
        #expect(object["reason"] as? String == awkward)
        #expect(object["instance"] as? String == "a")
        #expect(object["meta.message"] as? String == "shadows the fixed field")
        #expect(object["list"] as? [String] == ["x", "y"])
        #expect(object["nested"] as? [String: String] == ["k": "v"])
        let time = try #require(object["time"] as? String)
        let reader = ISO8601DateFormatter()
        reader.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try #require(reader.date(from: time))
        #expect(abs(parsed.timeIntervalSinceNow) < 3600)
        #expect(time.hasSuffix("Z"))
    }

    @Test func controlCharactersAreEscapedNotWrittenRaw() {
        var out = ""
        JSONLogHandler.appendString("a\u{01}b\u{1F}c\r", to: &out)
        #expect(out == "\"a\\u0001b\\u001fc\\r\"")
    }

    @Test func theFormatOptionPicksTheHandler() throws {
        let json = try LogOptions.parse(["--log-format", "json"])
        #expect(json.makeLogger(level: .notice).handler is JSONLogHandler)
        #expect(json.makeLogger(level: .notice).logLevel == .notice)
        let text = try LogOptions.parse([])
        #expect(!(text.makeLogger(level: .info).handler is JSONLogHandler))
        #expect(throws: (any Error).self) { try LogOptions.parse(["--log-format", "xml"]) }
    }
}
